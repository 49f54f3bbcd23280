// The lab's genai-network-policy over the lab's pods, every pod to every pod on each port, plus decision details.
import t from 'tap';
import { compilePolicies, evaluateConnection } from '../../lib/policy/evaluate.ts';
import type { Endpoint } from '../../lib/policy/types.ts';
import { grid, labModel, networkPolicy, reachability } from '../fixtures/policy.ts';

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
    egress: { isolated: true, allowed: true, allowedBy: [ref], deniedBy: [] },
    ingress: { isolated: false, allowed: true, allowedBy: [], deniedBy: [] },
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
