// What the lab's policies allow, deny and make visible at L7, decided by the policy evaluator over the demo's real pods.
import path from 'node:path';
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseExpectations } from '../../lib/analysis/expectations.ts';
import { compilePolicies, evaluateConnection, type Endpoint, type NodeEndpoint, type PodEndpoint, type Protocol } from '../../lib/policy/index.ts';
import { loadManifests, manifestsDir, policyManifests, type KubeObject } from '../../lib/lab/manifests.ts';

const load = (file: string) => loadManifests(path.join(manifestsDir, file));

/** The pods the lab runs, with the labels their manifests give them, by `namespace/workload` name. */
function labPods(): Map<string, PodEndpoint> {
  const pods = new Map<string, PodEndpoint>();
  for (const o of [...load('demo'), ...load('traffic')] as KubeObject[]) {
    if (!['Deployment', 'Job', 'Pod'].includes(o.kind)) continue;
    const labels = o.kind === 'Pod' ? o.metadata.labels! : (o.spec as any).template.metadata.labels;
    const namespace = o.metadata.namespace!;
    pods.set(`${namespace}/${o.metadata.name}`, {
      kind: 'pod',
      namespace,
      name: o.metadata.name,
      labels: { ...labels, 'io.cilium.k8s.policy.cluster': 'default' },
      nodeName: 'node-a',
    });
  }
  // The cluster's DNS: CoreDNS pods labelled k8s-app=kube-dns.
  pods.set('kube-system/coredns', { kind: 'pod', namespace: 'kube-system', name: 'coredns', labels: { 'k8s-app': 'kube-dns', 'io.cilium.k8s.policy.cluster': 'default' }, nodeName: 'node-b' });
  return pods;
}

const pods = labPods();
const pod = (name: string) => {
  const p = pods.get(name);
  if (!p) throw new Error(`no pod ${name} in the manifests`);
  return p;
};

function decide(objects: unknown[], from: string, to: string, port: number, protocol: Protocol = 'TCP') {
  const set = compilePolicies(objects);
  return { set, decision: evaluateConnection(set, { source: pod(from), destination: pod(to), protocol, port }) };
}

const ns = (name: string) => `genai-network-demo/${name}`;
const [coordinator, document, llm, generator, probe, dns] = ['agent-coordinator', 'document-agent', 'llm-service', 'traffic-generator', 'test-pod'].map(ns).concat('kube-system/coredns');

t.test('every lab policy compiles', async (t) => {
  for (const scenario of ['default', 'broken-policy'] as const) {
    t.same(compilePolicies(policyManifests(scenario)).rejected, [], scenario);
  }
});

t.test('the workflow and DNS are allowed and visible at L7; the probe is dropped', async (t) => {
  const policies = policyManifests('default');
  const http = [[generator, coordinator], [coordinator, document], [document, llm], [generator, llm]];
  for (const [from, to] of http) {
    const { decision } = decide(policies, from!, to!, 80);
    t.equal(decision.allowed, true, `${from} → ${to} allowed`);
    t.equal(decision.l7?.ingress?.kind ?? decision.l7?.egress?.kind, 'http', `${from} → ${to} seen as HTTP`);
  }
  for (const from of [generator, coordinator, document, probe]) {
    const { decision } = decide(policies, from!, dns!, 53, 'UDP');
    t.equal(decision.allowed, true, `${from} → DNS allowed`);
    t.equal(decision.l7?.egress?.kind, 'dns', `${from} → DNS seen by the DNS proxy`);
  }
  for (const from of [probe, generator, llm]) {
    const { decision } = decide(policies, from!, document!, 80);
    t.same([decision.allowed, decision.dropDirection, decision.dropReason], [false, 'ingress', 'POLICY_DENIED'], `${from} → document-agent dropped`);
    t.same(decision.ingress.deniedBy, [], 'by default deny, not a deny rule');
  }
});

t.test('the visibility policies widen nothing the NetworkPolicy restricts', async (t) => {
  const networkPolicyOnly = load('policy/network-policy.yaml');
  const withVisibility = policyManifests('default');
  const names = [...pods.keys()];
  let compared = 0;
  for (const from of names) {
    for (const to of names) {
      if (from === to) continue;
      for (const [port, protocol] of [[80, 'TCP'], [53, 'UDP'], [53, 'TCP'], [8080, 'TCP']] as const) {
        const before = decide(networkPolicyOnly, from, to, port, protocol).decision.allowed;
        const after = decide(withVisibility, from, to, port, protocol).decision.allowed;
        if (after && !before) t.fail(`${from} → ${to}:${port}/${protocol} allowed only because of the visibility policies`);
        if (port === 80 && to !== dns) {
          compared++;
          if (before !== after) t.fail(`${from} → ${to}:80 changed from ${before} to ${after}`);
        }
      }
    }
  }
  t.ok(compared >= 20, `${compared} pod pairs on port 80 decided the same with and without visibility`);
});

t.test('the broken policy drops document-agent → llm-service at its egress, and nothing else changes', async (t) => {
  const good = policyManifests('default');
  const broken = policyManifests('broken-policy');
  const { decision } = decide(broken, document!, llm!, 80);
  t.same([decision.allowed, decision.dropDirection, decision.dropReason], [false, 'egress', 'POLICY_DENIED']);
  for (const [from, to, port, protocol] of [[generator, coordinator, 80, 'TCP'], [coordinator, document, 80, 'TCP'], [generator, llm, 80, 'TCP'], [document, dns, 53, 'UDP'], [probe, document, 80, 'TCP']] as const) {
    t.equal(decide(broken, from!, to!, port, protocol).decision.allowed, decide(good, from!, to!, port, protocol).decision.allowed, `${from} → ${to}`);
  }
});

t.test('expectations.yaml is valid, and the lab\'s policy allows its allowed edges and denies its denied ones', async (t) => {
  const file = path.join(manifestsDir, 'expectations.yaml');
  const expectations = parseExpectations(readFileSync(file, 'utf8'), file);
  const good = policyManifests('default');
  const broken = policyManifests('broken-policy');
  const node: NodeEndpoint = { kind: 'node', name: 'node-a' };
  /** The endpoints a selector of the file names: the node for `host`, else the lab pods its glob matches. */
  const resolve = (sel: { name?: string }): Endpoint[] => {
    if (sel.name === 'host') return [node];
    const glob = new RegExp(`^${sel.name!.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    return [...pods].filter(([name]) => glob.test(name)).map(([, p]) => p);
  };
  const decideAll = (objects: unknown[], rule: (typeof expectations.allow & object)[number]) => {
    const froms = resolve(rule.from);
    const tos = resolve(rule.to);
    t.ok(froms.length && tos.length, `${rule.label} names lab endpoints`);
    const set = compilePolicies(objects);
    return froms.flatMap((source) =>
      tos.filter((d) => d !== source).flatMap((destination) =>
        rule.ports!.map((p) => evaluateConnection(set, { source, destination, port: p.port, protocol: (p.protocol as Protocol) ?? (p.port === 53 ? 'UDP' : 'TCP') }).allowed),
      ),
    );
  };
  let brokenViolations = 0;
  for (const rule of expectations.allow!) {
    t.ok(decideAll(good, rule).every(Boolean), `${rule.label}: allowed`);
    if (!decideAll(broken, rule).every(Boolean)) brokenViolations++;
  }
  for (const rule of expectations.deny!) t.notOk(decideAll(good, rule).some(Boolean), `${rule.label}: denied`);
  t.equal(brokenViolations, 1, 'the broken scenario violates exactly one allowed edge');

  const allowed = new Set(expectations.allow!.map((r) => `${r.from.name} → ${r.to.name}`));
  for (const [from, to] of [[generator, coordinator], [coordinator, document], [document, llm]]) t.ok(allowed.has(`${from} → ${to}`), `the workflow edge ${from} → ${to} is allowed`);
  t.ok(expectations.slo?.default?.maxErrorRate !== undefined);
  for (const edge of expectations.slo!.edges) t.ok(allowed.has(`${edge.from.name} → ${edge.to.name}`), `SLO ${edge.label} is for an allowed edge`);
});
