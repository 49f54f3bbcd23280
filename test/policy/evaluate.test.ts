// The lab's genai-network-policy over the lab's pods, every pod to every pod on each port, plus decision details.
import t from 'tap';
import { compilePolicies, evaluateConnection } from '../../lib/policy/evaluate.ts';
import type { Endpoint } from '../../lib/policy/types.ts';
import { ciliumPolicy, grid, labModel, networkPolicy, reachability } from '../fixtures/policy.ts';

const pods = labModel();
const pod = (name: string) => pods.get(name)!;

/** The policy exactly as the lab guide applies it. */
const genaiNetworkPolicy = networkPolicy('genai-network-demo', 'genai-network-policy', {
  podSelector: { matchLabels: { tier: 'processing' } },
  policyTypes: ['Ingress', 'Egress'],
  ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'orchestration' } } }], ports: [{ protocol: 'TCP', port: 80 }] }],
  egress: [
    { to: [{ podSelector: { matchLabels: { tier: 'inference' } } }], ports: [{ protocol: 'TCP', port: 80 }] },
    { to: [], ports: [{ protocol: 'UDP', port: 53 }] },
  ],
});

const set = compilePolicies([genaiNetworkPolicy]);

t.test('the lab policy compiles', async (t) => {
  t.same(set.rejected, []);
});

t.test('TCP 80: document-agent only takes orchestration and only calls inference', async (t) => {
  t.equal(
    reachability(set, pods, { protocol: 'TCP', port: 80 }),
    grid(`
      -           coordinator doc-1 doc-2 llm probe test-pod kube-dns
      coordinator      .        .     .    .    .      .        .
      doc-1            X        X     X    .    X      X        X
      doc-2            X        X     X    .    X      X        X
      llm              .        X     X    .    .      .        .
      probe            .        X     X    .    .      .        .
      test-pod         .        X     X    .    .      .        .
      kube-dns         .        X     X    .    .      .        .
    `),
  );
});

t.test('TCP 8080: no rule names it, so document-agent neither sends nor receives', async (t) => {
  t.equal(
    reachability(set, pods, { protocol: 'TCP', port: 8080 }),
    grid(`
      -           coordinator doc-1 doc-2 llm probe test-pod kube-dns
      coordinator      .        X     X    .    .      .        .
      doc-1            X        X     X    X    X      X        X
      doc-2            X        X     X    X    X      X        X
      llm              .        X     X    .    .      .        .
      probe            .        X     X    .    .      .        .
      test-pod         .        X     X    .    .      .        .
      kube-dns         .        X     X    .    .      .        .
    `),
  );
});

t.test('UDP 53: document-agent may query anyone, but nobody may send to it', async (t) => {
  t.equal(
    reachability(set, pods, { protocol: 'UDP', port: 53 }),
    grid(`
      -           coordinator doc-1 doc-2 llm probe test-pod kube-dns
      coordinator      .        X     X    .    .      .        .
      doc-1            .        X     X    .    .      .        .
      doc-2            .        X     X    .    .      .        .
      llm              .        X     X    .    .      .        .
      probe            .        X     X    .    .      .        .
      test-pod         .        X     X    .    .      .        .
      kube-dns         .        X     X    .    .      .        .
    `),
  );
});

t.test('TCP 53: DNS over TCP is not in the policy, so document-agent cannot use it', async (t) => {
  t.equal(
    reachability(set, pods, { protocol: 'TCP', port: 53 }),
    grid(`
      -           coordinator doc-1 doc-2 llm probe test-pod kube-dns
      coordinator      .        X     X    .    .      .        .
      doc-1            X        X     X    X    X      X        X
      doc-2            X        X     X    X    X      X        X
      llm              .        X     X    .    .      .        .
      probe            .        X     X    .    .      .        .
      test-pod         .        X     X    .    .      .        .
      kube-dns         .        X     X    .    .      .        .
    `),
  );
});

t.test('decisions name the side that drops and the policy that allows', async (t) => {
  const ref = { kind: 'NetworkPolicy', name: 'genai-network-policy', namespace: 'genai-network-demo' };
  const allowed = evaluateConnection(set, { source: pod('doc-1'), destination: pod('llm'), protocol: 'TCP', port: 80 });
  t.same(allowed, {
    allowed: true,
    egress: { enforced: true, isolated: true, allowed: true, allowedBy: [ref], deniedBy: [], match: 'L3-L4', matchedBy: [ref] },
    ingress: { enforced: false, isolated: false, allowed: true, allowedBy: [], deniedBy: [], match: 'none', matchedBy: [] },
  });
  const violation = evaluateConnection(set, { source: pod('test-pod'), destination: pod('doc-2'), protocol: 'TCP', port: 80 });
  t.same(
    { allowed: violation.allowed, reason: violation.dropReason, at: violation.dropDirection, egress: violation.egress.allowed },
    { allowed: false, reason: 'POLICY_DENIED', at: 'ingress', egress: true },
    'the lab guide test pod is dropped at document-agent ingress',
  );
  const outbound = evaluateConnection(set, { source: pod('doc-1'), destination: pod('probe'), protocol: 'TCP', port: 80 });
  t.same([outbound.dropReason, outbound.dropDirection, outbound.ingress.allowed], ['POLICY_DENIED', 'egress', true]);
});

t.test('the match type of the deciding entry, and the policies behind it, as Cilium reports them', async (t) => {
  const ns = 'genai-network-demo';
  const fromCoordinator = { podSelector: { matchLabels: { tier: 'orchestration' } } };
  const doc = { podSelector: { matchLabels: { tier: 'processing' } } };
  const ingress = (policies: unknown[], source: Endpoint = pod('coordinator')) =>
    evaluateConnection(compilePolicies(policies), { source, destination: pod('doc-1'), protocol: 'TCP', port: 80 }).ingress;
  const np = (name: string, rule: Record<string, unknown>) => networkPolicy(ns, name, { ...doc, ingress: [rule] });
  const cases: [string, unknown[], string][] = [
    ['peer and port', [np('a', { from: [fromCoordinator], ports: [{ port: 80 }] })], 'L3-L4'],
    ['port, any peer', [np('a', { ports: [{ port: 80 }] })], 'L4-Only'],
    ['peer and protocol', [np('a', { from: [fromCoordinator], ports: [{ protocol: 'TCP' }] })], 'L3-Proto'],
    ['protocol, any peer', [np('a', { ports: [{ protocol: 'TCP' }] })], 'Proto-Only'],
    ['peer, any port', [np('a', { from: [fromCoordinator] })], 'L3-Only'],
    ['anything', [np('a', {})], 'all'],
    [
      'the all entity is any peer',
      [ciliumPolicy(ns, 'a', { endpointSelector: { matchLabels: { tier: 'processing' } }, ingress: [{ fromEntities: ['all'] }] })],
      'all',
    ],
    [
      'the cluster entity names peers',
      [ciliumPolicy(ns, 'a', { endpointSelector: { matchLabels: { tier: 'processing' } }, ingress: [{ fromEntities: ['cluster'] }] })],
      'L3-Only',
    ],
  ];
  for (const [what, policies, match] of cases) {
    const side = ingress(policies);
    t.same([side.enforced, side.allowed, side.match, side.matchedBy.map((r) => r.name)], [true, true, match, ['a']], what);
  }

  const peerOnly = np('peer-only', { from: [fromCoordinator] });
  const portOnly = np('port-only', { ports: [{ port: 80 }] });
  const both = ingress([peerOnly, portOnly]);
  t.same(
    [both.match, both.matchedBy.map((r) => r.name), both.allowedBy.map((r) => r.name)],
    ['L4-Only', ['port-only'], ['peer-only', 'port-only']],
    'a port entry wins over a peer entry; correlation names only its policy',
  );
  const twice = ingress([np('x', { from: [fromCoordinator], ports: [{ port: 80 }] }), np('y', { from: [{ podSelector: {} }], ports: [{ port: 80 }] })]);
  t.same(
    twice.matchedBy.map((r) => r.name),
    ['x', 'y'],
    'rules of two policies making one entry both count',
  );

  const denied = ingress([np('a', { from: [fromCoordinator], ports: [{ port: 80 }] })], pod('probe'));
  t.same([denied.allowed, denied.dropReason, denied.match, denied.matchedBy], [false, 'POLICY_DENIED', 'none', []], 'default deny matches no entry');
  const deny = ciliumPolicy(ns, 'deny', {
    endpointSelector: { matchLabels: { tier: 'processing' } },
    ingressDeny: [{ fromEndpoints: [{ matchLabels: { tier: 'orchestration' } }] }],
  });
  const explicit = ingress([np('allow', {}), deny]);
  t.same(
    [explicit.dropReason, explicit.match, explicit.matchedBy.map((r) => r.name)],
    ['POLICY_DENY', 'L3-Only', ['deny']],
    'a deny rule reports its own entry',
  );

  const open = ciliumPolicy(ns, 'open', {
    endpointSelector: { matchLabels: { tier: 'processing' } },
    enableDefaultDeny: { ingress: false },
    ingress: [{ fromEndpoints: [{ matchLabels: { tier: 'inference' } }] }],
  });
  const unmatched = ingress([open]);
  t.same(
    [unmatched.enforced, unmatched.isolated, unmatched.allowed, unmatched.match, unmatched.matchedBy],
    [true, false, true, 'all', []],
    'without default deny the rest is allowed by an entry for anything',
  );
  const node: Endpoint = { kind: 'node', name: 'node-1', ip: '192.0.2.1' };
  const host = ingress([np('a', { from: [fromCoordinator] })], node);
  t.same([host.allowed, host.match, host.matchedBy], [true, 'L3-Only', []], "the pod's own node is an entry for the host identity");
  const free = evaluateConnection(compilePolicies([]), { source: pod('coordinator'), destination: pod('doc-1'), protocol: 'TCP', port: 80 });
  t.same([free.egress.enforced, free.ingress.enforced, free.ingress.match], [false, false, 'none'], 'no policy, no enforcement');
});

t.test('nodes and the world: only pods are enforced on; the own node is let in', async (t) => {
  const world: Endpoint = { kind: 'world', ip: '198.51.100.7' };
  const node1: Endpoint = { kind: 'node', name: 'node-1', ip: '192.0.2.1' };
  const node2: Endpoint = { kind: 'node', name: 'node-2', ip: '192.0.2.2' };
  const cases: [string, Endpoint, Endpoint, 'TCP' | 'UDP', number, boolean][] = [
    ['world to world', world, world, 'TCP', 80, true],
    ['node to an unselected pod', node2, pod('llm'), 'TCP', 80, true],
    ['kubelet on the own node probes document-agent', node1, pod('doc-1'), 'TCP', 8080, true],
    ['another node to document-agent', node2, pod('doc-1'), 'TCP', 80, false],
    ['world to document-agent', world, pod('doc-2'), 'TCP', 80, false],
    ['document-agent DNS to an outside resolver', pod('doc-2'), world, 'UDP', 53, true],
    ['document-agent to its node', pod('doc-1'), node1, 'TCP', 10250, false],
  ];
  for (const [what, source, destination, protocol, port, want] of cases) {
    t.equal(evaluateConnection(set, { source, destination, protocol, port }).allowed, want, what);
  }
});

t.test('policies are indexed by namespace: a policy elsewhere never selects these pods', async (t) => {
  const elsewhere = networkPolicy('other', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  const both = compilePolicies([genaiNetworkPolicy, elsewhere]);
  t.same([...both.byNamespace.keys()].sort(), ['genai-network-demo', 'other']);
  t.equal(reachability(both, pods, { protocol: 'TCP', port: 80 }), reachability(set, pods, { protocol: 'TCP', port: 80 }));
});
