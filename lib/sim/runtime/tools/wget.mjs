// `wget` in a sim container, as BusyBox's: -q, -O FILE|-, -T SECS, -S, --spider, --header, --post-data, -U; a Node
// process in the pod's network, with BusyBox's messages and exit code 1 on any failure.
import net from 'node:net';
import dns from 'node:dns';
import http from 'node:http';
import { createWriteStream } from 'node:fs';
import { containerPath } from './container.mjs';
import { parseArgs, splitUrl } from './http-tool.mjs';

const spec = {
  flags: { q: 'quiet', S: 'server-response', s: 'spider' },
  values: { O: 'output-document', T: 'timeout', U: 'user-agent', Y: 'proxy' },
  longValues: ['output-document', 'timeout', 'user-agent', 'header', 'post-data'],
  longFlags: ['quiet', 'server-response', 'spider', 'no-check-certificate'],
};

let opts;
try {
  opts = parseArgs(process.argv.slice(2), spec);
} catch (err) {
  process.stderr.write(
    `wget: unrecognized ${err.message}\nBusyBox v1.37.0 (2025-01-17 18:12:01 UTC) multi-call binary.\n\nUsage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n\t[--post-data STR | --post-file FILE] [-Y on/off]\n\t[-P DIR] [-U AGENT] [-T SEC] URL...\n`,
  );
  process.exit(1);
}
const quiet = opts.has('quiet');
const die = (message) => {
  process.stderr.write(`wget: ${message}\n`);
  process.exit(1);
};
const raw = opts.positional[0];
if (raw === undefined) die('missing URL');
const target = splitUrl(raw);
if (typeof target === 'string') die(`not an http or ftp url: ${raw}`);
if (target.tls) die('not an http or ftp url (https needs a TLS helper the simulated image does not have)');
const timeoutMs = Number(opts.get('timeout') ?? 900) * 1000;
setTimeout(() => die('download timed out'), timeoutMs).unref();

let ip;
try {
  ip = net.isIP(target.host) ? target.host : (await dns.promises.lookup(target.host, { family: 4 })).address;
} catch {
  die(`bad address '${target.host}'`);
}
if (!quiet) process.stderr.write(`Connecting to ${target.host}${target.port === 80 ? '' : `:${target.port}`} (${ip}:${target.port})\n`);
const socket = await new Promise((resolve) => {
  const s = net.connect({ host: ip, port: target.port });
  s.once('connect', () => resolve(s));
  s.once('error', (err) => die(`can't connect to remote host (${ip}): ${err.code === 'ETIMEDOUT' ? 'Connection timed out' : 'Connection refused'}`));
});
const post = opts.get('post-data');
const headers = { Host: target.host, 'User-Agent': opts.get('user-agent') ?? 'Wget', Connection: 'close' };
if (post !== undefined) {
  headers['Content-Type'] = 'application/x-www-form-urlencoded';
  headers['Content-Length'] = String(Buffer.byteLength(post));
}
for (const h of opts.all('header')) {
  const colon = h.indexOf(':');
  if (colon > 0) headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
}
const method = opts.has('spider') ? 'HEAD' : post !== undefined ? 'POST' : 'GET';
const req = http.request({ createConnection: () => socket, method, path: target.path, headers, setHost: false });
req.on('error', () => die('error getting response: Connection reset by peer'));
req.on('response', (res) => {
  const status = res.statusCode ?? 0;
  if (opts.has('server-response')) {
    process.stderr.write(`  HTTP/${res.httpVersion} ${status} ${res.statusMessage ?? ''}\n`);
    for (let i = 0; i < res.rawHeaders.length; i += 2) process.stderr.write(`  ${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\n`);
  }
  if (status >= 400) die(`server returned error: HTTP/${res.httpVersion} ${status} ${res.statusMessage ?? ''}`);
  if (opts.has('spider')) {
    if (!quiet) process.stderr.write('remote file exists\n');
    process.exit(0);
  }
  const name = opts.get('output-document') ?? (target.path.split('?')[0].split('/').pop() || 'index.html');
  const out = name === '-' ? process.stdout : createWriteStream(containerPath(name));
  out.on('error', (err) =>
    die(`can't open '${name}': ${err.code === 'EEXIST' ? 'File exists' : err.code === 'ERR_ACCESS_DENIED' ? 'Permission denied' : err.message}`),
  );
  if (!quiet && name !== '-') process.stderr.write(`saving to '${name}'\n`);
  res.pipe(out);
  res.on('end', () => {
    if (!quiet && name !== '-') process.stderr.write(`'${name}' saved\n`);
    if (out === process.stdout) process.exit(0);
    else out.on('finish', () => process.exit(0));
  });
});
req.end(post);
