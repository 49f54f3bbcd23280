// Policies suggested from exports: least privilege (the traffic seen, nothing more), stable selectors, comments with
// edges and counts, deterministic bytes, and the round trip: checked against the export they came from, nothing
// forwarded drops and everything denied stays denied.
import t from 'tap';
import { Readable } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { readResponses } from '../../lib/hubble/codec/read.ts';
import { synthResponses } from '../fixtures/synth.ts';
import type { GetFlowsResponse } from '../../lib/flows/types.ts';
import { compilePolicies, selectorKeys } from '../../lib/policy/evaluate.ts';
import { checkPolicies } from '../../lib/policy/check.ts';
import { ObservationTable, observe } from '../../lib/policy/observations.ts';
import { pathTemplate, suggestPolicies, suggestionYaml, type SuggestOptions } from '../../lib/policy/suggest.ts';
import { stableLabels } from '../../lib/policy/stable-labels.ts';
import { buildScenario } from '../fixtures/scenario.ts';

async function tableOfLines(lines: string[]): Promise<ObservationTable> {
  return observe(readResponses({ stream: Readable.from([lines.join('\n') + '\n']), name: 'export' }));
}

function roundTrip(table: ObservationTable, opts: SuggestOptions) {
  const observations = table.observations();
  const suggestion = suggestPolicies(observations, opts);
  // What a user applies: the YAML text, parsed again.
  const objects = parseAllDocuments(suggestionYaml(suggestion)).map((d) => d.toJS());
  const set = compilePolicies(objects, table.clusterName ? { clusterName: table.clusterName } : {});
  const result = checkPolicies(set, observations, selectorKeys(objects));
  // An edge seen both forwarded and denied (policy changed during the capture): what got through is allowed.
  const forwarded = new Set(observations.filter((o) => o.class === 'forwarded').map((o) => o.connKey));
  const deniedObs = observations.filter((o) => o.class === 'denied');
  const denied = deniedObs.filter((o) => !forwarded.has(o.connKey)).reduce((n, o) => n + o.flows, 0);
  const conflicting = deniedObs.filter((o) => forwarded.has(o.connKey)).reduce((n, o) => n + o.flows, 0);
  return { suggestion, objects, set, result, denied, conflicting };
}

t.test('stable labels: app, tier and app.kubernetes.io/*, never generated ones', async (t) => {
  t.same(stableLabels({ app: 'web', tier: 'front', 'pod-template-hash': '7d9f8b6c5d', version: 'v2' }), { app: 'web', tier: 'front' });
  t.same(stableLabels({ 'app.kubernetes.io/name': 'db', 'app.kubernetes.io/version': '1.2.3', 'controller-uid': 'x' }), { 'app.kubernetes.io/name': 'db' });
  t.same(
    stableLabels({ 'job-name': 'gen', 'batch.kubernetes.io/job-name': 'gen', 'batch.kubernetes.io/controller-uid': 'u', 'controller-uid': 'u', run: 'gen' }),
    { run: 'gen' },
    'only generated labels besides run',
  );
  t.same(stableLabels({ 'k8s-app': 'kube-dns', 'pod-template-hash': 'abc' }), { 'k8s-app': 'kube-dns' });
  t.same(
    stableLabels({ 'statefulset.kubernetes.io/pod-name': 'db-0', 'controller-revision-hash': 'db-5f', 'apps.kubernetes.io/pod-index': '0' }),
    {},
    'nothing stable is left',
  );
});

t.test('paths are templated from those seen', async (t) => {
  t.equal(pathTemplate('/api/v1/results/123'), '/api/v1/results/[^/]+');
  t.equal(pathTemplate('/api/v1/results/doc_123'), '/api/v1/results/[^/]+');
  t.equal(pathTemplate('/api/v2beta1/items/9f86d081884c7d65/parts'), '/api/v2beta1/items/[^/]+/parts');
  t.equal(pathTemplate('/healthz'), '/healthz');
  t.equal(pathTemplate('/search.json?q=1'), '/search\\.json(\\?.*)?', 'a query seen allows any query; dots are literal');
  t.equal(pathTemplate('/'), '/');
});

t.test('round trip on a lab export: nothing forwarded drops, every denied flow stays denied', async (t) => {
  for (const seed of [1, 2, 3]) {
    const table = await observe(synthResponses({ count: 4000, seed }));
    for (const format of ['k8s', 'cilium'] as const) {
      const { result, denied, conflicting, set } = roundTrip(table, { format });
      t.same(set.rejected, [], `seed ${seed} ${format}: the suggestion compiles`);
      t.equal(result.wouldDrop.allowedFlows, 0, `seed ${seed} ${format}: no forwarded flow would drop`);
      t.equal(result.wouldAllow.flows, conflicting, `seed ${seed} ${format}: only denials of connections also seen forwarded would be allowed`);
      t.equal(result.stillDenied.flows, denied, `seed ${seed} ${format}: ${denied} denied flows stay denied`);
      t.ok(denied > 0, 'the export has denied flows');
    }
  }
});

t.test('round trip on the scenario export: probes, kubelet probes, the world, non-policy drops', async (t) => {
  const scenario = buildScenario({ seed: 5, scale: 0.5 });
  const table = await tableOfLines(scenario.lines);
  const { result, suggestion, denied, conflicting } = roundTrip(table, { format: 'cilium', namespaces: ['genai-network-demo', 'default'] });
  t.equal(conflicting, 0);
  t.equal(result.wouldDrop.allowedFlows, 0);
  t.equal(result.wouldAllow.flows, 0);
  t.equal(result.stillDenied.flows, denied);
  t.equal(denied, scenario.truth.policyDenied, 'every policy drop of the export is evaluated');
  const probe = result.stillDenied.edges.find((e) => e.source === 'default/test-pod');
  t.ok(probe, 'the policy-violation probe stays denied');
  t.equal(
    probe!.decidedBy,
    'test-pod-from-flows selects test-pod (run=test-pod) for egress; no egress rule allows app=document-agent, tier=processing in namespace genai-network-demo on TCP/80',
    'the probe has a policy of its own now',
  );
  t.match(
    table.skipped.get('forwarded at the source but denied at the destination (counted with the drops)'),
    Number,
    'the probe SYNs forwarded to the overlay are not traffic that got through',
  );
  t.ok(
    [...table.skipped.keys()].some((k) => /other reasons than policy \(STALE_OR_UNROUTABLE_IP\)/.test(k)),
    'drops that are not policy are skipped',
  );
  const coordinator = suggestion.policies.find((p) => p.workload === 'genai-network-demo/agent-coordinator')!;
  t.match(
    coordinator.yaml,
    /Its own node reaches it without a rule \(Cilium allows the host; kubelet probes\):\n#\s+host → genai-network-demo\/agent-coordinator TCP\/80: \d+ flows/,
  );
  t.notMatch(coordinator.yaml, /fromEntities:\n\s+- host/, 'no rule for the host');
  const llm = suggestion.policies.find((p) => p.workload === 'genai-network-demo/llm-service')!;
  t.match(llm.yaml, /toFQDNs:\n\s+- matchName: api\.openai\.com/, 'the world by the name it was reached by');
  t.match(llm.yaml, /rules:\n\s+dns:\n\s+- matchPattern: "\*"/, 'DNS through the proxy, so that the FQDN rule learns its IPs');
});

t.test('k8s format: namespaceSelector plus podSelector, DNS on UDP and TCP 53, counts in comments', async (t) => {
  const table = await observe(synthResponses({ count: 3000, seed: 2 }));
  const { suggestion, objects } = roundTrip(table, { format: 'k8s' });
  t.same(
    suggestion.policies.map((p) => p.name),
    ['agent-coordinator-from-flows', 'document-agent-from-flows', 'llm-service-from-flows', 'traffic-generator-from-flows'],
  );
  const doc = objects.find((o) => o.metadata.name === 'document-agent-from-flows');
  t.same(doc.spec.podSelector, { matchLabels: { app: 'document-agent', tier: 'processing' } });
  t.same(doc.spec.policyTypes, ['Ingress', 'Egress']);
  t.same(doc.spec.ingress[0], {
    from: [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'genai-network-demo' } },
        podSelector: { matchLabels: { app: 'agent-coordinator', tier: 'orchestration' } },
      },
    ],
    ports: [{ protocol: 'TCP', port: 80 }],
  });
  t.same(doc.spec.egress[0], {
    to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
  });
  const generator = objects.find((o) => o.metadata.name === 'traffic-generator-from-flows');
  t.same(generator.spec.podSelector, { matchLabels: { app: 'traffic-generator' } }, 'not job-name or batch.kubernetes.io/job-name');
  t.equal(generator.spec.ingress, undefined, 'nothing calls the generator: ingress closed');

  // The counts in the comments are the flows of the edge, both directions, as the observations hold them.
  const edge = table
    .observations()
    .filter(
      (o) => o.class === 'forwarded' && o.client.name === 'genai-network-demo/agent-coordinator' && o.server.name === 'genai-network-demo/document-agent',
    );
  const flows = edge.reduce((n, o) => n + o.flows + o.replies, 0);
  const docYaml = suggestion.policies.find((p) => p.name === 'document-agent-from-flows')!.yaml;
  t.match(docYaml, `  ingress:\n    # genai-network-demo/agent-coordinator → genai-network-demo/document-agent TCP/80: ${flows} flows\n    - from:`);
  const world = objects.find((o) => o.metadata.name === 'llm-service-from-flows').spec.egress.find((r: any) => r.to[0].ipBlock);
  t.same(world, { to: [{ ipBlock: { cidr: '104.18.7.192/32' } }], ports: [{ protocol: 'TCP', port: 443 }] }, 'the world by /32 in a NetworkPolicy');
});

t.test('deterministic: the same flows in another order give the same bytes', async (t) => {
  const records = synthResponses({ count: 2500, seed: 4 });
  const shuffled = [...records];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  for (const format of ['k8s', 'cilium'] as const) {
    const a = suggestionYaml(suggestPolicies((await observe(records)).observations(), { format, l7: format === 'cilium' }));
    const b = suggestionYaml(suggestPolicies((await observe(shuffled)).observations(), { format, l7: format === 'cilium' }));
    t.equal(a, b, format);
  }
});

t.test('--l7: HTTP method and templated path rules, which the traffic seen passes', async (t) => {
  const table = await observe(synthResponses({ count: 4000, seed: 1 }));
  const { objects, result } = roundTrip(table, { format: 'cilium', l7: true });
  const doc = objects.find((o) => o.metadata.name === 'document-agent-from-flows');
  const fromGenerator = doc.spec.ingress.find((r: any) => r.fromEndpoints[0].matchLabels.app === 'traffic-generator');
  const http = fromGenerator.toPorts[0].rules.http;
  t.has(http, [{ method: 'GET', path: '/api/v1/nonexistent' }], 'routes as seen');
  t.ok(
    http.some((r: any) => r.method === 'GET' && r.path === '/api/v1/results/[^/]+'),
    'ids templated',
  );
  t.ok(http.every((r: any) => !/doc_123/.test(r.path)));
  t.equal(result.wouldDrop.allowedFlows, 0, 'every request seen passes its proxy');
});

t.test('scope: --namespace picks the workloads that get policies', async (t) => {
  const table = await observe(synthResponses({ count: 2000, seed: 2 }));
  t.same(
    suggestPolicies(table.observations(), { format: 'k8s', namespaces: ['kube-system'] }).policies.map((p) => p.workload),
    ['kube-system/coredns'],
  );
  t.same(suggestPolicies(table.observations(), { format: 'k8s', namespaces: ['elsewhere'] }).policies, []);
});

function realExport(): GetFlowsResponse[] {
  // What a real cluster exports: `k8s:` labels only (no namespace field, no pod_name), reserved identities by label
  // or by number only, the API server, and kubelet probes.
  const web = {
    identity: 48812,
    labels: [
      'k8s:app.kubernetes.io/name=web',
      'k8s:io.kubernetes.pod.namespace=shop',
      'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=shop',
      'k8s:io.cilium.k8s.policy.cluster=prod',
      'k8s:io.cilium.k8s.policy.serviceaccount=web',
      'k8s:pod-template-hash=6f7d8c9b4',
    ],
  };
  const api = {
    identity: 51234,
    namespace: 'shop',
    labels: ['k8s:app.kubernetes.io/name=api', 'k8s:io.kubernetes.pod.namespace=shop', 'k8s:io.cilium.k8s.policy.cluster=prod'],
    pod_name: 'api-5d4c8b7f9-2xk8p',
  };
  const flow = (src: object, dst: object, srcIp: string, dstIp: string, port: number, extra: object = {}): GetFlowsResponse => ({
    flow: {
      verdict: 'FORWARDED',
      IP: { source: srcIp, destination: dstIp, ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 40000, destination_port: port, flags: { SYN: true } } },
      source: src,
      destination: dst,
      Type: 'L3_L4',
      event_type: { type: 4, sub_type: 0 },
      trace_observation_point: 'TO_ENDPOINT',
      is_reply: false,
      ...extra,
    },
  });
  return [
    flow(web, api, '10.0.1.5', '10.0.2.7', 8080),
    flow(web, api, '10.0.1.5', '10.0.2.7', 8080),
    flow({ identity: 1, labels: ['reserved:host'] }, web, '10.0.1.1', '10.0.1.5', 8080),
    flow({ identity: 7 }, web, '172.18.0.2', '10.0.1.5', 9443, {}),
    flow(api, { identity: 7, labels: ['reserved:kube-apiserver', 'reserved:world'] }, '10.0.2.7', '172.18.0.2', 6443),
    flow(api, { identity: 6, labels: ['reserved:remote-node'] }, '10.0.2.7', '172.18.0.3', 10250),
    flow(api, { identity: 2, labels: ['reserved:world'] }, '10.0.2.7', '93.184.216.34', 443, { destination_names: ['example.com'] }),
    flow({ identity: 4, labels: ['reserved:health'] }, api, '10.0.0.9', '10.0.2.7', 4240),
  ];
}

t.test('real export shapes: k8s: labels, reserved identities, endpoints without pod names', async (t) => {
  const table = await observe(realExport());
  t.equal(table.clusterName, 'prod');
  t.same([...table.skipped.entries()], [['flows from the reserved identity health', 1]]);
  const cilium = roundTrip(table, { format: 'cilium' });
  t.equal(cilium.result.wouldDrop.allowedFlows, 0, 'cilium: everything seen is allowed');
  const web = cilium.objects.find((o) => o.metadata.name === 'web-from-flows');
  t.same(web.spec.endpointSelector, { matchLabels: { 'app.kubernetes.io/name': 'web' } }, 'selected without pod-template-hash');
  t.same(
    web.spec.ingress,
    [{ fromEntities: ['kube-apiserver'], toPorts: [{ ports: [{ port: '9443', protocol: 'TCP' }] }] }],
    'the webhook call from the API server; the host needs no rule',
  );
  const api = cilium.objects.find((o) => o.metadata.name === 'api-from-flows');
  t.same(api.spec.ingress[0].fromEndpoints, [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'shop', 'app.kubernetes.io/name': 'web' } }]);
  t.same(
    api.spec.egress.slice(1).map((r: any) => Object.keys(r)[0] + ':' + JSON.stringify(Object.values(r)[0])),
    ['toEntities:["remote-node"]', 'toEntities:["kube-apiserver"]', 'toFQDNs:[{"matchName":"example.com"}]'],
  );

  const k8s = roundTrip(table, { format: 'k8s' });
  t.match(k8s.suggestion.notes.join('\n'), /a NetworkPolicy cannot allow traffic with nodes/);
  t.same(
    k8s.result.wouldDrop.edges.map((e) => `${e.source} → ${e.destination}`).sort(),
    ['shop/api → remote-node'],
    'what a NetworkPolicy cannot express is said, and check shows it dropping',
  );
});

t.test('a workload whose labels also match another workload’s pods excludes them', async (t) => {
  const pod = (labels: string[], ip: string) => ({
    identity: 1000 + Number(ip.split('.').pop()),
    namespace: 'shop',
    labels: [...labels, 'k8s:io.kubernetes.pod.namespace=shop'],
  });
  const web = pod(['k8s:app=web'], '10.0.0.1');
  const db = pod(['k8s:app=web', 'k8s:tier=db'], '10.0.0.2');
  const client = pod(['k8s:app=client'], '10.0.0.3');
  const conn = (src: object, dst: object, srcIp: string, dstIp: string, port: number): GetFlowsResponse => ({
    flow: {
      verdict: 'FORWARDED',
      IP: { source: srcIp, destination: dstIp },
      l4: { TCP: { source_port: 40000, destination_port: port } },
      source: src,
      destination: dst,
      trace_observation_point: 'TO_ENDPOINT',
      is_reply: false,
    },
  });
  const table = await observe([conn(client, web, '10.0.0.3', '10.0.0.1', 80), conn(web, db, '10.0.0.1', '10.0.0.2', 5432)]);
  const { objects, result } = roundTrip(table, { format: 'k8s' });
  t.equal(result.wouldDrop.allowedFlows, 0);
  t.same(
    objects.map((o) => o.metadata.name),
    ['client-from-flows', 'web-db-from-flows', 'web-from-flows'],
    'names told apart',
  );
  const webPolicy = objects.find((o) => o.metadata.name === 'web-from-flows');
  t.same(webPolicy.spec.podSelector, { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] });
  t.same(webPolicy.spec.egress[1].to[0].podSelector, { matchLabels: { app: 'web', tier: 'db' } }, 'the narrower workload needs no exclusion');
  const clientPolicy = objects.find((o) => o.metadata.name === 'client-from-flows');
  t.same(
    clientPolicy.spec.egress[1].to[0].podSelector.matchExpressions,
    [{ key: 'tier', operator: 'DoesNotExist' }],
    'nor does a peer selector reach the other workload',
  );
  // client → db was never seen: it must stay closed, which it would not if web's selector reached db's pods.
  const probe = await observe([conn(client, db, '10.0.0.3', '10.0.0.2', 80)]);
  const set = compilePolicies(objects);
  t.equal(checkPolicies(set, probe.observations(), selectorKeys(objects)).wouldDrop.allowedFlows, 1);
});
