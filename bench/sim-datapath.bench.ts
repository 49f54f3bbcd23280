// Proxied HTTP at scale in the sim: 3 nodes, keep-alive clients and light servers as node pods, Hubble on, every
// request through Cilium's L7 proxy with its flows, against the same traffic without an L7 rule.
import { readFileSync, readdirSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { CoreV1Api } from '@kubernetes/client-node';
import { restartDaemonSet, setMergePatch, waitForDaemonSetRollout } from '../lib/kube/rollout.ts';
import { R } from '../lib/sim/apiserver/resources.ts';
import type { KObject } from '../lib/sim/apiserver/store.ts';
import { startSimCluster } from '../lib/sim/cluster.ts';
import { createDatapath } from '../lib/sim/net/datapath.ts';
import { createPodRuntime } from '../lib/sim/runtime/index.ts';
import { fmtMs, machine, median } from './lib.ts';
import { kubeConfigOf } from '../test/fixtures/sim-kube.ts';

const ns = 'bench';
const nodes = ['sim-control-plane', 'sim-worker', 'sim-worker2'];
/** In flight per client pod (one client pod per node). */
const concurrency = 8;
const requestsPerClient = 2500;
const runs = 5;

const server = `
import http from 'node:http';
const body = JSON.stringify({ status: 'ok', role: 'llm-service' });
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(body); });
});
server.keepAliveTimeout = 60_000;
server.listen(80);
`;

// On its control port: "N C" runs N keep-alive requests, C at a time, on new connections, and answers with the time they took.
const client = `
import http from 'node:http';
import net from 'node:net';
const one = (agent) => new Promise((resolve) => {
  const req = http.get({ host: 'web.${ns}.svc.cluster.local', path: '/api/v1/generate', agent }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode === 200));
  });
  req.on('error', () => resolve(false));
});
net.createServer((c) => c.once('data', async (d) => {
  const [n, conc] = String(d).trim().split(' ').map(Number);
  let next = 0;
  let failed = 0;
  // Fresh connections each run, so they are opened under the policy of the run.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => { while (next++ < n) if (!(await one(agent))) failed++; }));
  agent.destroy();
  c.end(JSON.stringify({ ms: performance.now() - t0, failed }) + '\\n');
})).listen(9000);
`;

function pod(name: string, node: string, app: string, script: string): KObject {
  return {
    metadata: { name, labels: { app } },
    spec: {
      nodeName: node,
      containers: [
        {
          name: 'main',
          image: 'node:20-alpine',
          command: ['node', `/scripts/${script}`],
          ports: [{ containerPort: 80 }],
          volumeMounts: [{ name: 's', mountPath: '/scripts' }],
        },
      ],
      volumes: [{ name: 's', configMap: { name: 'scripts' } }],
    },
  };
}

function httpPolicy(name: string, egress: boolean): KObject {
  const toPorts = [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/api/v1/.*' }] } }];
  return {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name },
    spec: {
      endpointSelector: { matchLabels: { app: egress ? 'client' : 'web' } },
      ...(egress
        ? {
            egress: [
              { toEndpoints: [{ matchLabels: { app: 'web' } }], toPorts },
              { toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system' } }] },
            ],
          }
        : { ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts }] }),
    },
  };
}

/** Resident memory of a process and its descendants (Linux /proc), in MiB. */
function treeRssMiB(pid: number): number {
  let kib = 0;
  const visit = (p: number) => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      for (const task of readdirSync(`/proc/${p}/task`)) {
        for (const child of readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) visit(Number(child));
      }
    } catch {
      // the process ended meanwhile
    }
  };
  visit(pid);
  return kib / 1024;
}

const datapath = await createDatapath();
const runtime = await createPodRuntime({ datapath, shutdownGraceMs: 500 });
const cluster = await startSimCluster({ nodes: nodes.length, runtime });
const { registry, cilium } = cluster.internals;

async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function runClients(total: number): Promise<{ ms: number; failed: number }> {
  const clients = runtime.pods().filter((p) => p.spec.namespace === ns && p.spec.labels.app === 'client');
  const t0 = performance.now();
  const results = await Promise.all(
    clients.map(async (c) => {
      const socket = (await c.dial(9000)) as Duplex;
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (text += d));
      await new Promise((resolve, reject) => {
        socket.on('end', resolve);
        socket.on('error', reject);
        socket.write(`${total} ${concurrency}\n`);
      });
      socket.destroy();
      return JSON.parse(text) as { ms: number; failed: number };
    }),
  );
  return { ms: performance.now() - t0, failed: results.reduce((n, r) => n + r.failed, 0) };
}

interface Case {
  what: string;
  policies: KObject[];
  times: number[];
  flowsPerRequest: number[];
  failed: number;
}

const cases: Case[] = [
  { what: 'no L7 rule: spliced, trace flows per connection (anchor)', policies: [], times: [], flowsPerRequest: [], failed: 0 },
  {
    what: 'ingress http rule: every request through the proxy, REQUEST + RESPONSE flows',
    policies: [httpPolicy('web-http', false)],
    times: [],
    flowsPerRequest: [],
    failed: 0,
  },
  {
    what: 'egress and ingress http rules: two proxies, four L7 flows per request',
    policies: [httpPolicy('web-http', false), httpPolicy('client-http', true)],
    times: [],
    flowsPerRequest: [],
    failed: 0,
  },
];

let peakSimRss = 0;
let peakTotalRss = 0;
const sampler = setInterval(() => {
  peakSimRss = Math.max(peakSimRss, process.memoryUsage().rss / 2 ** 20);
  peakTotalRss = Math.max(peakTotalRss, treeRssMiB(process.pid));
}, 250);

try {
  const core = kubeConfigOf(cluster).makeApiClient(CoreV1Api);
  await waitForDaemonSetRollout(kubeConfigOf(cluster), 'kube-system', 'cilium', { timeoutMs: 30_000, intervalMs: 100 });
  await core.patchNamespacedConfigMap(
    { name: 'cilium-config', namespace: 'kube-system', body: { data: { 'enable-hubble': 'true', 'hubble-listen-address': ':4244' } } },
    setMergePatch(),
  );
  await restartDaemonSet(kubeConfigOf(cluster), 'kube-system', 'cilium');
  await until('Hubble on every node', () => nodes.every((n) => cilium.hub.serving(n)));

  registry.create(R.namespaces, '', { metadata: { name: ns } });
  registry.create(R.configmaps, ns, { metadata: { name: 'scripts' }, data: { 'server.mjs': server, 'client.mjs': client } });
  nodes.forEach((node, i) => {
    registry.create(R.pods, ns, pod(`web-${i}`, node, 'web', 'server.mjs'));
    registry.create(R.pods, ns, pod(`client-${i}`, node, 'client', 'client.mjs'));
  });
  registry.create(R.services, ns, { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
  await until('web endpoints', () => (registry.store.get(R.endpoints, ns, 'web')?.subsets?.[0]?.addresses?.length ?? 0) === nodes.length);
  await until('client pods', async () => {
    const clients = runtime.pods().filter((p) => p.spec.namespace === ns && p.spec.labels.app === 'client');
    if (clients.length !== nodes.length) return false;
    const ok = await Promise.all(
      clients.map((c) =>
        c.dial(9000).then(
          (s) => (s.destroy(), true),
          () => false,
        ),
      ),
    );
    return ok.every(Boolean);
  });

  for (let round = 0; round <= runs; round++) {
    for (const c of cases) {
      for (const p of c.policies) registry.create(R.ciliumnetworkpolicies, ns, p);
      const flowsBefore = cilium.hub.stats().flows.emitted;
      const r = await runClients(round === 0 ? 300 : requestsPerClient);
      const total = (round === 0 ? 300 : requestsPerClient) * nodes.length;
      if (round > 0) {
        c.times.push(r.ms);
        c.flowsPerRequest.push((cilium.hub.stats().flows.emitted - flowsBefore) / total);
        c.failed += r.failed;
      }
      for (const p of c.policies) registry.delete(R.ciliumnetworkpolicies, ns, p.metadata.name!);
    }
  }
} finally {
  clearInterval(sampler);
  await cluster.stop();
  await datapath.close();
}

const total = requestsPerClient * nodes.length;
const perSecond = (ms: number) => Math.round((total / ms) * 1000);
const anchor = median(cases[0]!.times);
const proxied = median(cases[1]!.times);
const lines = [
  '## Sim datapath: proxied HTTP at scale (lib/sim/cilium)',
  '',
  `A 3-node sim with Hubble enabled on every agent. One client pod per node (node:20-alpine, keep-alive, ${concurrency}`,
  `requests in flight each) sends GET requests to a Service backed by one light HTTP server pod per node: ${total}`,
  `requests per run, median of ${runs} runs after a warm-up, cases alternating. Every flow is built and written to its`,
  `node's Hubble ring. ${machine()}.`,
  '',
  '| what | median | ratio vs anchor | throughput | flows per request |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...cases.map((c) => {
    const m = median(c.times);
    return `| ${c.what} | ${fmtMs(m)} | ${(m / anchor).toFixed(2)}× | ${perSecond(m).toLocaleString('en-US')} req/s | ${median(c.flowsPerRequest).toFixed(2)} |`;
  }),
  '',
  `Peak resident memory: the sim process ${peakSimRss.toFixed(0)} MiB; the sim with all its pod processes ${peakTotalRss.toFixed(0)} MiB.`,
  `Failed requests: ${cases.reduce((n, c) => n + c.failed, 0)}. Target: ≥ 1,500 proxied requests/s under 1 GB — ${perSecond(proxied) >= 1500 && peakTotalRss < 1024 ? 'met' : 'NOT met'}.`,
];
process.stdout.write(`${lines.join('\n')}\n`);
