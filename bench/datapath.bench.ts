// HTTP between two pod processes through the sim's datapath vs the same two processes over plain loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createDatapath } from '../lib/sim/net/datapath.ts';
import { fmtMs, machine, median, scratchDir } from './lib.ts';

const concurrency = 16;
const keepAliveRequests = 4000;
const newConnectionRequests = 1000;
const runs = 5;

const serverFile = join(scratchDir, 'datapath-server.mjs');
writeFileSync(
  serverFile,
  `
import http from 'node:http';
const [port, host] = [Number(process.argv[2]), process.argv[3]];
const server = http.createServer((req, res) => res.end('ok'));
server.keepAliveTimeout = 60_000;
server.listen(port, host, () => console.log('listening ' + server.address().port));
`,
);
const clientFile = join(scratchDir, 'datapath-client.mjs');
writeFileSync(
  clientFile,
  `
import http from 'node:http';
import { createInterface } from 'node:readline';
const [url, mode, concurrency, total] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
const keepAlive = mode === 'keep-alive';
const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: concurrency }) : false;
const one = () => new Promise((resolve, reject) => {
  const req = http.get(url, { agent, headers: keepAlive ? {} : { connection: 'close' } }, (res) => { res.resume(); res.on('end', resolve); });
  req.on('error', reject);
});
async function run() {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => { while (next++ < total) await one(); }));
  return performance.now() - t0;
}
for await (const _ of createInterface({ input: process.stdin })) console.log(String(await run()));
`,
);

interface Proc {
  child: ChildProcess;
  lines: AsyncIterator<string>;
}

function start(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
}

async function nextLine(p: Proc): Promise<string> {
  const { value, done } = await p.lines.next();
  if (done) throw new Error('process ended early');
  return value;
}

/** Median ms for `total` requests, after one warm-up run. */
async function measure(client: Proc): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    client.child.stdin!.write('go\n');
    const ms = Number(await nextLine(client));
    if (i > 0) times.push(ms);
  }
  return median(times);
}

const results: { what: string; ms: number; requests: number }[] = [];
const procs: Proc[] = [];

async function scenario(
  label: string,
  url: (port: number) => string,
  serverArgs: string[],
  clientPre: string[],
  serverEnv: Record<string, string>,
  clientEnv: Record<string, string>,
) {
  const server = start([...serverArgs], serverEnv);
  procs.push(server);
  const port = Number((await nextLine(server)).split(' ')[1]);
  for (const [mode, total] of [
    ['keep-alive', keepAliveRequests],
    ['new connection', newConnectionRequests],
  ] as const) {
    const client = start([...clientPre, clientFile, url(port), mode, String(concurrency), String(total)], clientEnv);
    procs.push(client);
    results.push({ what: `${label}, ${mode}`, ms: await measure(client), requests: total });
    client.child.stdin!.end();
  }
}

const dp = await createDatapath();
try {
  await scenario('direct loopback', (port) => `http://127.0.0.1:${port}/`, [serverFile, '0', '127.0.0.1'], [], {}, {});
  const serverPod = dp.attachPod({ ip: '127.244.1.10', namespace: 'bench', name: 'server', uid: 's', nodeName: 'sim-worker', labels: {} });
  const clientPod = dp.attachPod({ ip: '127.244.2.10', namespace: 'bench', name: 'client', uid: 'c', nodeName: 'sim-worker2', labels: {} });
  await scenario(
    'pod to pod through the datapath',
    () => 'http://127.244.1.10/',
    [...serverPod.preloadArgs(), serverFile, '80'],
    clientPod.preloadArgs(),
    serverPod.processEnv(),
    clientPod.processEnv(),
  );
} finally {
  for (const p of procs) p.child.kill('SIGKILL');
  await dp.close();
}

const perSecond = (r: { ms: number; requests: number }) => Math.round((r.requests / r.ms) * 1000);
const anchor = results[0]!;
const direct = new Map(results.filter((r) => r.what.startsWith('direct')).map((r) => [r.what.split(', ')[1], r]));
const lines = [
  '## Datapath: HTTP between two pods (lib/sim/net)',
  '',
  `Two Node processes (server answering "ok", client with ${concurrency} requests in flight), once over plain loopback and once as`,
  'pods whose every connection goes through the datapath (SYN handshake over the control channel, then a spliced',
  `hop through the sim process). Keep-alive: ${keepAliveRequests} requests per run; new connection: ${newConnectionRequests} requests,`,
  `each on its own connection. Median of ${runs} runs after a warm-up. ${machine()}.`,
  '',
  '| what | median | ratio vs anchor | throughput |',
  '| --- | ---: | ---: | --- |',
  ...results.map((r) => {
    const same = direct.get(r.what.split(', ')[1]);
    const cost = same && same !== r ? `, ${(perSecond(same) / perSecond(r)).toFixed(1)}× slower than direct` : '';
    const tag = r === anchor ? ' (anchor)' : '';
    return `| ${r.what}${tag} | ${fmtMs(r.ms)} | ${(r.ms / anchor.ms).toFixed(1)}× | ${perSecond(r).toLocaleString('en-US')} req/s${cost} |`;
  }),
];
process.stdout.write(`${lines.join('\n')}\n`);
