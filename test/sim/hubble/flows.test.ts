// The sim's flows for a connection: which node sees each packet, directions, reply flags, drops and L7 records.
import t from 'tap';
import type { Flow } from '../../../lib/flows/types.ts';
import { ConnectionFlows, l4Summary, type SimEndpoint } from '../../../lib/sim/hubble/flows.ts';
import { IdentityAllocator, podEndpointLabels, reservedIdentity } from '../../../lib/sim/hubble/identity.ts';

const ids = new IdentityAllocator();
function pod(name: string, app: string, node: string, ip: string): SimEndpoint {
  const labels = podEndpointLabels({ namespace: 'demo', labels: { app }, clusterName: 'sim' });
  return {
    ip,
    node,
    endpoint: { identity: ids.identityFor(labels), namespace: 'demo', labels, pod_name: name, workloads: [{ name: app, kind: 'Deployment' }] },
  };
}

const client = pod('client-5d8c9b7f4-abcde', 'client', 'sim-worker', '127.244.1.5');
const server = pod('web-7f9c8d6b5-xyz12', 'web', 'sim-worker2', '127.244.2.7');

function capture(conn: ConstructorParameters<typeof ConnectionFlows>[0]) {
  const seen: { flow: Flow; node: string }[] = [];
  const flows = new ConnectionFlows(conn, (flow, node) => seen.push({ flow, node }), { clusterName: 'sim' });
  return { flows, seen };
}

t.test('identities: stable per label set, reserved numbers as Cilium', async (t) => {
  t.equal(ids.identityFor(client.endpoint.labels!), client.endpoint.identity);
  t.not(client.endpoint.identity, server.endpoint.identity);
  t.ok(client.endpoint.identity! >= 256);
  t.equal(reservedIdentity.world, 2);
  t.equal(reservedIdentity.host, 1);
  t.ok(client.endpoint.labels!.includes('k8s:io.kubernetes.pod.namespace=demo'));
});

t.test('TCP summaries list flags in Hubble order', async (t) => {
  t.equal(l4Summary('TCP', { ACK: true, SYN: true }), 'TCP Flags: SYN, ACK');
  t.equal(l4Summary('TCP', { FIN: true, ACK: true }), 'TCP Flags: ACK, FIN');
  t.equal(l4Summary('UDP'), 'UDP');
});

t.test('a cross-node handshake is seen leaving one node and arriving at the other', async (t) => {
  const { flows, seen } = capture({ client, server, protocol: 'TCP', clientPort: 40000, serverPort: 80, service: { name: 'web', namespace: 'demo' } });
  flows.packet('client', { SYN: true });
  flows.packet('server', { SYN: true, ACK: true });
  t.same(
    seen.map((s) => [s.node, s.flow.trace_observation_point, s.flow.traffic_direction, s.flow.is_reply, s.flow.Summary]),
    [
      ['sim-worker', 'TO_OVERLAY', 'EGRESS', false, 'TCP Flags: SYN'],
      ['sim-worker2', 'TO_ENDPOINT', 'INGRESS', false, 'TCP Flags: SYN'],
      ['sim-worker2', 'TO_OVERLAY', 'INGRESS', true, 'TCP Flags: SYN, ACK'],
      ['sim-worker', 'TO_ENDPOINT', 'EGRESS', true, 'TCP Flags: SYN, ACK'],
    ],
  );
  const synAck = seen[2]!.flow;
  t.equal(synAck.IP?.source, server.ip, 'a reply flows from the server');
  t.same(synAck.l4, { TCP: { source_port: 80, destination_port: 40000, flags: { SYN: true, ACK: true } } });
  t.same(synAck.source_service, { name: 'web', namespace: 'demo' });
  t.equal(seen[0]!.flow.node_name, 'sim/sim-worker');
  t.same(seen[0]!.flow.event_type, { type: 4, sub_type: 4 });
  t.same(seen[1]!.flow.event_type, { type: 4, sub_type: 0 });
  t.ok(seen[0]!.flow.time! < seen[1]!.flow.time!, 'times increase');
});

t.test('a policy drop is DROPPED with the drop reason, no reply flag, on the enforcing node', async (t) => {
  const { flows, seen } = capture({ client, server, protocol: 'TCP', clientPort: 40001, serverPort: 80 });
  flows.drop('ingress', 'POLICY_DENIED', { SYN: true });
  t.equal(seen.length, 1);
  const { flow, node } = seen[0]!;
  t.equal(node, 'sim-worker2');
  t.match(flow, {
    verdict: 'DROPPED',
    drop_reason: 133,
    drop_reason_desc: 'POLICY_DENIED',
    event_type: { type: 1, sub_type: 133 },
    traffic_direction: 'INGRESS',
    Summary: 'TCP Flags: SYN',
  });
  t.equal(flow.is_reply, undefined);
});

t.test('HTTP through the ingress proxy: REQUEST from the client, RESPONSE from the server with latency', async (t) => {
  const { flows, seen } = capture({ client, server, protocol: 'TCP', clientPort: 40002, serverPort: 80 });
  flows.httpRequest('ingress', { method: 'GET', url: 'http://web/' });
  flows.httpResponse('ingress', { code: 200, method: 'GET', url: 'http://web/', latencyNs: 12_345_678n });
  const [req, resp] = seen.map((s) => s.flow);
  t.match(req, {
    Type: 'L7',
    is_reply: false,
    traffic_direction: 'INGRESS',
    l7: { type: 'REQUEST', http: { method: 'GET', url: 'http://web/', protocol: 'HTTP/1.1' } },
    Summary: 'HTTP/1.1 GET http://web/',
  });
  t.match(resp, {
    Type: 'L7',
    is_reply: true,
    l7: { type: 'RESPONSE', latency_ns: '12345678', http: { code: 200 } },
    Summary: 'HTTP/1.1 200 12ms (GET http://web/)',
  });
  t.equal(resp!.source, server.endpoint);
  t.same(
    seen.map((s) => s.node),
    ['sim-worker2', 'sim-worker2'],
  );
});

t.test("policy verdicts: each on its side's node, before the packet is traced there", async (t) => {
  const { flows, seen } = capture({ client, server, protocol: 'TCP', clientPort: 40003, serverPort: 80, service: { name: 'web', namespace: 'demo' } });
  const allowedBy = [{ name: 'web', namespace: 'demo', kind: 'NetworkPolicy' }];
  flows.packet(
    'client',
    { SYN: true },
    {
      egress: { side: 'egress', verdict: 'FORWARDED', matchType: 3 },
      ingress: { side: 'ingress', verdict: 'REDIRECTED', matchType: 2, policies: allowedBy },
    },
  );
  t.same(
    seen.map((s) => [s.node, s.flow.event_type?.type, s.flow.traffic_direction, s.flow.verdict]),
    [
      ['sim-worker', 5, 'EGRESS', 'FORWARDED'],
      ['sim-worker', 4, 'EGRESS', 'FORWARDED'],
      ['sim-worker2', 5, 'INGRESS', 'REDIRECTED'],
      ['sim-worker2', 4, 'INGRESS', 'FORWARDED'],
    ],
  );
  t.match(seen[2]!.flow, {
    Type: 'L3_L4',
    event_type: { type: 5, sub_type: 0 },
    policy_match_type: 2,
    is_reply: false,
    ingress_allowed_by: allowedBy,
    IP: { source: client.ip, destination: server.ip },
    l4: { TCP: { source_port: 40003, destination_port: 80, flags: { SYN: true } } },
    destination_service: { name: 'web', namespace: 'demo' },
    Summary: 'TCP Flags: SYN',
  });
  t.equal(seen[0]!.flow.egress_allowed_by, undefined, 'no policies named, no field');

  const local = capture({ client, server: { ...server, node: 'sim-worker' }, protocol: 'UDP', clientPort: 40004, serverPort: 53 });
  local.flows.packet('client', undefined, {
    egress: { side: 'egress', verdict: 'FORWARDED', matchType: 4 },
    ingress: { side: 'ingress', verdict: 'FORWARDED', matchType: 1 },
  });
  t.same(
    local.seen.map((s) => [s.node, s.flow.event_type?.type, s.flow.traffic_direction, s.flow.Summary]),
    [
      ['sim-worker', 5, 'EGRESS', 'UDP'],
      ['sim-worker', 5, 'INGRESS', 'UDP'],
      ['sim-worker', 4, 'INGRESS', 'UDP'],
    ],
    'on one node: both verdicts, then the delivery',
  );

  const denied = capture({ client, server, protocol: 'TCP', clientPort: 40005, serverPort: 80 });
  const deniedBy = [{ name: 'deny', namespace: 'demo', kind: 'CiliumNetworkPolicy' }];
  denied.flows.policyVerdict({ side: 'ingress', verdict: 'DROPPED', matchType: 1, dropReason: 'POLICY_DENY', policies: deniedBy }, { SYN: true });
  t.match(denied.seen[0], {
    node: 'sim-worker2',
    flow: { verdict: 'DROPPED', drop_reason: 181, drop_reason_desc: 'POLICY_DENY', policy_match_type: 1, ingress_denied_by: deniedBy },
  });
  t.equal(denied.seen[0]!.flow.is_reply, undefined, 'a dropped verdict has no reply flag');
});
