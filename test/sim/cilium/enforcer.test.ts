// NetworkPolicy truth tables over real connections: pods on node:20-alpine probe every pod and port through the
// sim's datapath under the lab's policy and the standard cases, and the grids must be what the Kubernetes spec says.
import t from 'tap';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import type { Flow } from '../../../lib/flows/types.ts';
import { nowNanos } from '../../../lib/sim/hubble/clock.ts';
import type { RunningPod } from '../../../lib/sim/runtime/types.ts';
import { agentFlows, enableHubble, nodeScriptSpec, scriptConfigMap, startCiliumSim, synRetries, waitFor, type CiliumSim } from './helpers.ts';

// Each pod serves TCP 80, 81 and 82 and, on its control port (reached from its node, never policed), probes the
// targets it is sent, all at once: `.` connected (or, for DNS, answered), `X` dropped (the SYN retransmissions ran
// out: ETIMEDOUT; or no DNS answer in 2 s, time for an allowed answer on a busy machine), `R` refused (allowed, but
// nothing there).
const probeAgent = `
import net from 'node:net';
import dgram from 'node:dgram';
for (const port of [80, 81, 82]) net.createServer((s) => s.end()).listen(port);
const tcp = (host, port) => new Promise((resolve) => {
  const s = net.connect(port, host);
  const timer = setTimeout(() => { s.destroy(); resolve('hang'); }, 5000);
  s.on('connect', () => { clearTimeout(timer); s.destroy(); resolve('.'); });
  s.on('error', (e) => { clearTimeout(timer); resolve(e.code === 'ETIMEDOUT' ? 'X' : e.code === 'ECONNREFUSED' ? 'R' : e.code); });
});
const dns = (server) => new Promise((resolve) => {
  const id = Math.floor(Math.random() * 65536);
  const name = Buffer.concat([...'kube-dns.kube-system.svc.cluster.local'.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0, 0, 1, 0, 1])]);
  const header = Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const sock = dgram.createSocket('udp4');
  const timer = setTimeout(() => { sock.close(); resolve('X'); }, 2000);
  sock.on('message', (m) => { if (m.readUInt16BE(0) !== id) return; clearTimeout(timer); sock.close(); resolve((m[3] & 15) === 0 ? '.' : 'rcode ' + (m[3] & 15)); });
  sock.send(Buffer.concat([header, name]), 53, server);
});
net.createServer((c) => {
  let text = '';
  c.on('data', (d) => {
    text += d;
    if (!text.includes('\\n')) return;
    const targets = JSON.parse(text);
    Promise.all(targets.map((t) => (t.dns ? dns(t.host) : tcp(t.host, t.port)))).then((r) => c.end(JSON.stringify(r) + '\\n'));
  });
}).listen(9000);
`;

const demo = 'genai-network-demo';
const other = 'other';
/** Row and column names → namespace, pod name, labels, node. */
const pods = {
  coord: { namespace: demo, labels: { app: 'agent-coordinator', tier: 'orchestration' }, node: 'sim-worker' },
  doc: { namespace: demo, labels: { app: 'document-agent', tier: 'processing' }, node: 'sim-worker2' },
  llm: { namespace: demo, labels: { app: 'llm-service', tier: 'inference' }, node: 'sim-worker' },
  probe: { namespace: demo, labels: { run: 'probe' }, node: 'sim-worker2' },
  client: { namespace: other, labels: { app: 'client' }, node: 'sim-worker' },
} as const;
type PodName = keyof typeof pods;
const sources = Object.keys(pods) as PodName[];

/** A column: a pod's port, kube-dns over UDP, or an address outside the cluster. */
type Column = `${PodName}` | `${PodName}:${number}` | 'dns' | `world:${string}`;
const everyPod: Column[] = [...sources, 'dns'];

function setup(): string {
  const docs: Record<string, any>[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: demo, labels: { name: demo } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: other, labels: { team: 'blue' } } },
  ];
  for (const ns of [demo, other]) docs.push(scriptConfigMap(ns, 'probe-agent', { 'agent.mjs': probeAgent }));
  for (const [name, p] of Object.entries(pods)) {
    const spec = nodeScriptSpec('probe-agent', 'agent.mjs', [], {
      ports: [{ name: 'http', containerPort: 80 }, { name: 'metrics', containerPort: 81 }, { containerPort: 82 }],
    });
    docs.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: p.namespace, labels: p.labels }, spec: { nodeName: p.node, ...spec } });
  }
  return docs.map((d) => JSON.stringify(d)).join('\n---\n');
}

/** The grid as the e2e suite prints it: rows are sources, columns targets, cells `.`, `X` or `R`. */
function grid(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(' '))
    .join('\n');
}

async function probe(pod: RunningPod, targets: { host: string; port?: number; dns?: boolean }[]): Promise<string[]> {
  const socket = (await pod.dial(9000)) as Duplex;
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (text += d));
  const done = new Promise((resolve, reject) => {
    socket.on('end', resolve);
    socket.on('error', reject);
  });
  socket.write(`${JSON.stringify(targets)}\n`);
  await done;
  socket.destroy();
  return JSON.parse(text) as string[];
}

async function observe(sim: CiliumSim, ips: Record<PodName, string>, columns: Column[]): Promise<string> {
  const target = (c: Column) => {
    if (c === 'dns') return { host: '127.96.0.10', dns: true };
    if (c.startsWith('world:')) return { host: c.slice(6), port: 80 };
    const [name, port] = c.split(':') as [PodName, string | undefined];
    return { host: ips[name], port: Number(port ?? 80) };
  };
  const rows = await Promise.all(sources.map(async (from) => [from, ...(await probe(sim.pod(pods[from].namespace, from), columns.map(target)))].join(' ')));
  return [['-', ...columns].join(' '), ...rows].join('\n');
}

function networkPolicy(name: string, spec: Record<string, unknown>, namespace: string = demo) {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

const labPolicy = parseAllDocuments(readFileSync(new URL('../../../manifests/policy/network-policy.yaml', import.meta.url), 'utf8')).map((d) => d.toJS());

const cases: { name: string; policies: Record<string, any>[]; columns: Column[]; expect: string }[] = [
  {
    name: 'no policy: every pod reaches every pod and cluster DNS',
    policies: [],
    columns: everyPod,
    expect: `
      -      coord doc llm probe client dns
      coord  .     .   .   .     .      .
      doc    .     .   .   .     .      .
      llm    .     .   .   .     .      .
      probe  .     .   .   .     .      .
      client .     .   .   .     .      .`,
  },
  {
    name: "the lab's policy: document-agent takes only the coordinator's traffic and talks only to inference and DNS",
    policies: labPolicy,
    columns: everyPod,
    expect: `
      -      coord doc llm probe client dns
      coord  .     .   .   .     .      .
      doc    X     X   .   X     X      .
      llm    .     X   .   .     .      .
      probe  .     X   .   .     .      .
      client .     X   .   .     .      .`,
  },
  {
    name: 'default-deny ingress isolates every pod of the namespace for ingress only',
    policies: [networkPolicy('default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] })],
    columns: everyPod,
    expect: `
      -      coord doc llm probe client dns
      coord  X     X   X   X     .      .
      doc    X     X   X   X     .      .
      llm    X     X   X   X     .      .
      probe  X     X   X   X     .      .
      client X     X   X   X     .      .`,
  },
  {
    name: 'default-deny egress: the namespace reaches nothing, DNS included',
    policies: [networkPolicy('default-deny-egress', { podSelector: {}, policyTypes: ['Egress'] })],
    columns: everyPod,
    expect: `
      -      coord doc llm probe client dns
      coord  X     X   X   X     X      X
      doc    X     X   X   X     X      X
      llm    X     X   X   X     X      X
      probe  X     X   X   X     X      X
      client .     .   .   .     .      .`,
  },
  {
    name: 'allow from a namespace: only the labelled namespace reaches llm-service',
    policies: [
      networkPolicy('llm-from-blue', {
        podSelector: { matchLabels: { tier: 'inference' } },
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }] }],
      }),
    ],
    columns: everyPod,
    expect: `
      -      coord doc llm probe client dns
      coord  .     .   X   .     .      .
      doc    .     .   X   .     .      .
      llm    .     .   X   .     .      .
      probe  .     .   X   .     .      .
      client .     .   .   .     .      .`,
  },
  {
    name: 'ipBlock: CIDRs select addresses outside the cluster (never pods, as in Cilium), except carves out',
    policies: [
      networkPolicy('llm-from-pod-cidr', {
        podSelector: { matchLabels: { tier: 'inference' } },
        ingress: [{ from: [{ ipBlock: { cidr: '127.244.0.0/16' } }] }],
      }),
      networkPolicy('probe-to-doc-net', {
        podSelector: { matchLabels: { run: 'probe' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '198.51.100.0/24', except: ['198.51.100.0/28'] } }] }],
      }),
    ],
    columns: ['llm', 'coord', 'world:198.51.100.20', 'world:198.51.100.5'],
    expect: `
      -      llm coord world:198.51.100.20 world:198.51.100.5
      coord  X   .     R                   R
      doc    X   .     R                   R
      llm    X   .     R                   R
      probe  X   X     R                   X
      client X   .     R                   R`,
  },
  {
    name: 'named port: the port named in the policy resolves on the destination pod',
    policies: [networkPolicy('llm-metrics-only', { podSelector: { matchLabels: { tier: 'inference' } }, ingress: [{ ports: [{ port: 'metrics' }] }] })],
    columns: ['llm:80', 'llm:81', 'llm:82', 'coord:81'],
    expect: `
      -      llm:80 llm:81 llm:82 coord:81
      coord  X      .      X      .
      doc    X      .      X      .
      llm    X      .      X      .
      probe  X      .      X      .
      client X      .      X      .`,
  },
  {
    name: 'endPort: a port range, both ends included',
    policies: [
      networkPolicy('llm-80-81', { podSelector: { matchLabels: { tier: 'inference' } }, ingress: [{ ports: [{ protocol: 'TCP', port: 80, endPort: 81 }] }] }),
    ],
    columns: ['llm:80', 'llm:81', 'llm:82'],
    expect: `
      -      llm:80 llm:81 llm:82
      coord  .      .      X
      doc    .      .      X
      llm    .      .      X
      probe  .      .      X
      client .      .      X`,
  },
  {
    name: 'CiliumNetworkPolicy: a deny rule wins over an allow-all',
    policies: [
      {
        apiVersion: 'cilium.io/v2',
        kind: 'CiliumNetworkPolicy',
        metadata: { name: 'llm-not-from-other', namespace: demo },
        spec: {
          endpointSelector: { matchLabels: { tier: 'inference' } },
          ingress: [{ fromEntities: ['all'] }],
          ingressDeny: [{ fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': other } }] }],
        },
      },
    ],
    columns: ['llm', 'coord'],
    expect: `
      -      llm coord
      coord  .   .
      doc    .   .
      llm    .   .
      probe  .   .
      client X   .`,
  },
  {
    name: 'DNS-only egress: port 53 anywhere, nothing else',
    policies: [
      networkPolicy('probe-dns-only', {
        podSelector: { matchLabels: { run: 'probe' } },
        policyTypes: ['Egress'],
        egress: [
          {
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      }),
    ],
    columns: everyPod,
    expect: `
      -      coord doc llm probe client dns
      coord  .     .   .   .     .      .
      doc    .     .   .   .     .      .
      llm    .     .   .   .     .      .
      probe  X     X   X   X     X      .
      client .     .   .   .     .      .`,
  },
];

t.test('NetworkPolicy truth tables over real connections between pods', async (t) => {
  const sim = await startCiliumSim(t);
  await enableHubble(sim);
  await sim.apply(setup());
  const ips = {} as Record<PodName, string>;
  for (const name of sources) {
    const pod = await waitFor(
      `pod ${name} running`,
      () => sim.runtime.pods().find((p) => p.spec.name === name && p.containerStatuses()[0]?.state.state === 'running'),
      20_000,
    );
    ips[name] = pod.spec.podIP;
    await waitFor(
      `pod ${name} probing`,
      () =>
        pod.dial(9000).then(
          (s) => (s.destroy(), true),
          () => false,
        ),
      20_000,
    );
  }
  await waitFor(
    'kube-dns endpoints',
    async () => (await sim.core.readNamespacedEndpoints({ name: 'kube-dns', namespace: 'kube-system' })).subsets?.[0]?.addresses?.length,
    20_000,
  );
  const windows = new Map<string, { from: bigint; to: bigint }>();
  for (const c of cases) {
    await sim.apply(c.policies);
    const from = nowNanos();
    t.equal(await observe(sim, ips, c.columns), grid(c.expect), c.name);
    windows.set(c.name, { from, to: nowNanos() });
    for (const p of c.policies) await sim.remove(p);
  }
  t.ok(sim.cluster.internals.cilium.connections().denied > 0, 'denied connections are counted');

  const flows = await agentFlows(sim);
  // Hubble names the reason: default deny (no rule allows) or an explicit deny rule.
  const drops = flows.filter((f) => f.event_type?.type === 1);
  const reasons = (from: PodName, to: PodName) =>
    new Set(drops.filter((f) => f.source?.pod_name === from && f.destination?.pod_name === to).map((f) => f.drop_reason_desc));
  t.same([...reasons('client', 'llm')].sort(), ['POLICY_DENIED', 'POLICY_DENY'], 'client → llm: default deny in some cases, the deny rule in one');
  t.same([...reasons('coord', 'doc')], ['POLICY_DENIED']);
  t.ok(
    drops.every((f) => f.verdict === 'DROPPED' && (f.drop_reason_desc === 'POLICY_DENY' ? f.event_type?.sub_type === 181 : f.event_type?.sub_type === 133)),
    'event sub-types follow the reasons',
  );

  // Policy verdicts: each side that enforces policy reports one for a connection's first packet, on its own node;
  // a dropping side reports one for every dropped packet, next to the drop.
  const verdictsIn = (name: string) => {
    const w = windows.get(name)!;
    return flows.filter((f) => f.event_type?.type === 5 && flowNanos(f) >= w.from && flowNanos(f) <= w.to);
  };
  const between = (list: Flow[], from: PodName, to: PodName, port = 80) =>
    list.filter((f) => f.source?.pod_name === from && f.destination?.pod_name === to && (f.l4?.TCP ?? f.l4?.UDP)?.destination_port === port);
  const line = (f: Flow) =>
    `${f.node_name?.split('/').pop()} ${f.traffic_direction} ${f.verdict} match=${f.policy_match_type ?? 0} ${f.drop_reason_desc ?? '-'} reply=${f.is_reply} ${f.Summary}`;
  // A connection's first packet, once: on a loaded machine a SYN the datapath answers after the client's retransmission
  // timeout is sent again and gets a verdict again, for the same connection (its source port).
  const perConnection = (list: Flow[]) => {
    const seen = new Set<string>();
    return list.filter((f) => {
      const key = `${f.source?.pod_name}:${(f.l4?.TCP ?? f.l4?.UDP)?.source_port}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  };
  const byPolicies = (f: Flow) =>
    [...(f.ingress_allowed_by ?? []), ...(f.egress_allowed_by ?? []), ...(f.ingress_denied_by ?? []), ...(f.egress_denied_by ?? [])].map(
      (p) => `${p.kind}/${p.name}`,
    );

  t.same(verdictsIn(cases[0]!.name), [], 'no policy: no policy verdicts');

  const lab = verdictsIn(cases[1]!.name);
  const nodeOf = (p: PodName) => pods[p].node;
  t.same(
    perConnection(between(lab, 'coord', 'doc')).map(line),
    [`${nodeOf('doc')} INGRESS FORWARDED match=2 - reply=false TCP Flags: SYN`],
    "coordinator → document-agent: allowed at document-agent's ingress by peer and port (L3-L4); the coordinator has no egress policy",
  );
  t.same(perConnection(between(lab, 'coord', 'doc')).map(byPolicies), [['NetworkPolicy/genai-network-policy']], 'named by the policy that allows it');
  t.same(
    perConnection(between(lab, 'doc', 'llm')).map(line),
    [`${nodeOf('doc')} EGRESS FORWARDED match=2 - reply=false TCP Flags: SYN`],
    "document-agent → llm-service: allowed at document-agent's egress",
  );
  const docDns = lab.filter((f) => f.source?.pod_name === 'doc' && f.destination?.pod_name?.startsWith('coredns'));
  t.same(
    docDns.map(line),
    [`${nodeOf('doc')} EGRESS FORWARDED match=3 - reply=false UDP`],
    'document-agent → DNS: allowed by a port rule for any peer (L4-Only)',
  );
  const refused = Array(synRetries + 1).fill(`${nodeOf('doc')} INGRESS DROPPED match=0 POLICY_DENIED reply=undefined TCP Flags: SYN`);
  t.same(between(lab, 'probe', 'doc').map(line), refused, 'probe → document-agent: default deny at the ingress, one verdict per SYN, no reply flag');
  t.equal(
    between(drops, 'probe', 'doc').filter((f) => windows.get(cases[1]!.name)!.from <= flowNanos(f) && flowNanos(f) <= windows.get(cases[1]!.name)!.to).length,
    synRetries + 1,
    'each verdict with its drop',
  );
  t.same(
    between(lab, 'doc', 'coord').map(line),
    Array(synRetries + 1).fill(`${nodeOf('doc')} EGRESS DROPPED match=0 POLICY_DENIED reply=undefined TCP Flags: SYN`),
    "document-agent → coordinator: dropped at the client's egress",
  );
  t.same(between(lab, 'coord', 'llm'), [], 'llm-service enforces no policy here');

  const denyCase = verdictsIn(cases.find((c) => c.name.startsWith('CiliumNetworkPolicy: a deny rule'))!.name);
  t.same(
    between(denyCase, 'client', 'llm').map(line),
    Array(synRetries + 1).fill(`${nodeOf('llm')} INGRESS DROPPED match=1 POLICY_DENY reply=undefined TCP Flags: SYN`),
    'a deny rule for a peer (L3-Only) drops',
  );
  t.same(between(denyCase, 'client', 'llm').map(byPolicies)[0], ['CiliumNetworkPolicy/llm-not-from-other'], 'and is named as the policy that denied');
  t.same(
    perConnection(between(denyCase, 'coord', 'llm')).map(line),
    [`${nodeOf('llm')} INGRESS FORWARDED match=4 - reply=false TCP Flags: SYN`],
    'the all entity allows any peer, protocol and port (all)',
  );
});

/** A flow's time in nanoseconds since the epoch, comparable with the sim's clock. */
function flowNanos(f: Flow): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(f.time!)!;
  return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
