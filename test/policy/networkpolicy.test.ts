// NetworkPolicy truth tables over the upstream e2e model (namespaces x,y,z × pods a,b,c), per the Kubernetes spec.
import t from 'tap';
import { compilePolicies, evaluateConnection } from '../../lib/policy/evaluate.ts';
import { policyTypesDefault } from '../../lib/policy/networkpolicy.ts';
import type { Endpoint, WorldEndpoint } from '../../lib/policy/types.ts';
import { type Probe, e2eModel, grid, networkPolicy, reachability } from '../fixtures/policy.ts';

const pods = e2eModel();
const pod = (name: string) => pods.get(name)!;
const world = (ip: string): WorldEndpoint => ({ kind: 'world', ip });
const tcp80 = { protocol: 'TCP', port: 80 } as const;

function allowed(policies: unknown[], source: Endpoint, destination: Endpoint, protocol: 'TCP' | 'UDP' | 'SCTP', port: number): boolean {
  const set = compilePolicies(policies);
  if (set.rejected.length) throw new Error(`unexpected rejection: ${set.rejected.map((r) => r.reason).join('; ')}`);
  return evaluateConnection(set, { source, destination, protocol, port }).allowed;
}

function matrix(policies: unknown[], probe: Probe = tcp80): string {
  const set = compilePolicies(policies);
  if (set.rejected.length) throw new Error(`unexpected rejection: ${set.rejected.map((r) => r.reason).join('; ')}`);
  return reachability(set, pods, probe);
}

const allOpen = grid(`
  -   x/a x/b x/c y/a y/b y/c z/a z/b z/c
  x/a  .   .   .   .   .   .   .   .   .
  x/b  .   .   .   .   .   .   .   .   .
  x/c  .   .   .   .   .   .   .   .   .
  y/a  .   .   .   .   .   .   .   .   .
  y/b  .   .   .   .   .   .   .   .   .
  y/c  .   .   .   .   .   .   .   .   .
  z/a  .   .   .   .   .   .   .   .   .
  z/b  .   .   .   .   .   .   .   .   .
  z/c  .   .   .   .   .   .   .   .   .
`);

const intoXaFrom = (sources: string[]) => {
  const names = [...pods.keys()];
  return [['-', ...names].join(' '), ...names.map((from) => [from, ...names.map((to) => (to !== 'x/a' || sources.includes(from) ? '.' : 'X'))].join(' '))].join(
    '\n',
  );
};

t.test('no policy: everything reaches everything', async (t) => {
  t.equal(matrix([]), allOpen);
});

t.test('default-deny-ingress isolates every pod of the namespace for ingress only', async (t) => {
  const p = networkPolicy('x', 'default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
  t.equal(
    matrix([p]),
    grid(`
      -   x/a x/b x/c y/a y/b y/c z/a z/b z/c
      x/a  X   X   X   .   .   .   .   .   .
      x/b  X   X   X   .   .   .   .   .   .
      x/c  X   X   X   .   .   .   .   .   .
      y/a  X   X   X   .   .   .   .   .   .
      y/b  X   X   X   .   .   .   .   .   .
      y/c  X   X   X   .   .   .   .   .   .
      z/a  X   X   X   .   .   .   .   .   .
      z/b  X   X   X   .   .   .   .   .   .
      z/c  X   X   X   .   .   .   .   .   .
    `),
  );
  const d = evaluateConnection(compilePolicies([p]), { source: pod('y/a'), destination: pod('x/b'), ...tcp80 });
  t.same(
    { allowed: d.allowed, reason: d.dropReason, at: d.dropDirection, isolated: d.ingress.isolated, egressIsolated: d.egress.isolated },
    { allowed: false, reason: 'POLICY_DENIED', at: 'ingress', isolated: true, egressIsolated: false },
  );
});

t.test('default-deny-all isolates both directions', async (t) => {
  const p = networkPolicy('x', 'default-deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  t.equal(
    matrix([p]),
    grid(`
      -   x/a x/b x/c y/a y/b y/c z/a z/b z/c
      x/a  X   X   X   X   X   X   X   X   X
      x/b  X   X   X   X   X   X   X   X   X
      x/c  X   X   X   X   X   X   X   X   X
      y/a  X   X   X   .   .   .   .   .   .
      y/b  X   X   X   .   .   .   .   .   .
      y/c  X   X   X   .   .   .   .   .   .
      z/a  X   X   X   .   .   .   .   .   .
      z/b  X   X   X   .   .   .   .   .   .
      z/c  X   X   X   .   .   .   .   .   .
    `),
  );
  const d = evaluateConnection(compilePolicies([p]), { source: pod('x/a'), destination: world('198.51.100.7'), ...tcp80 });
  t.same([d.allowed, d.dropDirection], [false, 'egress'], 'egress to the world is denied too');
});

t.test('default-deny-egress isolates egress only', async (t) => {
  const p = networkPolicy('x', 'default-deny-egress', { podSelector: {}, policyTypes: ['Egress'] });
  t.equal(
    matrix([p]),
    grid(`
      -   x/a x/b x/c y/a y/b y/c z/a z/b z/c
      x/a  X   X   X   X   X   X   X   X   X
      x/b  X   X   X   X   X   X   X   X   X
      x/c  X   X   X   X   X   X   X   X   X
      y/a  .   .   .   .   .   .   .   .   .
      y/b  .   .   .   .   .   .   .   .   .
      y/c  .   .   .   .   .   .   .   .   .
      z/a  .   .   .   .   .   .   .   .   .
      z/b  .   .   .   .   .   .   .   .   .
      z/c  .   .   .   .   .   .   .   .   .
    `),
  );
});

t.test('namespaceSelector alone admits every pod of the selected namespaces', async (t) => {
  const p = networkPolicy('x', 'allow-from-y', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
  });
  t.equal(
    matrix([p]),
    grid(`
      -   x/a x/b x/c y/a y/b y/c z/a z/b z/c
      x/a  X   .   .   .   .   .   .   .   .
      x/b  X   .   .   .   .   .   .   .   .
      x/c  X   .   .   .   .   .   .   .   .
      y/a  .   .   .   .   .   .   .   .   .
      y/b  .   .   .   .   .   .   .   .   .
      y/c  .   .   .   .   .   .   .   .   .
      z/a  X   .   .   .   .   .   .   .   .
      z/b  X   .   .   .   .   .   .   .   .
      z/c  X   .   .   .   .   .   .   .   .
    `),
  );
});

t.test('namespaceSelector and podSelector in one peer AND together; in two peers they OR', async (t) => {
  const and = networkPolicy('x', 'and', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] }],
  });
  t.equal(matrix([and]), intoXaFrom(['y/b']));
  const or = networkPolicy('x', 'or', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, { podSelector: { matchLabels: { pod: 'b' } } }] }],
  });
  t.equal(matrix([or]), intoXaFrom(['x/b', 'y/a', 'y/b', 'y/c']));
});

t.test('podSelector alone selects in the policy namespace only; {} namespaceSelector selects all namespaces', async (t) => {
  const sameNs = networkPolicy('x', 'same-ns', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: {} }] }] });
  t.equal(matrix([sameNs]), intoXaFrom(['x/a', 'x/b', 'x/c']));
  const anyNs = networkPolicy('x', 'any-ns', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: {} }] }] });
  t.equal(matrix([anyNs]), intoXaFrom([...pods.keys()]));
  t.notOk(allowed([anyNs], world('198.51.100.7'), pod('x/a'), 'TCP', 80), 'a namespaceSelector never selects the world');
  const bAnywhere = networkPolicy('x', 'b-anywhere', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'b' } } }] }],
  });
  t.equal(matrix([bAnywhere]), intoXaFrom(['x/b', 'y/b', 'z/b']));
});

t.test('matchExpressions: NotIn, In, Exists, DoesNotExist, and the default namespace name label', async (t) => {
  const ingressFrom = (from: unknown[]) => networkPolicy('x', 'expr', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from }] });
  t.equal(
    matrix([ingressFrom([{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] } }])]),
    intoXaFrom(['y/a', 'y/b', 'y/c', 'z/a', 'z/b', 'z/c']),
  );
  t.equal(
    matrix([ingressFrom([{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['z'] }] } }])]),
    intoXaFrom(['z/a', 'z/b', 'z/c']),
  );
  t.equal(
    matrix([ingressFrom([{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] } }])]),
    intoXaFrom(['x/b', 'x/c', 'y/b', 'y/c', 'z/b', 'z/c']),
  );
  t.equal(matrix([ingressFrom([{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'Exists' }] } }])]), intoXaFrom(['x/a', 'x/b', 'x/c']));
  t.equal(matrix([ingressFrom([{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'DoesNotExist' }] } }])]), intoXaFrom([]));
});

t.test('stacked policies union their allows; an allow-all rule wins over a deny-all policy', async (t) => {
  const fromY = networkPolicy('x', 'from-y', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
  });
  const fromZ = networkPolicy('x', 'from-z', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'z' } } }] }],
  });
  t.equal(matrix([fromY, fromZ]), intoXaFrom(['y/a', 'y/b', 'y/c', 'z/a', 'z/b', 'z/c']));
  const denyAll = networkPolicy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] });
  const allowAll = networkPolicy('x', 'allow-all', { podSelector: {}, ingress: [{}] });
  t.equal(matrix([denyAll, allowAll]), allOpen);
  const d = evaluateConnection(compilePolicies([denyAll, allowAll]), { source: pod('y/a'), destination: pod('x/a'), ...tcp80 });
  t.same(d.ingress.allowedBy, [{ kind: 'NetworkPolicy', name: 'allow-all', namespace: 'x' }]);
  t.ok(allowed([allowAll], world('198.51.100.7'), pod('x/a'), 'UDP', 9999), '{} allows every source, port and protocol');
});

t.test('the client side denies egress even when the server admits the traffic', async (t) => {
  const clientDeny = networkPolicy('x', 'deny-egress', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'] });
  const serverAllow = networkPolicy('y', 'allow-all', { podSelector: {}, ingress: [{}] });
  const set = compilePolicies([clientDeny, serverAllow]);
  const d = evaluateConnection(set, { source: pod('x/a'), destination: pod('y/b'), ...tcp80 });
  t.same([d.allowed, d.dropDirection, d.egress.allowed, d.ingress.allowed], [false, 'egress', false, true]);
});

t.test('ingress and egress of one pod are controlled independently', async (t) => {
  const p = networkPolicy('x', 'split', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
    egress: [{ to: [{ podSelector: { matchLabels: { pod: 'c' } } }] }],
  });
  t.equal(
    matrix([p]),
    grid(`
      -   x/a x/b x/c y/a y/b y/c z/a z/b z/c
      x/a  X   X   .   X   X   X   X   X   X
      x/b  .   .   .   .   .   .   .   .   .
      x/c  X   .   .   .   .   .   .   .   .
      y/a  X   .   .   .   .   .   .   .   .
      y/b  X   .   .   .   .   .   .   .   .
      y/c  X   .   .   .   .   .   .   .   .
      z/a  X   .   .   .   .   .   .   .   .
      z/b  X   .   .   .   .   .   .   .   .
      z/c  X   .   .   .   .   .   .   .   .
    `),
  );
});

t.test('ports: protocol defaults to TCP, SCTP is not TCP, port omitted means every port of the protocol', async (t) => {
  const port81 = networkPolicy('x', 'port-81', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ port: 81 }] }] });
  const cases: [string, 'TCP' | 'UDP' | 'SCTP', number, boolean][] = [
    ['TCP 80 is not listed', 'TCP', 80, false],
    ['TCP 81 is listed', 'TCP', 81, true],
    ['UDP 81: the port defaults to TCP', 'UDP', 81, false],
  ];
  for (const [what, protocol, port, want] of cases) t.equal(allowed([port81], pod('y/b'), pod('x/a'), protocol, port), want, what);

  const sctp = networkPolicy('x', 'sctp', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ protocol: 'SCTP', port: 80 }] }] });
  t.equal(allowed([sctp], pod('y/b'), pod('x/a'), 'TCP', 80), false, 'a policy allowing SCTP still isolates TCP');
  t.equal(allowed([sctp], pod('y/b'), pod('x/a'), 'SCTP', 80), true);

  const anyUdp = networkPolicy('x', 'any-udp', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ protocol: 'UDP' }] }] });
  t.equal(allowed([anyUdp], pod('y/b'), pod('x/a'), 'UDP', 4242), true, 'any UDP port');
  t.equal(allowed([anyUdp], pod('y/b'), pod('x/a'), 'TCP', 80), false, 'but no TCP');
});

t.test('named ports resolve against the destination pod, with their protocol', async (t) => {
  const ingressNamed = networkPolicy('x', 'named', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ port: 'serve-80-tcp' }] }] });
  t.equal(allowed([ingressNamed], pod('y/b'), pod('x/a'), 'TCP', 80), true, 'serve-80-tcp is TCP 80 on x/a');
  t.equal(allowed([ingressNamed], pod('y/b'), pod('x/a'), 'TCP', 81), false);
  const wrongProtocol = networkPolicy('x', 'named-udp-as-tcp', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ ports: [{ port: 'serve-80-udp' }] }],
  });
  t.equal(allowed([wrongProtocol], pod('y/b'), pod('x/a'), 'UDP', 80), false, 'the named port is UDP but the rule defaults to TCP');
  t.equal(allowed([wrongProtocol], pod('y/b'), pod('x/a'), 'TCP', 80), false);
  const udpNamed = networkPolicy('x', 'named-udp', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ ports: [{ port: 'serve-80-udp', protocol: 'UDP' }] }],
  });
  t.equal(allowed([udpNamed], pod('y/b'), pod('x/a'), 'UDP', 80), true);

  const egressNamed = networkPolicy('x', 'egress-named', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Egress'],
    egress: [{ ports: [{ port: 'serve-81-udp', protocol: 'UDP' }] }],
  });
  t.equal(allowed([egressNamed], pod('x/a'), pod('y/b'), 'UDP', 81), true, 'egress resolves on the destination pod');
  t.equal(allowed([egressNamed], pod('x/a'), pod('y/b'), 'UDP', 80), false);
  t.equal(allowed([egressNamed], pod('x/a'), world('198.51.100.7'), 'UDP', 81), false, 'the world has no named ports');
  const bare: Endpoint = { ...pod('y/b'), ports: [] };
  t.equal(allowed([egressNamed], pod('x/a'), bare, 'UDP', 81), false, 'a destination without that name');
});

t.test('endPort makes a port range, inclusive', async (t) => {
  const range = networkPolicy('x', 'range', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ port: 80, endPort: 81 }] }] });
  const got = [79, 80, 81, 82].map((port) => allowed([range], pod('y/b'), pod('x/a'), 'TCP', port));
  t.same(got, [false, true, true, false]);
});

t.test('ipBlock with except selects external IPs only (Cilium never matches pod IPs by CIDR)', async (t) => {
  const egress = networkPolicy('x', 'cidr', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }, { ipBlock: { cidr: '127.244.0.0/16' } }] }],
  });
  const cases: [string, Endpoint, boolean][] = [
    ['inside the block', world('203.0.113.5'), true],
    ['first address of the except', world('203.0.113.128'), false],
    ['inside the except', world('203.0.113.200'), false],
    ['outside the block', world('198.51.100.7'), false],
    ['a pod whose IP is inside a listed block', pod('y/b'), false],
    ['a node whose IP is inside a listed block', { kind: 'node', name: 'node-2', ip: '127.244.9.1' }, false],
  ];
  for (const [what, destination, want] of cases) t.equal(allowed([egress], pod('x/a'), destination, 'TCP', 443), want, what);

  const ingress = networkPolicy('x', 'from-cidr', {
    podSelector: {},
    ingress: [{ from: [{ ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:ffff::/48'] } }] }],
  });
  t.equal(allowed([ingress], world('2001:db8:1::1'), pod('x/a'), 'TCP', 80), true, 'IPv6 inside');
  t.equal(allowed([ingress], world('2001:db8:ffff::1'), pod('x/a'), 'TCP', 80), false, 'IPv6 except');
  t.equal(allowed([ingress], world('203.0.113.5'), pod('x/a'), 'TCP', 80), false, 'other family');
});

t.test('DNS-only egress: UDP 53 to anywhere, nothing else', async (t) => {
  const dnsOnly = networkPolicy('x', 'dns-only', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'UDP', port: 53 }] }] });
  t.equal(matrix([dnsOnly], { protocol: 'UDP', port: 53 }), allOpen, 'UDP 53 reaches every pod');
  t.equal(allowed([dnsOnly], pod('x/a'), world('198.51.100.53'), 'UDP', 53), true, 'and the world');
  t.equal(allowed([dnsOnly], pod('x/a'), pod('y/a'), 'TCP', 53), false, 'not TCP 53');
  t.equal(allowed([dnsOnly], pod('x/a'), pod('y/a'), 'TCP', 80), false, 'not TCP 80');
});

t.test('policyTypes defaulting and direction isolation as the API server defaults them', async (t) => {
  t.same(policyTypesDefault(networkPolicy('x', 'p', { podSelector: {} })), ['Ingress']);
  t.same(policyTypesDefault(networkPolicy('x', 'p', { podSelector: {}, egress: [{}] })), ['Ingress', 'Egress']);
  t.same(policyTypesDefault(networkPolicy('x', 'p', { podSelector: {}, egress: [] })), ['Ingress']);
  t.same(policyTypesDefault(networkPolicy('x', 'p', { podSelector: {}, policyTypes: ['Egress'], ingress: [{}] })), ['Egress']);

  const egressRulesIgnored = networkPolicy('x', 'ingress-only', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Ingress'],
    ingress: [{}],
    egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
  });
  t.equal(allowed([egressRulesIgnored], pod('x/a'), pod('y/c'), 'TCP', 80), true, 'egress rules without Egress in policyTypes do nothing');

  const noRules = networkPolicy('x', 'no-rules', { podSelector: { matchLabels: { pod: 'a' } } });
  t.equal(allowed([noRules], pod('x/b'), pod('x/a'), 'TCP', 80), false, 'no policyTypes and no rules: Ingress, deny all');
  t.equal(allowed([noRules], pod('x/a'), pod('x/b'), 'TCP', 80), true, 'egress untouched');

  const egressDefaulted = networkPolicy('x', 'egress-rule', {
    podSelector: { matchLabels: { pod: 'a' } },
    egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
  });
  t.equal(allowed([egressDefaulted], pod('x/a'), pod('x/b'), 'TCP', 80), true);
  t.equal(allowed([egressDefaulted], pod('x/a'), pod('x/c'), 'TCP', 80), false, 'egress rules default Egress in');
  t.equal(allowed([egressDefaulted], pod('x/c'), pod('x/a'), 'TCP', 80), false, 'and Ingress is defaulted in too');
});

t.test('a policy only affects pods of its own namespace', async (t) => {
  const p = networkPolicy('y', 'deny', { podSelector: { matchLabels: { pod: 'a' } } });
  t.equal(allowed([p], pod('x/b'), pod('x/a'), 'TCP', 80), true);
  t.equal(allowed([p], pod('x/b'), pod('y/a'), 'TCP', 80), false);
});

t.test('objects the API server would refuse are rejected with the field named, and have no effect', async (t) => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    [
      'endPort below port',
      { podSelector: {}, ingress: [{ ports: [{ port: 81, endPort: 80 }] }] },
      /^spec\.ingress\[0\]\.ports\[0\]\.endPort: must be a number between port \(81\)/,
    ],
    ['endPort with a named port', { podSelector: {}, ingress: [{ ports: [{ port: 'http', endPort: 90 }] }] }, /endPort: may only be set with a numeric port/],
    ['unknown protocol', { podSelector: {}, ingress: [{ ports: [{ protocol: 'ICMP' }] }] }, /protocol: "ICMP" is not one of TCP, UDP, SCTP/],
    ['a numeric string port', { podSelector: {}, ingress: [{ ports: [{ port: '80' }] }] }, /port: "80" is not a port number or a valid port name/],
    ['empty peer', { podSelector: {}, ingress: [{ from: [{}] }] }, /from\[0\]: must specify a peer/],
    [
      'ipBlock with podSelector',
      { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] },
      /may not specify ipBlock together/,
    ],
    [
      'except outside the cidr',
      { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }] }] },
      /except\[0\]: must be a strict subset of 10\.0\.0\.0\/8/,
    ],
    ['bare IP as cidr', { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.1' } }] }] }, /cidr: must be a CIDR/],
    [
      'bad operator',
      { podSelector: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] } },
      /podSelector\.matchExpressions\[0\]\.operator: "Equals" is not one of/,
    ],
    ['In without values', { podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }, /values: must be non-empty when operator is In/],
    ['unknown policy type', { podSelector: {}, policyTypes: ['Both'] }, /policyTypes\[0\]: "Both" is not one of Ingress, Egress/],
    ['rules not a list', { podSelector: {}, ingress: {} }, /^spec\.ingress: must be a list/],
  ];
  for (const [what, spec, reason] of bad) {
    const set = compilePolicies([networkPolicy('x', 'bad', spec)]);
    t.equal(set.rejected.length, 1, what);
    t.match(set.rejected[0], { kind: 'NetworkPolicy', name: 'bad', namespace: 'x', reason }, what);
    t.equal(evaluateConnection(set, { source: pod('y/a'), destination: pod('x/a'), ...tcp80 }).allowed, true, `${what}: no effect`);
  }
  const set = compilePolicies([{ kind: 'NetworkPolicy', metadata: { name: 'n' }, spec: {} }, null, { kind: 'Pod' }]);
  t.same(
    set.rejected.map((r) => r.reason),
    [
      'metadata.namespace: is required',
      '(object): a policy must be an object',
      'kind: "Pod" is not NetworkPolicy, CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy',
    ],
  );
});
