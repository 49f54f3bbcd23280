// The sim API server's request cost: discovery, get, list, no-op server-side apply and create, over keep-alive HTTPS.
import { Agent, request } from 'node:https';
import { startSimCluster } from '../lib/sim/cluster.ts';
import { trivialRuntime } from '../test/sim/trivial-runtime.ts';
import { fmtMs, machine, timeMedian } from './lib.ts';

const requestsPerRun = 400;
const concurrency = 8;

const cluster = await startSimCluster({ runtime: trivialRuntime() });
const ca = cluster.caPem;
const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca });

function call(method: string, path: string, body?: string, contentType = 'application/json'): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${cluster.token}`, Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const req = request(new URL(path, cluster.apiServerUrl), { method, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function many(make: (i: number) => Promise<number>, ok: number[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < requestsPerRun) {
      const status = await make(next++);
      if (!ok.includes(status)) throw new Error(`unexpected status ${status}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  mode: fast\n  level: "3"\n';
await call('PATCH', '/api/v1/namespaces/default/configmaps/settings?fieldManager=bench', cm, 'application/apply-patch+yaml');
let created = 0;

const cases: [string, () => Promise<void>][] = [
  ['GET /version (anchor)', () => many(() => call('GET', '/version'), [200])],
  ['GET a ConfigMap', () => many(() => call('GET', '/api/v1/namespaces/default/configmaps/settings'), [200])],
  ['LIST pods, all namespaces', () => many(() => call('GET', '/api/v1/pods'), [200])],
  [
    'server-side apply, no change',
    () => many(() => call('PATCH', '/api/v1/namespaces/default/configmaps/settings?fieldManager=bench', cm, 'application/apply-patch+yaml'), [200]),
  ],
  [
    'create a ConfigMap',
    () => many(() => call('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: `c${created++}` }, data: { k: 'v' } })), [201]),
  ],
];

const results: [string, number][] = [];
for (const [what, fn] of cases) results.push([what, (await timeMedian(fn, 5)).medianMs]);
await cluster.stop();
agent.destroy();

const anchor = results[0]![1];
const lines = [
  '## Sim API server (lib/sim/apiserver)',
  '',
  `${requestsPerRun} requests per run, ${concurrency} at a time over keep-alive HTTPS, on a fresh 3-node sim (stand-in pod runtime). ${machine()}.`,
  '',
  '| what | median | ratio vs anchor | throughput |',
  '| --- | ---: | ---: | --- |',
  ...results.map(
    ([what, ms]) =>
      `| ${what} | ${fmtMs(ms)} | ${(ms / anchor).toFixed(1)}× | ${Math.round((requestsPerRun / ms) * 1000).toLocaleString('en-US')} requests/s |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
