// Hubble metrics in the sim's agents: hubble-metrics parsed as Cilium parses it, the metrics computed from the flows
// each agent records, served on the agent pod's metrics port in text format or OpenMetrics with exemplars.
import t, { type Test } from 'tap';
import { request } from 'undici';
import { startHubbleAgent } from '../../../lib/sim/hubble/agent.ts';
import { AgentConfigError, hubbleAgentConfig } from '../../../lib/sim/hubble/agent-config.ts';
import { ConnectionFlows } from '../../../lib/sim/hubble/flows.ts';
import { SimHubble } from '../../../lib/sim/hubble/hub.ts';
import { parseMetricList } from '../../../lib/sim/hubble/metrics-config.ts';
import { parseExposition, sumSamples } from '../../../lib/metrics/exposition.ts';
import { agentPod, clusterName, demoEndpoint, forwardTo, nodeIP, nodes, synFlows, testDatapath } from './fixtures.ts';

const labMetrics =
  'dns:query;ignoreAAAA drop:sourceContext=workload-name|reserved-identity;destinationContext=workload-name|reserved-identity tcp ' +
  'flow:sourceContext=workload-name|reserved-identity;destinationContext=workload-name|reserved-identity port-distribution icmp ' +
  'httpV2:exemplars=true;sourceContext=workload-name|reserved-identity;destinationContext=workload-name|reserved-identity;' +
  'labelsContext=source_namespace,source_workload,destination_namespace,destination_workload,traffic_direction ' +
  'policy:sourceContext=workload-name|reserved-identity;destinationContext=workload-name|reserved-identity flows-to-world';

function config(metrics = labMetrics, extra: Record<string, string> = {}) {
  return hubbleAgentConfig({
    'enable-hubble': 'true',
    'hubble-listen-address': ':4244',
    'hubble-metrics-server': ':9965',
    'hubble-metrics': metrics,
    ...extra,
  });
}

async function cluster(t: Test, cfg = config()) {
  const hub = new SimHubble({ clusterName });
  const dp = await testDatapath(t);
  const pods = nodes.map((n) => agentPod(dp, n));
  for (const [i, node] of nodes.entries()) {
    const agent = await startHubbleAgent({ hub, node, ip: nodeIP(node), config: cfg, net: pods[i]!, version: '1.19.1' });
    t.teardown(() => agent.stop());
  }
  return { hub, pods };
}

async function scrape(t: Test, pod: ReturnType<typeof agentPod>, accept?: string) {
  const fwd = await forwardTo(t, pod, 9965);
  const res = await request(`http://${fwd.address}/metrics`, accept ? { headers: { accept } } : {});
  const text = await res.body.text();
  return { status: res.statusCode, type: String(res.headers['content-type']), text };
}

/** A demo connection across two nodes: handshake, a policy-allowed HTTP exchange seen by both proxies, a drop, DNS. */
function traffic(hub: SimHubble, n: number): void {
  const client = demoEndpoint('agent-coordinator-5d9c7b8f4-abcde', 'agent-coordinator', 'sim-worker', '127.244.1.10');
  const server = demoEndpoint('llm-service-6f8b9c7d5-fghij', 'llm-service', 'sim-worker2', '127.244.2.11');
  for (let i = 0; i < n; i++) {
    const conn = new ConnectionFlows({ client, server, protocol: 'TCP', clientPort: 41000 + i, serverPort: 8080 }, hub.sink, { clusterName });
    conn.packet(
      'client',
      { SYN: true },
      { egress: { side: 'egress', verdict: 'FORWARDED', matchType: 2 }, ingress: { side: 'ingress', verdict: 'REDIRECTED', matchType: 2 } },
    );
    conn.packet('server', { SYN: true, ACK: true });
    conn.httpRequest('ingress', { method: 'POST', url: 'http://llm-service:8080/v1/generate' });
    conn.httpResponse('ingress', {
      code: i % 4 === 0 ? 503 : 200,
      method: 'POST',
      url: 'http://llm-service:8080/v1/generate',
      latencyNs: BigInt(20_000_000 + i * 1_000_000),
    });
    conn.packet('client', { FIN: true, ACK: true });
  }
  const denied = new ConnectionFlows({ client: server, server: client, protocol: 'TCP', clientPort: 42000, serverPort: 8080 }, hub.sink, { clusterName });
  denied.drop('ingress', 'POLICY_DENIED', { SYN: true });
  const dns = new ConnectionFlows({ client, server: { ...server, ip: '127.96.0.10' }, protocol: 'UDP', clientPort: 43000, serverPort: 53 }, hub.sink, {
    clusterName,
  });
  dns.dnsRequest('llm-service.demo.svc.cluster.local.', ['A']);
  dns.dnsResponse({
    query: 'llm-service.demo.svc.cluster.local.',
    qtypes: ['A'],
    ips: ['127.96.1.5'],
    ttl: 30,
    rcode: 0,
    rrtypes: ['A'],
    latencyNs: 1_000_000n,
  });
}

t.test('hubble_flows_processed_total summed over the agents equals the flows the cluster emitted', async (t) => {
  const { hub, pods } = await cluster(t);
  traffic(hub, 12);
  synFlows(hub, 'sim-control-plane', 3);
  const emitted = hub.stats().flows.emitted;
  t.ok(emitted > 50, `${emitted} flows emitted`);
  let total = 0;
  const perNode: Record<string, number> = {};
  for (const [i, pod] of pods.entries()) {
    const s = parseExposition((await scrape(t, pod)).text);
    perNode[nodes[i]!] = sumSamples(s, 'hubble_flows_processed_total');
    total += perNode[nodes[i]!]!;
  }
  t.equal(total, emitted, 'every recorded flow is counted once, by the agent of the node that recorded it');
  t.same(perNode, hub.stats().flows.byNode, 'per node too');
});

t.test('names, labels and values are Hubble’s', async (t) => {
  const { hub, pods } = await cluster(t);
  traffic(hub, 8);
  const worker = parseExposition((await scrape(t, pods[1]!)).text); // the client's node
  const worker2 = parseExposition((await scrape(t, pods[2]!)).text); // the server's node
  const both = (name: string, m: Record<string, string> = {}) => sumSamples(worker, name, m) + sumSamples(worker2, name, m);

  t.equal(
    both('hubble_flows_processed_total', { type: 'Trace', subtype: 'to-endpoint', protocol: 'TCP', verdict: 'FORWARDED' }),
    24,
    'SYN, SYN-ACK and FIN-ACK arrive at an endpoint per connection',
  );
  t.equal(both('hubble_flows_processed_total', { type: 'Trace', subtype: 'to-overlay', source: 'agent-coordinator', destination: 'llm-service' }), 16);
  t.equal(both('hubble_flows_processed_total', { type: 'L7', subtype: 'HTTP', protocol: 'HTTP' }), 16);
  t.equal(both('hubble_flows_processed_total', { type: 'PolicyVerdict', verdict: 'REDIRECTED' }), 8);
  t.equal(both('hubble_drop_total', { reason: 'POLICY_DENIED', protocol: 'TCP', source: 'llm-service', destination: 'agent-coordinator' }), 1);
  t.equal(both('hubble_tcp_flags_total', { flag: 'SYN', family: 'IPv4' }), 32, 'both policy verdicts and both traces of each SYN carry the flag');
  t.equal(both('hubble_tcp_flags_total', { flag: 'SYN-ACK', family: 'IPv4' }), 16);
  t.equal(
    both('hubble_port_distribution_total', { protocol: 'TCP', port: '8080' }),
    56,
    'request-direction flows only: 2 verdicts, 2 SYN and 2 FIN traces, 1 HTTP request per connection',
  );
  t.equal(both('hubble_port_distribution_total', { protocol: 'TCP', port: '41000' }), 0, 'never a reply’s ephemeral port');
  t.equal(both('hubble_policy_verdicts_total', { direction: 'ingress', match: 'l3-l4', action: 'redirected' }), 8);
  t.equal(both('hubble_policy_verdicts_total', { direction: 'egress', match: 'l3-l4', action: 'forwarded' }), 8);
  t.equal(both('hubble_policy_verdicts_total', { direction: 'ingress', match: 'l7/http', action: 'forwarded' }), 16);

  const http = {
    source: 'agent-coordinator',
    destination: 'llm-service',
    source_workload: 'agent-coordinator',
    destination_workload: 'llm-service',
    source_namespace: 'demo',
    destination_namespace: 'demo',
    traffic_direction: 'ingress',
    method: 'POST',
    protocol: 'HTTP/1.1',
    reporter: 'server',
  };
  t.equal(both('hubble_http_requests_total', { ...http, status: '200' }), 6, 'httpV2 counts responses, client → server from the response flow');
  t.equal(both('hubble_http_requests_total', { ...http, status: '503' }), 2);
  const hist = { ...http } as Record<string, string>;
  delete hist.status;
  delete hist.protocol;
  t.equal(both('hubble_http_request_duration_seconds_count', hist), 8);
  t.equal(both('hubble_http_request_duration_seconds_bucket', { ...hist, le: '0.025' }), 6, '20–25 ms');
  t.equal(both('hubble_http_request_duration_seconds_bucket', { ...hist, le: '+Inf' }), 8);
  t.equal(both('hubble_dns_queries_total', { rcode: '', qtypes: 'A', ips_returned: '0', query: 'llm-service.demo.svc.cluster.local.' }), 1);
  t.equal(both('hubble_dns_responses_total', { rcode: 'No Error', qtypes: 'A', ips_returned: '1' }), 1);
  t.equal(both('hubble_dns_response_types_total', { type: 'A', qtypes: 'A' }), 1);
  for (const f of ['hubble_lost_events_total', 'hubble_flows_to_world_total', 'hubble_icmp_total']) t.ok(worker.families.has(f), `${f} is declared`);
  t.equal(worker.families.get('hubble_http_request_duration_seconds'), 'histogram');
});

t.test('text format by default; OpenMetrics with exemplars when enabled and asked for', async (t) => {
  const { hub, pods } = await cluster(t, config(labMetrics, { 'enable-hubble-open-metrics': 'true' }));
  const client = demoEndpoint('a-1', 'a', 'sim-worker', '127.244.1.10');
  const server = demoEndpoint('b-1', 'b', 'sim-worker', '127.244.1.11');
  const conn = new ConnectionFlows(
    { client, server, protocol: 'TCP', clientPort: 40000, serverPort: 80 },
    (flow, node) => {
      if (flow.l7) flow.trace_context = { parent: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' } };
      hub.record(flow, node);
    },
    { clusterName },
  );
  conn.httpResponse('ingress', { code: 200, method: 'GET', url: '/', latencyNs: 3_000_000n });

  const text = await scrape(t, pods[1]!);
  t.match(text.type, /^text\/plain; version=0\.0\.4/);
  t.notMatch(text.text, /traceID/);
  const om = await scrape(t, pods[1]!, 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5');
  t.match(om.type, /^application\/openmetrics-text; version=1\.0\.0/);
  t.match(om.text, /^# TYPE hubble_http_requests counter$/m, 'OpenMetrics names the counter family without _total');
  t.match(om.text, /^hubble_http_requests_total\{.*status="200".*\} 1 # \{traceID="4bf92f3577b34da6a3ce929d0e0e4736"\} 1 \d+\.\d{3}$/m);
  t.match(om.text, /^hubble_http_request_duration_seconds_bucket\{.*le="0\.005".*\} 1 # \{traceID="4bf92f3577b34da6a3ce929d0e0e4736"\} 0\.003 /m);
  t.match(om.text, /# EOF\n$/);

  const without = await cluster(t);
  const plain = await scrape(t, without.pods[1]!, 'application/openmetrics-text;version=1.0.0');
  t.match(plain.type, /^text\/plain/, 'without enable-hubble-open-metrics the agent answers in text format');
});

t.test('hubble-metrics as Cilium parses it: whitespace between metrics, options after a colon', async (t) => {
  t.same(parseMetricList('dns:query;ignoreAAAA  drop\nhttpV2:exemplars=true;labelsContext=source_namespace,destination_namespace'), [
    { name: 'dns', options: { query: '', ignoreAAAA: '' } },
    { name: 'drop', options: {} },
    { name: 'httpV2', options: { exemplars: 'true', labelsContext: 'source_namespace,destination_namespace' } },
  ]);
  t.throws(
    () => parseMetricList('dns,drop,tcp,flow,port-distribution,icmp,http'),
    new AgentConfigError("failed to setup hubble metrics: metric 'dns,drop,tcp,flow,port-distribution,icmp,http' does not exist"),
    'the guide’s comma list is one unknown metric',
  );
  t.throws(() => parseMetricList('http httpV2'), { message: 'failed to setup hubble metrics: plugin http conflicts with plugin httpV2' });
  t.throws(() => parseMetricList('flow:sourceContext=pod|deployment'), {
    message: "failed to setup hubble metrics: unable to initialize metric 'flow': unknown context 'deployment'",
  });
  t.throws(() => parseMetricList('httpV2:labelsContext=source_namespace,source_service'), { message: /invalid labelsContext value: source_service/ });
  t.equal(config('flow', { 'hubble-metrics-server': '' }).metrics.port, undefined, 'no server address: no metrics, as Cilium');
  t.throws(() => config('flow', { 'hubble-metrics-server': '9965' }), { message: 'hubble-metrics-server "9965": expected [host]:port, e.g. ":9965"' });
});

t.test('context identifiers: first non-empty value wins; pod, workload, app, ip, reserved-identity', async (t) => {
  const ctx = 'sourceContext=pod;destinationContext=workload|ip';
  const { hub, pods } = await cluster(t, config(`flow:${ctx} drop:sourceContext=app;destinationContext=reserved-identity|ip`));
  const client = demoEndpoint('web-5c7f8d9b4-q8z2n', 'web', 'sim-worker', '127.244.1.10');
  const world = { ip: '203.0.113.7', endpoint: { identity: 2, labels: ['reserved:world'] } };
  const conn = new ConnectionFlows({ client, server: world, protocol: 'TCP', clientPort: 40000, serverPort: 443 }, hub.sink, { clusterName });
  conn.drop('egress', 'POLICY_DENY', { SYN: true });
  const s = parseExposition((await scrape(t, pods[1]!)).text);
  t.equal(
    sumSamples(s, 'hubble_flows_processed_total', { type: 'Drop', source: 'demo/web-5c7f8d9b4-q8z2n', destination: '203.0.113.7' }),
    1,
    'no workload outside the cluster: the IP',
  );
  t.equal(sumSamples(s, 'hubble_drop_total', { source: 'web', destination: 'reserved:world', reason: 'POLICY_DENY' }), 1);
});
