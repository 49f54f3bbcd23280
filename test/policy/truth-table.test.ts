// Truth tables of NetworkPolicy and CiliumNetworkPolicy semantics, in the style of the Kubernetes network-policy e2e
// and cyclonus tables. Each probe is answered twice and both must agree with the table: by the sim's datapath (its
// policy state over pods, namespaces and policies stored in its API server) and by `policy check` (the same traffic
// as the flows Hubble would report for it, folded into observations and checked).
import t from 'tap';
import { Registry } from '../../lib/sim/apiserver/registry.ts';
import { R } from '../../lib/sim/apiserver/resources.ts';
import { Store, type KObject } from '../../lib/sim/apiserver/store.ts';
import { EndpointDirectory, type ResolvedEndpoint } from '../../lib/sim/cilium/endpoints.ts';
import { PolicyState } from '../../lib/sim/cilium/policy.ts';
import type { Flow } from '../../lib/flows/types.ts';
import { compilePolicies, selectorKeys } from '../../lib/policy/evaluate.ts';
import { checkPolicies } from '../../lib/policy/check.ts';
import { ObservationTable } from '../../lib/policy/observations.ts';
import type { Protocol } from '../../lib/policy/types.ts';

const CLUSTER = 'kind-sim';
const store = new Store();
const registry = new Registry(store);
const dir = new EndpointDirectory(store, CLUSTER);
const state = new PolicyState(store, dir, CLUSTER);
t.teardown(() => {
  state.stop();
  dir.stop();
});

for (const ns of ['x', 'y']) registry.create(R.namespaces, '', { metadata: { name: ns, labels: { ns } } });
const nodeIPs: Record<string, string> = { 'node-1': '127.18.0.3', 'node-2': '127.18.0.4' };
for (const [name, address] of Object.entries(nodeIPs))
  registry.create(R.nodes, '', { metadata: { name }, status: { addresses: [{ type: 'InternalIP', address }] } });

/** Every pod serves 80 and 81 on TCP and UDP and 82 on SCTP, with the e2e suite's port names. */
const ports = [80, 81].flatMap((port) =>
  (['TCP', 'UDP'] as const).map((protocol) => ({ name: `serve-${port}-${protocol.toLowerCase()}`, containerPort: port, protocol })),
);
ports.push({ name: 'serve-82-sctp', containerPort: 82, protocol: 'SCTP' as 'TCP' });

const pods = new Map<string, ResolvedEndpoint>();
let n = 10;
for (const ns of ['x', 'y']) {
  for (const name of ['a', 'b', 'c']) {
    const labels = { pod: name, ...(name === 'c' ? { tier: 'db' } : {}) };
    const obj = registry.create(R.pods, ns, { metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'agnhost', ports }] } });
    pods.set(`${ns}/${name}`, dir.pod({ ip: `127.244.1.${n++}`, namespace: ns, name, uid: obj.metadata.uid!, nodeName: 'node-1', labels }));
  }
}

/** An endpoint by its name in the tables: `x/a`, `host`, `remote-node`, `world:IP` or `world:IP=name`. */
function endpoint(text: string): { resolved: ResolvedEndpoint; names?: string[] } {
  const pod = pods.get(text);
  if (pod) return { resolved: pod };
  if (text === 'host') return { resolved: dir.node('node-1', nodeIPs['node-1']!, 'node-1') };
  if (text === 'remote-node') return { resolved: dir.node('node-2', nodeIPs['node-2']!, 'node-1') };
  const m = /^world:([^=]+)(?:=(.+))?$/.exec(text);
  if (!m) throw new Error(`unknown endpoint ${text}`);
  const world = dir.world(m[1]!);
  if (!m[2]) return { resolved: world };
  // What Cilium's FQDN cache knows about the IP: the names its DNS proxy saw resolve to it.
  const names = m[2].split(',');
  return { resolved: { ...world, key: `${world.key}=${m[2]}`, policy: { kind: 'world', ip: m[1]!, names } }, names };
}

interface Probe {
  text: string;
  from: string;
  to: string;
  protocol: Protocol;
  port: number;
  allowed: boolean;
  /** Named ports are resolved from pod specs; flows carry no container ports, so only the datapath can answer. */
  datapathOnly: boolean;
}

/** `x/a -> x/b 80 .` (allowed) or `x/a -> x/b 81/UDP X` (denied); a trailing `named` marks a named-port probe. */
function parseProbes(text: string): Probe[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^\s*(\S+)\s*->\s*(\S+)\s+(\d+)(?:\/(TCP|UDP|SCTP))?\s+([.X])(\s+named)?\s*$/.exec(line);
      if (!m) throw new Error(`bad probe line: ${line}`);
      return {
        text: line.trim(),
        from: m[1]!,
        to: m[2]!,
        port: Number(m[3]),
        protocol: (m[4] ?? 'TCP') as Protocol,
        allowed: m[5] === '.',
        datapathOnly: m[6] !== undefined,
      };
    });
}

/** The flow Hubble reports for the first packet of such a connection, as a real export carries it. */
function flowOf(p: Probe): Flow {
  const from = endpoint(p.from);
  const to = endpoint(p.to);
  const l4 = { source_port: 40000, destination_port: p.port };
  return {
    verdict: 'FORWARDED',
    IP: { source: from.resolved.hubble.ip, destination: to.resolved.hubble.ip, ipVersion: 'IPv4' },
    l4: p.protocol === 'TCP' ? { TCP: { ...l4, flags: { SYN: true } } } : p.protocol === 'UDP' ? { UDP: l4 } : { SCTP: l4 },
    source: from.resolved.hubble.endpoint,
    destination: to.resolved.hubble.endpoint,
    ...(to.names ? { destination_names: to.names } : {}),
    Type: 'L3_L4',
    event_type: { type: 4 },
    is_reply: false,
  };
}

const policyResource = (kind: string) => (kind === 'NetworkPolicy' ? R.networkpolicies : kind === 'CiliumNetworkPolicy' ? R.ciliumnetworkpolicies : undefined);

interface Case {
  name: string;
  policies: Record<string, any>[];
  probes: string;
}

function np(namespace: string, name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}
function cnp(namespace: string, name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace }, spec };
}
const podSel = (labels: Record<string, string>) => ({ matchLabels: labels });
const nsSel = (labels: Record<string, string>) => ({ matchLabels: labels });

function runCase(c: Case): void {
  t.test(c.name, async (t) => {
    const created = c.policies.map((p) => registry.create(policyResource(p.kind)!, p.metadata.namespace, structuredClone(p) as KObject));
    t.teardown(() => {
      for (const p of created) registry.delete(policyResource(p.kind!)!, p.metadata.namespace!, p.metadata.name!);
    });
    t.same(state.policies().rejected, [], 'every policy compiles');
    // policy check reads the objects as the API server stored them (defaults applied), from a file or a cluster.
    const set = compilePolicies(created, { clusterName: CLUSTER });
    const vocabulary = selectorKeys(created);
    for (const probe of parseProbes(c.probes)) {
      const from = endpoint(probe.from).resolved;
      const to = endpoint(probe.to).resolved;
      const datapath = state.decide(from, to, probe.protocol, probe.port).allowed;
      t.equal(datapath, probe.allowed, `datapath: ${probe.text}`);
      if (probe.datapathOnly) continue;
      const table = new ObservationTable();
      table.addFlow(flowOf(probe));
      const result = checkPolicies(set, table.observations(), vocabulary);
      t.same(result.skipped, {}, `check evaluates ${probe.text}`);
      t.equal(result.wouldDrop.allowedFlows === 0, probe.allowed, `policy check: ${probe.text}`);
    }
  });
}

const W = 'world:203.0.113.10';

const networkPolicyCases: Case[] = [
  { name: 'np 1: no policy allows everything', policies: [], probes: `x/a -> x/b 80 .\ny/a -> x/b 81/UDP .\n${W} -> x/b 80 .\nx/a -> ${W} 443 .` },
  {
    name: 'np 2: empty podSelector, no rules, Ingress: the namespace is closed for ingress only',
    policies: [np('x', 'deny', { podSelector: {}, policyTypes: ['Ingress'] })],
    probes: `x/a -> x/b 80 X\ny/a -> x/c 81/UDP X\n${W} -> x/a 80 X\nx/a -> y/a 80 .\nx/a -> ${W} 443 .`,
  },
  {
    name: 'np 3: ingress [{}] allows every peer and port',
    policies: [np('x', 'all', { podSelector: {}, ingress: [{}] })],
    probes: `y/a -> x/b 80 .\n${W} -> x/b 9999 .\nx/a -> x/b 82/SCTP .`,
  },
  {
    name: 'np 4: podSelector alone selects peers in the policy namespace',
    policies: [np('x', 'from-a', { podSelector: podSel({ pod: 'b' }), ingress: [{ from: [{ podSelector: podSel({ pod: 'a' }) }] }] })],
    probes: `x/a -> x/b 80 .\ny/a -> x/b 80 X\nx/c -> x/b 80 X\nx/c -> x/a 80 .`,
  },
  {
    name: 'np 5: empty namespaceSelector selects every pod of every namespace, not the world',
    policies: [np('x', 'cluster', { podSelector: podSel({ pod: 'b' }), ingress: [{ from: [{ namespaceSelector: {} }] }] })],
    probes: `y/c -> x/b 80 .\nx/a -> x/b 81 .\n${W} -> x/b 80 X\nhost -> x/b 80 .\nremote-node -> x/b 80 X`,
  },
  {
    name: 'np 6: namespaceSelector alone selects every pod of the selected namespaces',
    policies: [np('x', 'from-y', { podSelector: podSel({ pod: 'b' }), ingress: [{ from: [{ namespaceSelector: nsSel({ ns: 'y' }) }] }] })],
    probes: `y/a -> x/b 80 .\ny/c -> x/b 80 .\nx/a -> x/b 80 X`,
  },
  {
    name: 'np 7: namespaceSelector AND podSelector in one peer',
    policies: [
      np('x', 'and', {
        podSelector: podSel({ pod: 'b' }),
        ingress: [{ from: [{ namespaceSelector: nsSel({ ns: 'y' }), podSelector: podSel({ pod: 'a' }) }] }],
      }),
    ],
    probes: `y/a -> x/b 80 .\ny/c -> x/b 80 X\nx/a -> x/b 80 X`,
  },
  {
    name: 'np 8: namespaceSelector OR podSelector as separate peers',
    policies: [
      np('x', 'or', {
        podSelector: podSel({ pod: 'b' }),
        ingress: [{ from: [{ namespaceSelector: nsSel({ ns: 'y' }) }, { podSelector: podSel({ pod: 'a' }) }] }],
      }),
    ],
    probes: `y/a -> x/b 80 .\ny/c -> x/b 80 .\nx/a -> x/b 80 .\nx/c -> x/b 80 X`,
  },
  {
    name: 'np 9: ipBlock selects the world by address',
    policies: [np('x', 'cidr', { podSelector: podSel({ pod: 'b' }), ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.0/24' } }] }] })],
    probes: `${W} -> x/b 80 .\nworld:198.51.100.1 -> x/b 80 X\ny/a -> x/b 80 X`,
  },
  {
    name: 'np 10: ipBlock except carves addresses out',
    policies: [
      np('x', 'except', { podSelector: podSel({ pod: 'b' }), ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }] }] }),
    ],
    probes: `${W} -> x/b 80 .\nworld:203.0.113.200 -> x/b 80 X`,
  },
  {
    name: 'np 11: egress ipBlock 0.0.0.0/0 except a range never selects pods (Cilium)',
    policies: [
      np('x', 'egress-world', {
        podSelector: podSel({ pod: 'a' }),
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] }],
      }),
    ],
    probes: `x/a -> ${W} 443 .\nx/a -> world:10.1.2.3 443 X\nx/a -> y/a 80 X\nx/a -> x/b 80 X`,
  },
  {
    name: 'np 12: a port without protocol is TCP',
    policies: [np('x', 'tcp80', { podSelector: podSel({ pod: 'b' }), ingress: [{ ports: [{ port: 80 }] }] })],
    probes: `x/a -> x/b 80 .\nx/a -> x/b 80/UDP X\nx/a -> x/b 81 X`,
  },
  {
    name: 'np 13: a UDP port',
    policies: [np('x', 'udp81', { podSelector: podSel({ pod: 'b' }), ingress: [{ ports: [{ protocol: 'UDP', port: 81 }] }] })],
    probes: `y/a -> x/b 81/UDP .\ny/a -> x/b 81 X\ny/a -> x/b 80/UDP X`,
  },
  {
    name: 'np 14: an SCTP port',
    policies: [np('x', 'sctp', { podSelector: podSel({ pod: 'b' }), ingress: [{ ports: [{ protocol: 'SCTP', port: 82 }] }] })],
    probes: `y/a -> x/b 82/SCTP .\ny/a -> x/b 82 X`,
  },
  {
    name: 'np 15: a named port resolves against the destination pod (name and protocol)',
    policies: [np('x', 'named', { podSelector: podSel({ pod: 'b' }), ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
    probes: `x/a -> x/b 81 . named\nx/a -> x/b 80 X named\nx/a -> x/b 81/UDP X named`,
  },
  {
    name: 'np 16: a named UDP port in egress resolves against the destination',
    policies: [
      np('x', 'named-egress', { podSelector: podSel({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'UDP', port: 'serve-80-udp' }] }] }),
    ],
    probes: `x/a -> y/b 80/UDP . named\nx/a -> y/b 80 X named\nx/a -> ${W} 80/UDP X named`,
  },
  {
    name: 'np 17: endPort is an inclusive range',
    policies: [np('x', 'range', { podSelector: podSel({ pod: 'b' }), ingress: [{ ports: [{ protocol: 'TCP', port: 80, endPort: 81 }] }] })],
    probes: `x/a -> x/b 80 .\nx/a -> x/b 81 .\nx/a -> x/b 82 X\nx/a -> x/b 79 X`,
  },
  {
    name: 'np 18: endPort on UDP in egress',
    policies: [
      np('x', 'range-udp', {
        podSelector: podSel({ pod: 'a' }),
        policyTypes: ['Egress'],
        egress: [{ ports: [{ protocol: 'UDP', port: 5000, endPort: 5010 }] }],
      }),
    ],
    probes: `x/a -> ${W} 5005/UDP .\nx/a -> ${W} 5011/UDP X\nx/a -> ${W} 5005 X`,
  },
  {
    name: 'np 19: policyTypes [Ingress] ignores egress rules',
    policies: [
      np('x', 'ingress-only', { podSelector: podSel({ pod: 'a' }), policyTypes: ['Ingress'], egress: [{ to: [{ podSelector: podSel({ pod: 'b' }) }] }] }),
    ],
    probes: `x/a -> y/a 80 .\nx/a -> ${W} 443 .\nx/b -> x/a 80 X`,
  },
  {
    name: 'np 20: policyTypes left out with egress rules means Ingress and Egress',
    policies: [np('x', 'defaulted', { podSelector: podSel({ pod: 'a' }), egress: [{ to: [{ podSelector: podSel({ pod: 'b' }) }] }] })],
    probes: `x/a -> x/b 80 .\nx/a -> y/a 80 X\nx/b -> x/a 80 X`,
  },
  {
    name: 'np 21: policyTypes [Egress] leaves ingress open',
    policies: [np('x', 'egress-only', { podSelector: podSel({ pod: 'a' }), policyTypes: ['Egress'] })],
    probes: `x/b -> x/a 80 .\n${W} -> x/a 80 .\nx/a -> x/b 80 X\nx/a -> ${W} 80 X`,
  },
  {
    name: 'np 22: policyTypes [Ingress, Egress] without rules isolates both ways',
    policies: [np('x', 'both', { podSelector: podSel({ pod: 'a' }), policyTypes: ['Ingress', 'Egress'] })],
    probes: `x/b -> x/a 80 X\nx/a -> x/b 80 X\nx/b -> x/c 80 .`,
  },
  {
    name: 'np 23: egress allowed to a namespace only',
    policies: [np('x', 'to-y', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: nsSel({ ns: 'y' }) }] }] })],
    probes: `x/a -> y/c 80 .\nx/a -> x/b 80 X\nx/a -> ${W} 80 X\ny/a -> x/a 80 .`,
  },
  {
    name: 'np 24: two policies selecting one pod add up (peers)',
    policies: [
      np('x', 'p1', { podSelector: podSel({ pod: 'b' }), ingress: [{ from: [{ podSelector: podSel({ pod: 'a' }) }] }] }),
      np('x', 'p2', { podSelector: podSel({ pod: 'b' }), ingress: [{ from: [{ namespaceSelector: nsSel({ ns: 'y' }), podSelector: podSel({ pod: 'c' }) }] }] }),
    ],
    probes: `x/a -> x/b 80 .\ny/c -> x/b 80 .\ny/a -> x/b 80 X\nx/c -> x/b 80 X`,
  },
  {
    name: 'np 25: two policies add up (ports)',
    policies: [
      np('x', 'p80', { podSelector: podSel({ pod: 'b' }), ingress: [{ from: [{ podSelector: podSel({ pod: 'a' }) }], ports: [{ port: 80 }] }] }),
      np('x', 'p81', { podSelector: podSel({ pod: 'b' }), ingress: [{ from: [{ podSelector: podSel({ pod: 'a' }) }], ports: [{ port: 81 }] }] }),
    ],
    probes: `x/a -> x/b 80 .\nx/a -> x/b 81 .\nx/a -> x/b 82/SCTP X\nx/c -> x/b 80 X`,
  },
  {
    name: 'np 26: an isolating policy and an allow-all one: the allow wins',
    policies: [np('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] }), np('x', 'allow-b', { podSelector: podSel({ pod: 'b' }), ingress: [{}] })],
    probes: `y/a -> x/b 80 .\ny/a -> x/a 80 X`,
  },
  {
    name: 'np 27: a connection needs the source egress and the destination ingress',
    policies: [
      np('x', 'egress-closed', { podSelector: podSel({ pod: 'a' }), policyTypes: ['Egress'] }),
      np('y', 'ingress-open', { podSelector: {}, ingress: [{}] }),
    ],
    probes: `x/a -> y/a 80 X\nx/b -> y/a 80 .`,
  },
  {
    name: "np 28: the pod's own node reaches an isolated pod; other nodes do not",
    policies: [np('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] })],
    probes: `host -> x/b 80 .\nremote-node -> x/b 80 X\ny/a -> x/b 80 X`,
  },
  {
    name: 'np 29: matchExpressions In and NotIn',
    policies: [
      np('x', 'exprs', {
        podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] },
        ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['b'] }] } }] }],
      }),
    ],
    probes: `x/a -> x/b 80 .\nx/a -> x/c 80 .\nx/b -> x/c 80 X\nx/c -> x/b 80 .\ny/a -> x/b 80 X`,
  },
  {
    name: 'np 30: matchExpressions Exists and DoesNotExist',
    policies: [
      np('x', 'exists', {
        podSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
        ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] } }] }],
      }),
    ],
    probes: `x/a -> x/c 80 .\nx/c -> x/c 80 X\nx/a -> x/b 80 .`,
  },
  {
    name: 'np 31: namespaceSelector on kubernetes.io/metadata.name, which every namespace carries',
    policies: [
      np('x', 'by-name', {
        podSelector: podSel({ pod: 'b' }),
        ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['y'] }] } }] }],
      }),
    ],
    probes: `y/b -> x/b 80 .\nx/a -> x/b 80 X`,
  },
  {
    name: 'np 32: ports without from admit every peer on those ports',
    policies: [np('x', 'any-peer', { podSelector: podSel({ pod: 'b' }), ingress: [{ ports: [{ port: 80 }] }] })],
    probes: `${W} -> x/b 80 .\ny/a -> x/b 80 .\nremote-node -> x/b 80 .\ny/a -> x/b 81 X`,
  },
  {
    name: 'np 33: from without ports admits those peers on every port and protocol',
    policies: [np('x', 'any-port', { podSelector: podSel({ pod: 'b' }), ingress: [{ from: [{ podSelector: podSel({ pod: 'a' }) }] }] })],
    probes: `x/a -> x/b 80 .\nx/a -> x/b 81/UDP .\nx/a -> x/b 82/SCTP .`,
  },
  {
    name: "np 34: a policy selects only its own namespace's pods",
    policies: [np('y', 'closed-y', { podSelector: {}, policyTypes: ['Ingress'] })],
    probes: `x/a -> x/b 80 .\nx/a -> y/b 80 X`,
  },
  {
    name: 'np 35: egress to a pod on one port, DNS anywhere on UDP 53',
    policies: [
      np('x', 'lab', {
        podSelector: podSel({ pod: 'a' }),
        policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: podSel({ pod: 'b' }) }], ports: [{ port: 80 }] }, { ports: [{ protocol: 'UDP', port: 53 }] }],
      }),
    ],
    probes: `x/a -> x/b 80 .\nx/a -> x/b 81 X\nx/a -> y/c 53/UDP .\nx/a -> ${W} 53/UDP .\nx/a -> y/c 53 X`,
  },
];

const ciliumCases: Case[] = [
  {
    name: 'cnp 1: fromEntities world',
    policies: [cnp('x', 'from-world', { endpointSelector: podSel({ pod: 'b' }), ingress: [{ fromEntities: ['world'] }] })],
    probes: `${W} -> x/b 80 .\ny/a -> x/b 80 X\nremote-node -> x/b 80 X`,
  },
  {
    name: 'cnp 2: fromEntities cluster: pods of every namespace and the nodes, not the world',
    policies: [cnp('x', 'from-cluster', { endpointSelector: podSel({ pod: 'b' }), ingress: [{ fromEntities: ['cluster'] }] })],
    probes: `y/a -> x/b 80 .\nx/a -> x/b 81/UDP .\nremote-node -> x/b 80 .\n${W} -> x/b 80 X`,
  },
  {
    name: 'cnp 3: fromEntities host',
    policies: [cnp('x', 'from-host', { endpointSelector: podSel({ pod: 'b' }), ingress: [{ fromEntities: ['host'] }] })],
    probes: `host -> x/b 80 .\nremote-node -> x/b 80 X\nx/a -> x/b 80 X`,
  },
  {
    name: 'cnp 4: toEntities world',
    policies: [cnp('x', 'to-world', { endpointSelector: podSel({ pod: 'a' }), egress: [{ toEntities: ['world'] }] })],
    probes: `x/a -> ${W} 443 .\nx/a -> y/a 80 X\nx/a -> host 10250 X`,
  },
  {
    name: 'cnp 5: toEntities cluster',
    policies: [cnp('x', 'to-cluster', { endpointSelector: podSel({ pod: 'a' }), egress: [{ toEntities: ['cluster'] }] })],
    probes: `x/a -> y/a 80 .\nx/a -> host 10250 .\nx/a -> ${W} 443 X`,
  },
  {
    name: 'cnp 6: toEntities host',
    policies: [cnp('x', 'to-host', { endpointSelector: podSel({ pod: 'a' }), egress: [{ toEntities: ['host'] }] })],
    probes: `x/a -> host 10250 .\nx/a -> remote-node 10250 X\nx/a -> x/b 80 X`,
  },
  {
    name: 'cnp 7: toFQDNs matchName',
    policies: [
      cnp('x', 'fqdn', {
        endpointSelector: podSel({ pod: 'a' }),
        egress: [{ toFQDNs: [{ matchName: 'api.example.com' }], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] }],
      }),
    ],
    probes: `x/a -> ${W}=api.example.com 443 .\nx/a -> ${W}=api.example.com 80 X\nx/a -> ${W}=www.example.com 443 X\nx/a -> ${W} 443 X`,
  },
  {
    name: 'cnp 8: toFQDNs matchPattern: * stays within one label',
    policies: [cnp('x', 'pattern', { endpointSelector: podSel({ pod: 'a' }), egress: [{ toFQDNs: [{ matchPattern: '*.example.com' }] }] })],
    probes: `x/a -> ${W}=api.example.com 443 .\nx/a -> ${W}=a.b.example.com 443 X\nx/a -> ${W}=example.com 443 X\nx/a -> ${W}=other.org,cdn.example.com 443 .`,
  },
  {
    name: 'cnp 9: toFQDNs matchPattern **. matches any depth',
    policies: [cnp('x', 'deep', { endpointSelector: podSel({ pod: 'a' }), egress: [{ toFQDNs: [{ matchPattern: '**.example.com' }] }] })],
    probes: `x/a -> ${W}=a.b.example.com 443 .\nx/a -> ${W}=api.example.com 443 .\nx/a -> ${W}=example.org 443 X`,
  },
  {
    name: 'cnp 10: ingressDeny wins over an allow of every peer',
    policies: [
      cnp('x', 'deny-a', {
        endpointSelector: podSel({ pod: 'b' }),
        ingress: [{ fromEntities: ['all'] }],
        ingressDeny: [{ fromEndpoints: [podSel({ pod: 'a' })] }],
      }),
    ],
    probes: `x/a -> x/b 80 X\nx/c -> x/b 80 .\ny/a -> x/b 80 .`,
  },
  {
    name: 'cnp 11: egressDeny to the world wins over toEntities all',
    policies: [cnp('x', 'no-world', { endpointSelector: podSel({ pod: 'a' }), egress: [{ toEntities: ['all'] }], egressDeny: [{ toEntities: ['world'] }] })],
    probes: `x/a -> ${W} 443 X\nx/a -> y/a 80 .`,
  },
  {
    name: "cnp 12: a Cilium deny wins over another policy's NetworkPolicy allow",
    policies: [
      np('x', 'allow-all', { podSelector: {}, ingress: [{}] }),
      cnp('x', 'deny-from-y', { endpointSelector: {}, ingressDeny: [{ fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'y' } }] }] }),
    ],
    probes: `y/a -> x/b 80 X\nx/a -> x/b 80 .`,
  },
  {
    name: 'cnp 13: a deny on one port leaves other ports to the allows',
    policies: [
      cnp('x', 'deny-81', {
        endpointSelector: podSel({ pod: 'b' }),
        ingress: [{ fromEndpoints: [podSel({ pod: 'a' })] }],
        ingressDeny: [{ fromEndpoints: [podSel({ pod: 'a' })], toPorts: [{ ports: [{ port: '81', protocol: 'TCP' }] }] }],
      }),
    ],
    probes: `x/a -> x/b 80 .\nx/a -> x/b 81 X\nx/a -> x/b 81/UDP .`,
  },
  {
    name: "cnp 14: fromEndpoints without a namespace selects in the policy's namespace only",
    policies: [cnp('x', 'scoped', { endpointSelector: podSel({ pod: 'b' }), ingress: [{ fromEndpoints: [podSel({ pod: 'a' })] }] })],
    probes: `x/a -> x/b 80 .\ny/a -> x/b 80 X`,
  },
  {
    name: 'cnp 15: fromEndpoints naming another namespace',
    policies: [
      cnp('x', 'cross', {
        endpointSelector: podSel({ pod: 'b' }),
        ingress: [{ fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'y', pod: 'a' } }] }],
      }),
    ],
    probes: `y/a -> x/b 80 .\nx/a -> x/b 80 X\ny/b -> x/b 80 X`,
  },
  {
    name: 'cnp 16: toPorts without a peer admits every peer on the port',
    policies: [cnp('x', 'port-only', { endpointSelector: podSel({ pod: 'b' }), ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] })],
    probes: `${W} -> x/b 80 .\ny/a -> x/b 80 .\ny/a -> x/b 81 X`,
  },
  {
    name: 'cnp 17: enableDefaultDeny off: an allow rule does not isolate',
    policies: [
      cnp('x', 'audit-like', {
        endpointSelector: podSel({ pod: 'b' }),
        enableDefaultDeny: { ingress: false },
        ingress: [{ fromEndpoints: [podSel({ pod: 'a' })] }],
      }),
    ],
    probes: `x/a -> x/b 80 .\ny/a -> x/b 80 .\n${W} -> x/b 80 .`,
  },
  {
    name: 'cnp 18: toCIDRSet with except',
    policies: [
      cnp('x', 'cidrset', { endpointSelector: podSel({ pod: 'a' }), egress: [{ toCIDRSet: [{ cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] }] }] }),
    ],
    probes: `x/a -> ${W} 443 .\nx/a -> world:203.0.113.200 443 X\nx/a -> y/a 80 X`,
  },
];

for (const c of [...networkPolicyCases, ...ciliumCases]) runCase(c);

t.test('the table is as large as it says', async (t) => {
  t.ok(networkPolicyCases.length >= 30, `${networkPolicyCases.length} NetworkPolicy cases`);
  t.ok(ciliumCases.length >= 15, `${ciliumCases.length} CiliumNetworkPolicy cases`);
});
