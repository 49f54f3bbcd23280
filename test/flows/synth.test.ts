// The synthetic Hubble generator: deterministic, canonical jsonpb, and shaped like real Hubble records.
import t from 'tap';
import { FlowSynth, JUNK_LINES, synthJsonpbLines, synthResponses, tcpFlagText } from '../../lib/flows/synth.ts';
import { toJsonpb } from '../../lib/hubble/codec/write.ts';
import type { Flow, GetFlowsResponse } from '../../lib/flows/types.ts';

const flows = (rs: GetFlowsResponse[]): Flow[] => rs.flatMap((r) => (r.flow ? [r.flow] : []));

t.test('the same seed gives the same records; another seed does not', async (t) => {
  const a = [...synthJsonpbLines({ count: 300, seed: 42 })];
  const b = [...synthJsonpbLines({ count: 300, seed: 42 })];
  const c = [...synthJsonpbLines({ count: 300, seed: 43 })];
  t.equal(a.length, 300);
  t.same(a, b);
  t.not(a.join('\n'), c.join('\n'));
});

for (const variant of ['current', 'cilium-1.13'] as const) {
  t.test(`${variant}: records are already in canonical jsonpb form, in time order`, async (t) => {
    const rs = synthResponses({ count: 2000, seed: 5, variant, start: '2024-06-01T12:00:00Z' });
    t.equal(rs.length, 2000);
    t.equal(rs.findIndex((r) => JSON.stringify(r) !== toJsonpb(r)), -1, 'JSON.stringify(record) === toJsonpb(record) for every record');
    t.same(rs[0], { node_status: { state_change: 'NODE_CONNECTED', node_names: ['kind-kind/kind-control-plane', 'kind-kind/kind-worker', 'kind-kind/kind-worker2'] }, time: '2024-06-01T12:00:00Z' });
    const times = rs.map((r) => r.time!);
    const ns = times.map((x) => Date.parse(x) * 1e6 + Number((/\.(\d+)Z$/.exec(x)?.[1] ?? '0').padEnd(9, '0').slice(3)));
    t.equal(ns.findIndex((x, i) => i > 0 && x < ns[i - 1]!), -1, 'times never go back');
  });
}

t.test('the demo topology: namespaces, pods, identities, labels, workloads, world and nodes', async (t) => {
  const fs = flows(synthResponses({ count: 3000, seed: 8 }));
  const pods = new Set(fs.flatMap((f) => [f.source, f.destination]).filter((e) => e?.pod_name).map((e) => `${e!.namespace}/${e!.pod_name}`));
  t.ok([...pods].some((p) => p.startsWith('genai-network-demo/agent-coordinator-')));
  t.equal([...pods].filter((p) => p.startsWith('genai-network-demo/document-agent-')).length, 2, 'two document-agent replicas');
  t.ok([...pods].some((p) => p.startsWith('genai-network-demo/llm-service-')));
  t.ok([...pods].some((p) => p.startsWith('genai-network-demo/traffic-generator-')));
  t.ok([...pods].some((p) => p.startsWith('kube-system/coredns-')));
  const gen = fs.find((f) => f.source?.pod_name?.startsWith('traffic-generator'))!.source!;
  t.same(gen.workloads, [{ name: 'traffic-generator', kind: 'Job' }]);
  t.ok(gen.labels!.includes('k8s:io.kubernetes.pod.namespace=genai-network-demo'));
  t.ok(gen.identity! > 255, 'pods have allocated identities');
  const coord = fs.find((f) => f.destination?.pod_name?.startsWith('agent-coordinator'))!.destination!;
  t.ok(coord.labels!.includes('k8s:tier=orchestration'));
  t.same(coord.workloads, [{ name: 'agent-coordinator', kind: 'Deployment' }]);
  const world = fs.find((f) => f.destination?.identity === 2)!;
  t.same(world.destination!.labels, ['reserved:world']);
  t.same(world.destination_names, ['api.openai.com']);
  t.same([...new Set(fs.map((f) => f.node_name))].sort(), ['kind-kind/kind-control-plane', 'kind-kind/kind-worker', 'kind-kind/kind-worker2']);
  t.ok(fs.every((f) => f.uuid && /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(f.uuid)), 'every flow has a v4 uuid');
  t.ok(fs.every((f) => /\.\d{3,9}Z$|:\d\dZ$/.test(f.time!)), 'times in RFC 3339 with up to ns precision');
  t.ok(fs.some((f) => /\.\d{9}Z$/.test(f.time!)), 'some times need all nine digits');
});

t.test('tcpConnection: SYN, SYN-ACK as reply from the server, ACK, data, FIN; seen at both nodes', async (t) => {
  const s = new FlowSynth({ seed: 3 });
  const client = s.peer('traffic-generator');
  const server = s.peer('llm-service');
  t.not(client.node, server.node, 'they run on different nodes');
  const fs = flows(s.tcpConnection(client, server, 80, { dataPackets: 1, sourcePort: 40000 }));
  t.equal(fs.length, 8 * 2, 'eight packets, each seen at two nodes');
  t.same(fs.filter((_, i) => i % 2 === 0).map((f) => `${f.Summary} ${f.is_reply ? '<-' : '->'}`), [
    'TCP Flags: SYN ->', 'TCP Flags: SYN, ACK <-', 'TCP Flags: ACK ->', 'TCP Flags: ACK, PSH ->', 'TCP Flags: ACK, PSH <-',
    'TCP Flags: ACK, FIN ->', 'TCP Flags: ACK, FIN <-', 'TCP Flags: ACK ->',
  ]);
  const [synOut, synIn, synAckOut] = fs;
  t.match(synOut, { verdict: 'FORWARDED', is_reply: false, traffic_direction: 'EGRESS', trace_observation_point: 'TO_OVERLAY', event_type: { type: 4, sub_type: 4 }, node_name: s.nodes[client.node!], IP: { source: client.ip, destination: server.ip }, l4: { TCP: { source_port: 40000, destination_port: 80, flags: { SYN: true } } } });
  t.match(synIn, { is_reply: false, traffic_direction: 'INGRESS', trace_observation_point: 'TO_ENDPOINT', event_type: { type: 4 }, node_name: s.nodes[server.node!] });
  t.match(synAckOut, { is_reply: true, traffic_direction: 'INGRESS', IP: { source: server.ip, destination: client.ip }, l4: { TCP: { source_port: 80, destination_port: 40000, flags: { SYN: true, ACK: true } } } });
  t.equal(synAckOut!.source!.pod_name, server.endpoint.pod_name, 'a reply comes from the server');
  t.equal(synOut!.source!.ID, client.endpointId, 'the endpoint ID is known on its own node');
  t.equal(synOut!.destination!.ID, undefined, 'and not on the other node');
  t.equal(tcpFlagText({ FIN: true, ACK: true, PSH: true }), 'ACK, FIN, PSH');
});

t.test('httpExchange: requests at client egress and server ingress, responses with latency from the server', async (t) => {
  const s = new FlowSynth({ seed: 4 });
  const client = s.peer('agent-coordinator');
  const server = s.peer('document-agent-0');
  const fs = flows(s.httpExchange(client, server, { method: 'POST', path: '/api/v1/analyze', status: 201, latencyMs: 42 })).filter((f) => f.Type === 'L7');
  t.equal(fs.length, 4);
  const [reqOut, reqIn, respIn, respOut] = fs;
  const url = 'http://document-agent-service.genai-network-demo.svc.cluster.local/api/v1/analyze';
  t.match(reqOut, { traffic_direction: 'EGRESS', is_reply: false, node_name: s.nodes[client.node!], event_type: { type: 129 }, l7: { type: 'REQUEST', http: { method: 'POST', url, protocol: 'HTTP/1.1' } }, Summary: `HTTP/1.1 POST ${url}`, destination_service: { name: 'document-agent-service' } });
  t.match(reqIn, { traffic_direction: 'INGRESS', is_reply: false, node_name: s.nodes[server.node!] });
  t.match(respIn, { traffic_direction: 'INGRESS', is_reply: true, l7: { type: 'RESPONSE', http: { code: 201 } }, Summary: `HTTP/1.1 201 42ms (POST ${url})` });
  t.match(respOut, { traffic_direction: 'EGRESS', is_reply: true });
  t.equal(respIn!.source!.pod_name, server.endpoint.pod_name);
  const latency = BigInt(respIn!.l7!.latency_ns!);
  t.ok(latency >= 42_000_000n && latency < 43_000_000n, `latency_ns ${latency}`);
  t.equal(reqOut!.l7!.latency_ns, undefined, 'requests carry no latency');
  const only = flows(new FlowSynth({ seed: 4 }).httpExchange(client, server, { seenAt: 'ingress', withTcp: false }));
  t.same(only.map((f) => [f.l7!.type, f.traffic_direction]), [['REQUEST', 'INGRESS'], ['RESPONSE', 'INGRESS']]);
});

t.test('dnsLookup: UDP to kube-dns port 53 and L7 DNS query/answer', async (t) => {
  const s = new FlowSynth({ seed: 6 });
  const fs = flows(s.dnsLookup(s.peer('llm-service'), 'api.openai.com', ['104.18.7.192']));
  const udp = fs.filter((f) => f.Type === 'L3_L4');
  t.ok(udp.length >= 2);
  t.ok(udp.every((f) => f.l4?.UDP && (f.l4.UDP.destination_port === 53 || f.l4.UDP.source_port === 53) && f.Summary === 'UDP'));
  const [q, a] = fs.filter((f) => f.Type === 'L7');
  t.match(q, { l7: { type: 'REQUEST', dns: { query: 'api.openai.com.', qtypes: ['A'] } }, Summary: 'DNS Query api.openai.com. A', destination: { namespace: 'kube-system' } });
  t.match(a, { is_reply: true, l7: { type: 'RESPONSE', dns: { ips: ['104.18.7.192'], rrtypes: ['A'] } }, Summary: 'DNS Answer "104.18.7.192" (Query api.openai.com. A)' });
  const nx = flows(s.dnsLookup(s.peer('llm-service'), 'nope.example', [], { rcode: 3 })).filter((f) => f.l7?.type === 'RESPONSE')[0]!;
  t.equal(nx.l7!.dns!.rcode, 3);
  t.equal(nx.Summary, 'DNS Answer RCode: Non-Existent Domain (Query nope.example. A)');
});

t.test('policyDrop: DROPPED with POLICY_DENIED, drop event type, no is_reply, retransmissions', async (t) => {
  const s = new FlowSynth({ seed: 7 });
  const client = s.peer('traffic-generator');
  const server = s.peer('document-agent-1');
  const fs = flows(s.policyDrop(client, server, { retries: 2 }));
  t.equal(fs.length, 3);
  for (const f of fs) {
    t.match(f, { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', event_type: { type: 1, sub_type: 133 }, traffic_direction: 'INGRESS', Summary: 'TCP Flags: SYN', node_name: s.nodes[server.node!] });
    t.notOk('is_reply' in f, 'is_reply is absent on drops');
  }
  const deny = flows(s.policyDrop(client, server, { reason: 'POLICY_DENY', at: 'egress', retries: 0 }))[0]!;
  t.match(deny, { drop_reason_desc: 'POLICY_DENY', event_type: { sub_type: 181 }, traffic_direction: 'EGRESS', node_name: s.nodes[client.node!] });
});

t.test('lost events and relay node status records', async (t) => {
  const s = new FlowSynth({ seed: 1, start: '2025-01-01T00:00:00Z' });
  t.same(s.lostEvents(1, 37), { lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '37' }, node_name: 'kind-kind/kind-worker', time: '2025-01-01T00:00:00Z' });
  t.same(s.lostEvents(0, 5, 'PERF_EVENT_RING_BUFFER').lost_events, { source: 'PERF_EVENT_RING_BUFFER', num_events_lost: '5', cpu: 0 });
  t.same(s.nodeStatus('NODE_UNAVAILABLE', [2], 'connection refused').node_status, { state_change: 'NODE_UNAVAILABLE', node_names: ['kind-kind/kind-worker2'], message: 'connection refused' });
  const long = synthResponses({ count: 9000, seed: 2 });
  t.ok(long.some((r) => r.lost_events), 'a long run has lost events');
  t.ok(long.some((r) => r.node_status?.state_change === 'NODE_UNAVAILABLE'), 'and a node that became unavailable');
});

t.test('cilium-1.13 variant: the older field set', async (t) => {
  const fs = flows(synthResponses({ count: 600, seed: 9, variant: 'cilium-1.13' }));
  t.ok(fs.every((f) => f.uuid === undefined && f.emitter === undefined && f.node_labels === undefined && f.trace_reason === undefined));
  t.ok(fs.every((f) => f.source?.cluster_name === undefined));
  t.ok(fs.some((f) => f.trace_observation_point === 'TO_ENDPOINT'));
  t.ok(fs.some((f) => f.source?.workloads?.length));
  t.ok(fs.filter((f) => f.is_reply === true).every((f) => f.reply === true), 'the deprecated reply field is set on replies');
  const current = flows(synthResponses({ count: 600, seed: 9 }));
  t.ok(current.every((f) => f.reply === undefined));
  t.ok(current.filter((f) => f.Type === 'L3_L4' && f.verdict === 'FORWARDED').every((f) => f.trace_reason));
});

t.test('unknown fields and junk lines on request', async (t) => {
  const plain = [...synthJsonpbLines({ count: 30, seed: 2 })];
  const future = [...synthJsonpbLines({ count: 30, seed: 2, unknownFields: true })];
  t.notOk(plain.some((l) => l.includes('future_')));
  t.ok(future.every((l) => l.includes('"future_cursor"')));
  t.ok(future.some((l) => l.includes('"future_zone"') && l.includes('"future_sampling"')));
  const junky = [...synthJsonpbLines({ count: 30, seed: 2, junkEvery: 10 })];
  t.equal(junky.length, 33);
  t.same([junky[10], junky[21], junky[32]], JUNK_LINES.slice(0, 3).map((j) => j.text));
  const bare = [...synthJsonpbLines({ count: 30, seed: 2, bareFlows: true })];
  t.ok(bare.every((l) => !l.startsWith('{"flow"') && !l.includes('node_status')));
});
