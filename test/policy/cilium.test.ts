// CiliumNetworkPolicy semantics: namespace scoping, entities, CIDR/FQDN peers, deny rules, default deny, L7 redirects.
import t from 'tap';
import { compilePolicies, evaluateConnection } from '../../lib/policy/evaluate.ts';
import type { Connection, Decision, Endpoint, NodeEndpoint, Protocol, WorldEndpoint } from '../../lib/policy/types.ts';
import { ciliumPolicy, e2eModel, labModel, networkPolicy } from '../fixtures/policy.ts';

const pods = e2eModel();
const pod = (name: string) => pods.get(name)!;
const lab = labModel();
const world = (ip: string, names?: string[]): WorldEndpoint => ({ kind: 'world', ip, ...(names ? { names } : {}) });
const node = (name: string, kubeApiserver = false): NodeEndpoint => ({ kind: 'node', name, ip: '192.0.2.1', kubeApiserver });

function decide(policies: unknown[], source: Endpoint, destination: Endpoint, protocol: Protocol = 'TCP', port = 80): Decision {
  const set = compilePolicies(policies);
  if (set.rejected.length) throw new Error(`unexpected rejection: ${set.rejected.map((r) => r.reason).join('; ')}`);
  const conn: Connection = { source, destination, protocol, port };
  return evaluateConnection(set, conn);
}

const allowed = (policies: unknown[], source: Endpoint, destination: Endpoint, protocol: Protocol = 'TCP', port = 80) =>
  decide(policies, source, destination, protocol, port).allowed;

const ingressTo = (namespace: string, podName: string, ingress: unknown[], extra: Record<string, unknown> = {}) =>
  ciliumPolicy(namespace, 'cnp', { endpointSelector: { matchLabels: { pod: podName } }, ingress, ...extra });

t.test('fromEndpoints is scoped to the policy namespace unless it names io.kubernetes.pod.namespace', async (t) => {
  const sameNs = ingressTo('x', 'a', [{ fromEndpoints: [{ matchLabels: { pod: 'b' } }] }]);
  t.same([allowed([sameNs], pod('x/b'), pod('x/a')), allowed([sameNs], pod('y/b'), pod('x/a'))], [true, false]);

  const k8sNs = ingressTo('x', 'a', [{ fromEndpoints: [{ matchLabels: { pod: 'b', 'k8s:io.kubernetes.pod.namespace': 'y' } }] }]);
  t.same([allowed([k8sNs], pod('x/b'), pod('x/a')), allowed([k8sNs], pod('y/b'), pod('x/a'))], [false, true]);

  const anyNs = ingressTo('x', 'a', [
    { fromEndpoints: [{ matchLabels: { 'k8s:pod': 'b' }, matchExpressions: [{ key: 'io.kubernetes.pod.namespace', operator: 'In', values: ['y', 'z'] }] }] },
  ]);
  t.same(
    ['x/b', 'y/b', 'z/b', 'y/c'].map((p) => allowed([anyNs], pod(p), pod('x/a'))),
    [false, true, true, false],
    'a plain key matches any label source, in matchExpressions too',
  );

  const allInNs = ingressTo('x', 'a', [{ fromEndpoints: [{}] }]);
  t.same(
    [allowed([allInNs], pod('x/c'), pod('x/a')), allowed([allInNs], pod('z/c'), pod('x/a')), allowed([allInNs], world('198.51.100.7'), pod('x/a'))],
    [true, false, false],
    'an empty selector is every pod of the namespace, nothing else',
  );

  const byNsLabel = ingressTo('x', 'a', [{ fromEndpoints: [{ matchLabels: { 'io.cilium.k8s.namespace.labels.ns': 'z' } }] }]);
  t.same([allowed([byNsLabel], pod('z/b'), pod('x/a')), allowed([byNsLabel], pod('x/b'), pod('x/a'))], [true, false], 'namespace labels lift the scoping');
});

t.test('endpointSelector only ever selects pods of the policy namespace', async (t) => {
  const p = ciliumPolicy('x', 'deny-in', { endpointSelector: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'y' } }, ingress: [{}] });
  t.same([allowed([p], pod('z/a'), pod('x/a')), allowed([p], pod('z/a'), pod('y/a'))], [false, true]);
});

t.test('an empty ingress rule is default deny (unlike NetworkPolicy, where {} allows all)', async (t) => {
  const cnp = ingressTo('x', 'a', [{}]);
  const d = decide([cnp], pod('x/b'), pod('x/a'));
  t.same([d.allowed, d.dropReason, d.ingress.isolated], [false, 'POLICY_DENIED', true]);
  const np = networkPolicy('x', 'np', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{}] });
  t.equal(allowed([np], pod('x/b'), pod('x/a')), true);
});

t.test('toPorts without peers selects every peer on those ports; protocol defaults to ANY', async (t) => {
  const p = ingressTo('x', 'a', [{ toPorts: [{ ports: [{ port: '80' }] }] }]);
  const cases: [string, Endpoint, Protocol, number, boolean][] = [
    ['pod of another namespace, TCP 80', pod('z/c'), 'TCP', 80, true],
    ['world, UDP 80', world('198.51.100.7'), 'UDP', 80, true],
    ['TCP 81', pod('x/b'), 'TCP', 81, false],
  ];
  for (const [what, src, proto, port, want] of cases) t.equal(allowed([p], src, pod('x/a'), proto, port), want, what);
  const range = ingressTo('x', 'a', [{ toPorts: [{ ports: [{ port: '8000', endPort: 8009, protocol: 'tcp' }] }] }]);
  t.same(
    [7999, 8000, 8009, 8010].map((port) => allowed([range], pod('x/b'), pod('x/a'), 'TCP', port)),
    [false, true, true, false],
  );
  const named = ingressTo('x', 'a', [{ toPorts: [{ ports: [{ port: 'Serve-81-TCP' }] }] }]);
  t.same(
    [80, 81].map((port) => allowed([named], pod('x/b'), pod('x/a'), 'TCP', port)),
    [false, true],
    'named ports, case-insensitive',
  );
});

t.test('entities: world, cluster, host and remote-node relative to the pod, kube-apiserver, all', async (t) => {
  const from = (...entities: string[]) => ingressTo('x', 'a', [{ fromEntities: entities }]);
  const sources: [string, Endpoint][] = [
    ['pod', pod('y/b')],
    ['world', world('198.51.100.7')],
    ['own node', node('node-1')],
    ['other node', node('node-2')],
    ['apiserver (external)', { kind: 'world', ip: '198.51.100.10', kubeApiserver: true }],
  ];
  const row = (policy: unknown) => sources.map(([, src]) => (allowed([policy], src, pod('x/a'), 'TCP', 8080) ? 1 : 0));
  const noLocalhost = (policy: unknown, src: Endpoint) => {
    const set = compilePolicies([policy], { allowLocalhost: false });
    return evaluateConnection(set, { source: src, destination: pod('x/a'), protocol: 'TCP', port: 8080 }).allowed;
  };
  // columns:                       pod world own-node other-node apiserver
  t.same(row(from('world')), /*  */ [0, 1, 1, 0, 1], 'world (own node always admitted: allow-localhost)');
  t.same(row(from('cluster')), /**/ [1, 0, 1, 1, 0], 'cluster');
  t.same(row(from('remote-node')), [0, 0, 1, 1, 0], 'remote-node');
  t.same(row(from('kube-apiserver')), [0, 0, 1, 0, 1], 'kube-apiserver');
  t.same(row(from('all')), /*    */ [1, 1, 1, 1, 1], 'all');
  t.equal(noLocalhost(from('world'), node('node-1')), false, 'without allow-localhost the own node needs the host entity');
  t.equal(noLocalhost(from('host'), node('node-1')), true);
  t.equal(noLocalhost(from('host'), node('node-2')), false, 'another node is remote-node, not host');
});

t.test('CIDR and FQDN peers select only the world', async (t) => {
  const cidr = ciliumPolicy('x', 'cidr', {
    endpointSelector: {},
    egress: [{ toCIDRSet: [{ cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] }] }, { toCIDR: ['198.51.100.7'] }],
  });
  t.same(
    [world('203.0.113.1'), world('203.0.113.129'), world('198.51.100.7'), world('198.51.100.8'), pod('y/a')].map((d) =>
      allowed([cidr], pod('x/a'), d, 'TCP', 443),
    ),
    [true, false, true, false, false],
  );
  const fqdn = ciliumPolicy('x', 'fqdn', {
    endpointSelector: {},
    egress: [{ toFQDNs: [{ matchPattern: '*.example.com' }, { matchName: 'api.github.com' }], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] }],
  });
  const cases: [string, Endpoint, number, boolean][] = [
    ['pattern', world('203.0.113.9', ['www.example.com.']), 443, true],
    ['pattern is one label deep', world('203.0.113.9', ['a.b.example.com']), 443, false],
    ['exact name, any case', world('203.0.113.10', ['API.GitHub.com']), 443, true],
    ['no name seen for this IP', world('203.0.113.11'), 443, false],
    ['wrong port', world('203.0.113.9', ['www.example.com']), 80, false],
  ];
  for (const [what, dst, port, want] of cases) t.equal(allowed([fqdn], pod('x/a'), dst, 'TCP', port), want, what);
});

t.test('deny rules win over every allow and report POLICY_DENY with the denying policy', async (t) => {
  const allowAll = networkPolicy('x', 'allow-all', { podSelector: {}, ingress: [{}] });
  const deny = ciliumPolicy('x', 'deny-b-80', {
    endpointSelector: { matchLabels: { pod: 'a' } },
    ingressDeny: [{ fromEndpoints: [{ matchLabels: { pod: 'b' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }],
  });
  const d = decide([allowAll, deny], pod('x/b'), pod('x/a'));
  t.same(
    { allowed: d.allowed, reason: d.dropReason, at: d.dropDirection, deniedBy: d.ingress.deniedBy, allowedBy: d.ingress.allowedBy },
    {
      allowed: false,
      reason: 'POLICY_DENY',
      at: 'ingress',
      deniedBy: [{ kind: 'CiliumNetworkPolicy', name: 'deny-b-80', namespace: 'x' }],
      allowedBy: [{ kind: 'NetworkPolicy', name: 'allow-all', namespace: 'x' }],
    },
  );
  t.equal(allowed([allowAll, deny], pod('x/b'), pod('x/a'), 'TCP', 81), true, 'other ports stay allowed');
  t.equal(allowed([allowAll, deny], pod('x/c'), pod('x/a')), true, 'other peers stay allowed');

  // A deny-only policy still turns default deny on for its direction, unless enableDefaultDeny says otherwise.
  const denyOnly = decide([deny], pod('x/c'), pod('x/a'));
  t.same([denyOnly.allowed, denyOnly.dropReason], [false, 'POLICY_DENIED']);
  const denyNoDefault = ciliumPolicy('x', 'deny-b-80', { ...deny.spec, enableDefaultDeny: { ingress: false } });
  t.equal(allowed([denyNoDefault], pod('x/c'), pod('x/a')), true);
  t.equal(decide([denyNoDefault], pod('x/b'), pod('x/a')).dropReason, 'POLICY_DENY');

  const egressDeny = ciliumPolicy('x', 'no-world', { endpointSelector: {}, egressDeny: [{ toEntities: ['world'] }], enableDefaultDeny: { egress: false } });
  const w = decide([egressDeny], pod('x/a'), world('198.51.100.7'));
  t.same([w.allowed, w.dropReason, w.dropDirection], [false, 'POLICY_DENY', 'egress']);
  t.equal(allowed([egressDeny], pod('x/a'), pod('y/a')), true);
});

t.test('NetworkPolicy and CiliumNetworkPolicy allows add up; any selecting policy isolates the direction', async (t) => {
  const np = networkPolicy('x', 'from-y', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
  });
  const cnp = ingressTo('x', 'a', [{ fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'z' } }] }]);
  t.same(
    ['x/b', 'y/b', 'z/b'].map((p) => allowed([np, cnp], pod(p), pod('x/a'))),
    [false, true, true],
  );
  const d = decide([np, cnp], pod('z/b'), pod('x/a'));
  t.same(d.ingress.allowedBy, [{ kind: 'CiliumNetworkPolicy', name: 'cnp', namespace: 'x' }]);
});

t.test('enableDefaultDeny false leaves unmatched traffic allowed', async (t) => {
  const p = ingressTo('x', 'a', [{ fromEndpoints: [{ matchLabels: { pod: 'b' } }] }], { enableDefaultDeny: { ingress: false } });
  const d = decide([p], pod('z/c'), pod('x/a'));
  t.same([d.allowed, d.ingress.isolated], [true, false]);
});

t.test('a clusterwide policy selects pods of every namespace and its peers are only pods', async (t) => {
  const ccnp = {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    metadata: { name: 'pods-only' },
    spec: { endpointSelector: { matchLabels: { pod: 'c' } }, ingress: [{ fromEndpoints: [{}] }] },
  };
  const cases: [Endpoint, Endpoint, boolean][] = [
    [pod('x/a'), pod('z/c'), true],
    [pod('z/a'), pod('y/c'), true],
    [world('198.51.100.7'), pod('y/c'), false],
    [world('198.51.100.7'), pod('y/b'), true],
  ];
  for (const [src, dst, want] of cases) t.equal(allowed([ccnp], src, dst), want);
  const d = decide([ccnp], pod('x/a'), pod('z/c'));
  t.same(d.ingress.allowedBy, [{ kind: 'CiliumClusterwideNetworkPolicy', name: 'pods-only', namespace: '' }]);
});

t.test('an http rule redirects the port to the proxy with its rules; other peers are dropped', async (t) => {
  const http = ciliumPolicy('genai-network-demo', 'l7', {
    endpointSelector: { matchLabels: { tier: 'processing' } },
    ingress: [
      {
        fromEndpoints: [{ matchLabels: { tier: 'orchestration' } }],
        toPorts: [
          {
            ports: [{ port: '80', protocol: 'TCP' }],
            rules: {
              http: [
                { method: 'GET', path: '/health' },
                { method: 'POST', path: '/process/.*' },
              ],
            },
          },
        ],
      },
    ],
  });
  const d = decide([http], lab.get('coordinator')!, lab.get('doc-1')!);
  t.same(d, {
    allowed: true,
    egress: { enforced: false, isolated: false, allowed: true, allowedBy: [], deniedBy: [], match: 'none', matchedBy: [] },
    ingress: {
      enforced: true,
      isolated: true,
      allowed: true,
      allowedBy: [{ kind: 'CiliumNetworkPolicy', name: 'l7', namespace: 'genai-network-demo' }],
      deniedBy: [],
      match: 'L3-L4',
      matchedBy: [{ kind: 'CiliumNetworkPolicy', name: 'l7', namespace: 'genai-network-demo' }],
      l7: {
        kind: 'http',
        rules: [
          { method: 'GET', path: '/health' },
          { method: 'POST', path: '/process/.*' },
        ],
      },
    },
    l7: {
      ingress: {
        kind: 'http',
        rules: [
          { method: 'GET', path: '/health' },
          { method: 'POST', path: '/process/.*' },
        ],
      },
    },
  });
  const other = decide([http], lab.get('probe')!, lab.get('doc-1')!);
  t.same([other.allowed, other.dropReason, other.l7], [false, 'POLICY_DENIED', undefined]);

  // A plain L4 allow for the same port still goes through the proxy, which then admits every request.
  const l4 = networkPolicy('genai-network-demo', 'l4', { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] });
  t.same(decide([http, l4], lab.get('coordinator')!, lab.get('doc-1')!).l7, { ingress: { kind: 'http', rules: [{}] } });
  t.same(decide([http, l4], lab.get('probe')!, lab.get('doc-1')!).l7, undefined, 'a peer only the L4 rule admits is not redirected');
});

t.test('a dns rule redirects DNS to the DNS proxy; egress and ingress proxies are both reported', async (t) => {
  const dns = ciliumPolicy('genai-network-demo', 'dns', {
    endpointSelector: {},
    egress: [
      {
        toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }],
        toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*.genai-network-demo.svc.cluster.local' }] } }],
      },
      { toEndpoints: [{}] },
    ],
  });
  const udp = decide([dns], lab.get('probe')!, lab.get('kube-dns')!, 'UDP', 53);
  t.same(udp.l7, { egress: { kind: 'dns', rules: [{ matchPattern: '*.genai-network-demo.svc.cluster.local' }] } });
  t.same(decide([dns], lab.get('probe')!, lab.get('kube-dns')!, 'TCP', 53).l7?.egress?.kind, 'dns', 'TCP 53 too (ANY)');
  t.same(decide([dns], lab.get('probe')!, lab.get('kube-dns')!, 'TCP', 9153).dropReason, 'POLICY_DENIED');
  t.same(decide([dns], lab.get('probe')!, lab.get('llm')!, 'TCP', 80).l7, undefined, 'same-namespace traffic is plain L3');

  const ingressHttp = ciliumPolicy('genai-network-demo', 'llm-http', {
    endpointSelector: { matchLabels: { tier: 'inference' } },
    ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'POST' }] } }] }],
  });
  const egressHttp = ciliumPolicy('genai-network-demo', 'doc-http', {
    endpointSelector: { matchLabels: { tier: 'processing' } },
    egress: [
      { toEndpoints: [{ matchLabels: { tier: 'inference' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ path: '/v1/.*' }] } }] },
    ],
  });
  t.same(decide([ingressHttp, egressHttp], lab.get('doc-1')!, lab.get('llm')!).l7, {
    egress: { kind: 'http', rules: [{ path: '/v1/.*' }] },
    ingress: { kind: 'http', rules: [{ method: 'POST' }] },
  });
});

t.test('a policy the agent would refuse is rejected with its reason, and has no effect', async (t) => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    [
      'two kinds of peers',
      { endpointSelector: {}, ingress: [{ fromEndpoints: [{}], fromEntities: ['world'] }] },
      /^spec\.ingress\[0\]: Combining fromEndpoints and fromEntities is not supported yet/,
    ],
    [
      'dns rules on ingress',
      { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '53' }], rules: { dns: [{ matchPattern: '*' }] } }] }] },
      /DNS rules are not allowed on ingress/,
    ],
    [
      'http rules on UDP',
      { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'UDP' }], rules: { http: [{}] } }] }] },
      /L7 rules can only apply to TCP/,
    ],
    [
      'http rules with port 0',
      { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '0', protocol: 'TCP' }], rules: { http: [{}] } }] }] },
      /port is 0/,
    ],
    [
      'invalid path regex',
      { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ path: '/api/(' }] } }] }] },
      /http\[0\]\.path: invalid regular expression/,
    ],
    [
      'lookahead is not RE2',
      { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ path: '/(?!admin).*' }] } }] }] },
      /not RE2 syntax/,
    ],
    [
      'bad dns pattern',
      { endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: '53' }], rules: { dns: [{ matchPattern: 'a+b' }] } }] }] },
      /matchPattern: invalid pattern "a\+b"/,
    ],
    ['unknown entity', { endpointSelector: {}, egress: [{ toEntities: ['internet'] }] }, /toEntities\[0\]: unsupported entity: internet/],
    ['no rule sections', { endpointSelector: {} }, /rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny/],
    ['no selector', { ingress: [{}] }, /rule must have one of EndpointSelector or NodeSelector/],
    ['host policy', { nodeSelector: {}, ingress: [{}] }, /host policies select nodes/],
    ['toServices', { endpointSelector: {}, egress: [{ toServices: [{ k8sService: { serviceName: 'a' } }] }] }, /toServices: is not supported/],
    ['unparsable port', { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '70000' }] }] }] }, /Unable to parse port/],
    ['missing port', { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ protocol: 'TCP' }] }] }] }, /Port must be specified/],
    [
      'L7 on a deny rule',
      { endpointSelector: {}, ingressDeny: [{ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{}] } }] }] },
      /deny rules do not support L7 rules/,
    ],
  ];
  for (const [what, spec, reason] of bad) {
    const set = compilePolicies([ciliumPolicy('x', 'bad', spec)]);
    t.match(set.rejected, [{ kind: 'CiliumNetworkPolicy', name: 'bad', namespace: 'x', reason }], what);
    t.equal(evaluateConnection(set, { source: pod('y/a'), destination: pod('x/a'), protocol: 'TCP', port: 80 }).allowed, true, `${what}: no effect`);
  }
});

t.test('specs: every rule of the list applies with its own selector', async (t) => {
  const p = {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'two', namespace: 'x' },
    specs: [
      { endpointSelector: { matchLabels: { pod: 'a' } }, ingress: [{ fromEndpoints: [{ matchLabels: { pod: 'b' } }] }] },
      { endpointSelector: { matchLabels: { pod: 'b' } }, egress: [{ toEndpoints: [{ matchLabels: { pod: 'c' } }] }] },
    ],
  };
  t.same(
    [allowed([p], pod('x/b'), pod('x/a')), allowed([p], pod('x/c'), pod('x/a')), allowed([p], pod('x/b'), pod('x/c')), allowed([p], pod('x/c'), pod('x/b'))],
    [false, false, true, true],
    'x/b may only egress to x/c, x/a only admits x/b',
  );
});
