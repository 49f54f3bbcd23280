// `curl` in a sim container: a Node process in the pod's network (the preload routes it through the datapath and
// the cluster DNS), with curl's common flags, messages and exit codes (6 resolve, 7 connect, 28 timeout, 22 --fail).
import net from 'node:net';
import tls from 'node:tls';
import dns from 'node:dns';
import http from 'node:http';
import { createWriteStream } from 'node:fs';
import { containerPath } from './container.mjs';
import { parseArgs, splitUrl, writeOut, exitWith } from './http-tool.mjs';

const spec = {
  flags: { s: 'silent', S: 'show-error', f: 'fail', v: 'verbose', i: 'include', I: 'head', L: 'location', k: 'insecure', 4: 'ipv4' },
  values: { o: 'output', w: 'write-out', m: 'max-time', X: 'request', d: 'data', H: 'header', A: 'user-agent' },
  longValues: ['output', 'write-out', 'max-time', 'connect-timeout', 'request', 'data', 'data-raw', 'data-binary', 'header', 'user-agent', 'retry'],
  longFlags: ['silent', 'show-error', 'fail', 'verbose', 'include', 'head', 'location', 'insecure', 'ipv4', 'no-progress-meter', 'http1.1'],
};

const version = '8.12.1';

const started = Date.now();
const elapsed = () => Date.now() - started;
let opts;
try {
  opts = parseArgs(process.argv.slice(2), spec);
} catch (err) {
  process.stderr.write(`curl: ${err.message}\ncurl: try 'curl --help' or 'curl --manual' for more information\n`);
  process.exit(2);
}
const silent = opts.has('silent') && !opts.has('show-error');
const verbose = opts.has('verbose');
const fail = (code, message) => {
  if (!silent) process.stderr.write(`curl: (${code}) ${message}\n`);
  // stdio to pipes and files is synchronous on Linux: nothing written is lost by exiting here.
  process.exit(code);
};
if (opts.positional.length === 0) {
  process.stderr.write("curl: no URL specified\ncurl: try 'curl --help' or 'curl --manual' for more information\n");
  process.exit(2);
}
const maxTime = opts.get('max-time') === undefined ? undefined : Number(opts.get('max-time')) * 1000;
const connectTimeout = opts.get('connect-timeout') === undefined ? undefined : Number(opts.get('connect-timeout')) * 1000;
if ((maxTime !== undefined && !(maxTime >= 0)) || (connectTimeout !== undefined && !(connectTimeout >= 0))) {
  process.stderr.write('curl: option --max-time: expected a proper numerical parameter\n');
  process.exit(2);
}
let connected = false;
let received = 0;
if (maxTime) {
  setTimeout(() => {
    if (!connected) fail(28, `Connection timed out after ${elapsed()} milliseconds`);
    else fail(28, `Operation timed out after ${elapsed()} milliseconds with ${received} bytes received`);
  }, maxTime).unref();
}
if (connectTimeout) {
  setTimeout(() => {
    if (!connected) fail(28, `Connection timed out after ${elapsed()} milliseconds`);
  }, connectTimeout).unref();
}

const target = splitUrl(opts.positional[0]);
if (typeof target === 'string') fail(target.startsWith('Protocol') ? 1 : 3, target);
const data = opts.get('data') ?? opts.get('data-raw') ?? opts.get('data-binary');
const method = opts.get('request') ?? (opts.has('head') ? 'HEAD' : data !== undefined ? 'POST' : 'GET');
const headers = {
  Host: target.port === (target.tls ? 443 : 80) ? target.host : `${target.host}:${target.port}`,
  'User-Agent': opts.get('user-agent') ?? `curl/${version}`,
  Accept: '*/*',
};
if (data !== undefined) {
  headers['Content-Type'] = 'application/x-www-form-urlencoded';
  headers['Content-Length'] = String(Buffer.byteLength(data));
}
for (const h of opts.all('header')) {
  const colon = h.indexOf(':');
  if (colon > 0) headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
}

let ip;
try {
  ip = net.isIP(target.host) ? target.host : (await dns.promises.lookup(target.host, { family: 4 })).address;
} catch {
  fail(6, `Could not resolve host: ${target.host}`);
}
if (verbose) process.stderr.write(`*   Trying ${ip}:${target.port}...\n`);
const socket = await new Promise((resolve) => {
  const s = net.connect({ host: ip, port: target.port });
  s.once('connect', () => resolve(s));
  s.once('error', (err) => {
    const why = err.code === 'ETIMEDOUT' ? 28 : 7;
    fail(why, `Failed to connect to ${target.host} port ${target.port} after ${elapsed()} ms: Couldn't connect to server`);
  });
});
connected = true;
if (verbose) process.stderr.write(`* Connected to ${target.host} (${ip}) port ${target.port}\n`);
let stream = socket;
if (target.tls) {
  stream = await new Promise((resolve) => {
    const t = tls.connect({ socket, servername: net.isIP(target.host) ? undefined : target.host, rejectUnauthorized: !opts.has('insecure') });
    t.once('secureConnect', () => resolve(t));
    t.once('error', (err) => fail(60, `SSL certificate problem: ${err.message}`));
  });
}

const req = http.request({ createConnection: () => stream, method, path: target.path, headers, setHost: false });
if (verbose) {
  process.stderr.write(`> ${method} ${target.path} HTTP/1.1\n`);
  for (const [k, v] of Object.entries(headers)) process.stderr.write(`> ${k}: ${v}\n`);
  process.stderr.write('>\n');
}
req.on('error', (err) => fail(56, `Recv failure: ${err.code === 'ECONNRESET' ? 'Connection reset by peer' : err.message}`));
req.on('response', (res) => {
  const status = res.statusCode ?? 0;
  const head = [`HTTP/${res.httpVersion} ${status} ${res.statusMessage ?? ''}`];
  for (let i = 0; i < res.rawHeaders.length; i += 2) head.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
  if (verbose) process.stderr.write(head.map((l) => `< ${l}\n`).join('') + '<\n');
  if (opts.has('fail') && status >= 400) {
    res.resume();
    fail(22, `The requested URL returned error: ${status}`);
    return;
  }
  const outPath = opts.get('output');
  const out = outPath && outPath !== '-' ? createWriteStream(containerPath(outPath)) : process.stdout;
  out.on('error', () => fail(23, 'Failure writing output to destination'));
  if (opts.has('include') || opts.has('head')) out.write(head.join('\r\n') + '\r\n\r\n');
  res.on('data', (chunk) => {
    received += chunk.length;
    out.write(chunk);
  });
  res.on('end', () => {
    const finish = () => {
      const format = opts.get('write-out');
      if (format !== undefined) {
        process.stdout.write(
          writeOut(format, {
            http_code: String(status).padStart(3, '0'),
            time_total: (elapsed() / 1000).toFixed(6),
            size_download: String(received),
            remote_ip: ip,
            remote_port: String(target.port),
            url_effective: target.url,
            response_code: String(status),
          }),
        );
      }
      stream.destroy();
      exitWith(0);
    };
    if (out === process.stdout) finish();
    else out.end(finish);
  });
});
req.end(data);
