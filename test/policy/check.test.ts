// policy check over exports: forwarded flows that would drop, denials that stay or go, the rule behind each edge,
// L7 rules against the requests seen, and what is left unevaluated.
import t from 'tap';
import { synthResponses } from '../fixtures/synth.ts';
import type { Flow } from '../../lib/flows/types.ts';
import { loadManifests } from '../../lib/lab/manifests.ts';
import { compilePolicies, selectorKeys } from '../../lib/policy/evaluate.ts';
import { checkPolicies, formatCheck } from '../../lib/policy/check.ts';
import { ObservationTable, observe } from '../../lib/policy/observations.ts';

const records = synthResponses({ count: 4000, seed: 1 });

async function check(objects: Record<string, unknown>[], table?: ObservationTable) {
  const t = table ?? (await observe(records));
  return checkPolicies(compilePolicies(objects), t.observations(), selectorKeys(objects), t.skipped);
}

t.test("the broken policy: document-agent's egress to inference would drop, and why", async (t) => {
  const broken = loadManifests(new URL('../../manifests/policy/broken-policy.yaml', import.meta.url).pathname);
  const r = await check(broken);
  const edge = r.wouldDrop.edges.find((e) => e.source === 'genai-network-demo/document-agent' && e.destination === 'genai-network-demo/llm-service');
  t.ok(edge);
  t.equal(edge!.decidedBy, 'genai-network-policy selects document-agent (tier=processing) for egress; no egress rule allows tier=inference on TCP/80');
  t.equal(edge!.side, 'egress');
  t.equal(edge!.reason, 'POLICY_DENIED');
  t.same(edge!.rules, [], 'default deny: no rule decides');
  t.equal(edge!.examples.length, 3);
  const table = await observe(records);
  const flows = table
    .observations()
    .filter((o) => o.class === 'forwarded' && o.client.name === edge!.source && o.server.name === edge!.destination)
    .reduce((n, o) => n + o.flows + o.replies, 0);
  t.equal(edge!.flows, flows, 'every flow of the edge, both directions');
  t.equal(
    r.wouldDrop.allowedFlows,
    r.wouldDrop.edges.reduce((n, e) => n + e.flows, 0),
  );
  const coordinator = r.stillDenied.edges.find((e) => e.destination === 'genai-network-demo/agent-coordinator');
  t.match(
    coordinator,
    { source: 'genai-network-demo/document-agent', side: 'egress', decidedBy: /no egress rule allows tier=orchestration on TCP\/80/ },
    'denied before, denied now',
  );
  const llm = r.wouldAllow.edges.find((e) => e.destination === 'genai-network-demo/llm-service');
  t.match(
    llm,
    { source: 'genai-network-demo/traffic-generator', decidedBy: 'no policy selects either end (default allow)' },
    'nothing selects llm-service any more',
  );
  t.match(
    formatCheck(r),
    /^Would drop \(forwarded, now denied\): \d+ flows on \d+ edges\n  genai-network-demo\/traffic-generator → genai-network-demo\/document-agent TCP\/80/,
  );
});

t.test('allowed edges name the rules that allow them', async (t) => {
  const objects = loadManifests(new URL('../../manifests/policy/network-policy.yaml', import.meta.url).pathname);
  const set = compilePolicies(objects);
  const table = await observe(records);
  const doc = table
    .observations()
    .find((o) => o.class === 'forwarded' && o.client.name === 'genai-network-demo/agent-coordinator' && o.server.name === 'genai-network-demo/document-agent')!;
  const r = checkPolicies(set, [doc], selectorKeys(objects));
  t.equal(r.stillAllowed.flows, doc.flows + doc.replies);
  t.equal(r.wouldDrop.allowedFlows, 0);
});

t.test('L7 rules: requests the proxy would refuse are drops, with the requests named', async (t) => {
  const getOnly = {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'get-only', namespace: 'genai-network-demo' },
    spec: {
      endpointSelector: { matchLabels: { tier: 'processing' } },
      ingress: [
        { fromEntities: ['cluster'], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/api/v1/.*' }] } }] },
      ],
    },
  };
  const r = await check([getOnly]);
  const post = r.wouldDrop.edges.find((e) => e.reason === 'L7' && e.source === 'genai-network-demo/agent-coordinator');
  t.ok(post, 'POSTs to document-agent would get 403');
  t.match(post!.decidedBy, /^the ingress proxy refuses POST \/api\/v1\/analyze \(403\)/);
  t.same(post!.requests, ['POST /api/v1/analyze']);
  t.notOk(
    r.wouldDrop.edges.some((e) => e.reason === 'L7' && e.requests?.some((q) => q.startsWith('GET '))),
    'GETs pass',
  );
});

t.test('a deny rule is named with its place in the policy', async (t) => {
  const noWorld = {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'no-world', namespace: 'genai-network-demo' },
    spec: {
      endpointSelector: { matchLabels: { app: 'llm-service' } },
      egress: [{ toEntities: ['all'] }],
      egressDeny: [{ toEntities: ['world'], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] }],
    },
  };
  const r = await check([noWorld]);
  const edge = r.wouldDrop.edges.find((e) => e.destination === 'api.openai.com');
  t.match(edge, { reason: 'POLICY_DENY', side: 'egress', rules: ['no-world spec.egressDeny[0].toPorts[0]'] });
  t.match(
    edge!.decidedBy,
    /deny rule no-world spec\.egressDeny\[0\]\.toPorts\[0\] matches world 104\.18\.7\.192 \(api\.openai\.com\) on TCP\/443, and a deny rule wins over any allow/,
  );
});

t.test('flows that are not policy observations are counted, not evaluated', async (t) => {
  const pod = (name: string) => ({
    identity: 300,
    namespace: 'demo',
    labels: [`k8s:app=${name}`, 'k8s:io.kubernetes.pod.namespace=demo'],
    pod_name: `${name}-0`,
  });
  const base: Flow = { IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' }, source: pod('a'), destination: pod('b'), Type: 'L3_L4' };
  const table = new ObservationTable();
  table.addFlow({ ...base, verdict: 'FORWARDED', l4: { ICMPv4: { type: 8 } } });
  table.addFlow({ ...base, verdict: 'DROPPED', drop_reason_desc: 'CT_MISSING_TCP_ACK_FLAG', l4: { TCP: { source_port: 1, destination_port: 80 } } });
  table.addFlow({ ...base, verdict: 'FORWARDED', event_type: { type: 5 }, l4: { TCP: { source_port: 1, destination_port: 80 } } });
  table.addFlow({
    ...base,
    verdict: 'DROPPED',
    drop_reason: 133,
    event_type: { type: 1, sub_type: 133 },
    traffic_direction: 'INGRESS',
    l4: { TCP: { source_port: 2, destination_port: 80 } },
  });
  const r = await check([], table);
  t.same(r.skipped, {
    'ICMP (policies here cover TCP, UDP and SCTP)': 1,
    'drops for other reasons than policy (CT_MISSING_TCP_ACK_FLAG)': 1,
    'policy-verdict records (the packet is counted once, by its trace or drop flow)': 1,
  });
  t.match(
    r.wouldAllow,
    { flows: 1, edges: [{ source: 'demo/a', destination: 'demo/b', reason: 'POLICY_DENIED' }] },
    'a numeric drop reason is read as the policy denial it is',
  );
  t.match(formatCheck(r), /Not evaluated: 1 ICMP/);
});

t.test('an export of policy verdicts only: each verdict stands for its packet', async (t) => {
  const pod = (name: string) => ({
    identity: 300,
    namespace: 'demo',
    labels: [`k8s:app=${name}`, 'k8s:io.kubernetes.pod.namespace=demo'],
    pod_name: `${name}-0`,
  });
  const verdict = (verdict: 'FORWARDED' | 'DROPPED', port: number): Flow => ({
    verdict,
    IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 40000 + port, destination_port: port, flags: { SYN: true } } },
    source: pod('a'),
    destination: pod('b'),
    Type: 'L3_L4',
    event_type: { type: 5, sub_type: 0 },
    traffic_direction: 'INGRESS',
    ...(verdict === 'DROPPED' ? { drop_reason_desc: 'POLICY_DENIED' } : { is_reply: false }),
  });
  const table = new ObservationTable();
  table.addFlow(verdict('FORWARDED', 80));
  table.addFlow(verdict('DROPPED', 81));
  const only80 = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'only-80', namespace: 'demo' },
    spec: { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] },
  };
  const r = await check([only80], table);
  t.same(r.skipped, {});
  t.equal(r.stillAllowed.flows, 1);
  t.equal(r.stillDenied.flows, 1);

  const mixed = new ObservationTable();
  mixed.addFlow(verdict('FORWARDED', 80));
  mixed.addFlow({ ...verdict('FORWARDED', 80), event_type: { type: 4 } });
  t.equal(
    mixed.observations().reduce((n, o) => n + o.flows, 0),
    1,
    'with packet flows present, verdicts are not counted again',
  );
});
