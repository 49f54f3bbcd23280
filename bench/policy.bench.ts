// Policy evaluation cost per connection: a 1,000-pod cluster with NetworkPolicies, Cilium L7 policies and clusterwide policies.
import { compilePolicies, evaluateConnection, type PolicySet } from '../lib/policy/evaluate.ts';
import type { Connection, PodEndpoint, Protocol } from '../lib/policy/types.ts';
import { seededRandom } from '../test/fixtures/random.ts';
import { fmtMs, machine, timeMedian } from './lib.ts';

const namespaces = 20;
const podsPerNamespace = 50;
const connectionsPerRun = 20_000;
const tiers = ['frontend', 'backend', 'db', 'cache', 'worker'];
const rnd = seededRandom(20240805);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

const pods: PodEndpoint[] = [];
for (let n = 0; n < namespaces; n++) {
  for (let i = 0; i < podsPerNamespace; i++) {
    pods.push({
      kind: 'pod',
      namespace: `ns-${n}`,
      name: `pod-${i}`,
      labels: { app: `app-${i % 10}`, tier: tiers[i % tiers.length]! },
      namespaceLabels: { team: `team-${n % 4}` },
      ip: `127.244.${n}.${i + 10}`,
      nodeName: `node-${i % 3}`,
      ports: [{ name: 'http', port: 8080 }],
    });
  }
}

function policiesFor(ns: string): unknown[] {
  const np = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: ns },
    spec,
  });
  const cnp = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name, namespace: ns },
    spec,
  });
  return [
    np('default-deny', { podSelector: {}, policyTypes: ['Ingress'] }),
    np('frontend-to-backend', {
      podSelector: { matchLabels: { tier: 'backend' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'frontend' } } }], ports: [{ port: 'http' }] }],
    }),
    np('backend-to-db', {
      podSelector: { matchLabels: { tier: 'db' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'backend' } } }], ports: [{ port: 5432 }] }],
    }),
    np('from-team-0', {
      podSelector: { matchLabels: { tier: 'frontend' } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'team-0' } } }] }],
    }),
    np('worker-egress', {
      podSelector: { matchLabels: { tier: 'worker' } },
      egress: [{ to: [{ podSelector: { matchLabels: { tier: 'cache' } } }], ports: [{ port: 6379 }] }, { ports: [{ protocol: 'UDP', port: 53 }] }],
    }),
    cnp('cache-http', {
      endpointSelector: { matchLabels: { tier: 'cache' } },
      ingress: [
        {
          fromEndpoints: [{ matchLabels: { tier: 'worker' } }],
          toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/cache/.*' }] } }],
        },
      ],
    }),
    cnp('no-world', { endpointSelector: {}, egressDeny: [{ toEntities: ['world'] }], enableDefaultDeny: { egress: false } }),
  ];
}

const objects = Array.from({ length: namespaces }, (_, n) => policiesFor(`ns-${n}`)).flat();
objects.push({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumClusterwideNetworkPolicy',
  metadata: { name: 'dns' },
  spec: {
    endpointSelector: {},
    egress: [
      {
        toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system' } }],
        toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*' }] } }],
      },
    ],
    enableDefaultDeny: { egress: false },
  },
});

const ports: [Protocol, number][] = [
  ['TCP', 8080],
  ['TCP', 5432],
  ['TCP', 6379],
  ['UDP', 53],
  ['TCP', 80],
];
const connections: Connection[] = Array.from({ length: connectionsPerRun }, () => {
  const [protocol, port] = pick(ports);
  return { source: pick(pods), destination: pick(pods), protocol, port };
});

function decideAll(set: PolicySet): number {
  let allowed = 0;
  for (const c of connections) if (evaluateConnection(set, c).allowed) allowed++;
  return allowed;
}

const empty = compilePolicies([]);
const compiled = compilePolicies(objects);
if (compiled.rejected.length) throw new Error(`bench policies rejected: ${JSON.stringify(compiled.rejected)}`);

const anchor = await timeMedian(() => decideAll(empty), 7);
const withPolicies = await timeMedian(() => decideAll(compiled), 7);
const compile = await timeMedian(() => compilePolicies(objects), 7);
const allowedShare = decideAll(compiled) / connectionsPerRun;
const perSecond = (ms: number) => Math.round((connectionsPerRun / ms) * 1000).toLocaleString('en-US');

const rows = [
  [`decide ${connectionsPerRun.toLocaleString('en-US')} connections, no policies (anchor)`, anchor.medianMs, `${perSecond(anchor.medianMs)} connections/s`],
  [
    `decide ${connectionsPerRun.toLocaleString('en-US')} connections, ${objects.length} policies`,
    withPolicies.medianMs,
    `${perSecond(withPolicies.medianMs)} connections/s, ${(allowedShare * 100).toFixed(0)}% allowed`,
  ],
  [`compile ${objects.length} policies`, compile.medianMs, ''],
] as const;

const lines = [
  '## Policy evaluation (lib/policy)',
  '',
  `${namespaces * podsPerNamespace} pods in ${namespaces} namespaces; per namespace 5 NetworkPolicies and 2 CiliumNetworkPolicies (one with`,
  `http rules, one egress deny), plus a clusterwide DNS policy. Random pod pairs over 5 ports. ${machine()}.`,
  '',
  '| what | median | ratio vs anchor | throughput |',
  '| --- | ---: | ---: | --- |',
  ...rows.map(([what, ms, note]) => `| ${what} | ${fmtMs(ms)} | ${(ms / anchor.medianMs).toFixed(1)}× | ${note} |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
