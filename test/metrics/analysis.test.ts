// The report from metrics: sim agents with the lab's hubble-metrics, a real Prometheus scraping them, and the same
// flows through the flow aggregator; edges, HTTP counts, error ratios, latency percentiles and drops must agree.
import t from 'tap';
import { FlowAggregator } from '../../lib/analysis/aggregate.ts';
import type { Flow } from '../../lib/flows/types.ts';
import { analyzeFromMetrics, endpointName } from '../../lib/metrics/analysis.ts';
import { reconcile } from '../../lib/metrics/reconcile.ts';
import { startHubbleAgent } from '../../lib/sim/hubble/agent.ts';
import { hubbleAgentConfig } from '../../lib/sim/hubble/agent-config.ts';
import { ConnectionFlows } from '../../lib/sim/hubble/flows.ts';
import { SimHubble } from '../../lib/sim/hubble/hub.ts';
import { hubbleMetrics } from '../../tasks/02-enable-hubble.ts';
import { prometheusMissing, startPrometheus } from '../fixtures/prometheus.ts';
import { agentPod, clusterName, demoEndpoint, nodeIP, nodes, testDatapath } from '../sim/hubble/fixtures.ts';

const config = hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-listen-address': ':4244', 'hubble-metrics-server': ':9965', 'hubble-metrics': hubbleMetrics });

/** A workflow across nodes: coordinator → llm-service over HTTP (some 503), a denied probe, DNS; both aggregators see it. */
function traffic(sink: (flow: Flow, node: string) => void, n: number): void {
  const coordinator = demoEndpoint('agent-coordinator-5d9c7b8f4-abcde', 'agent-coordinator', 'sim-worker', '127.244.1.10');
  const llm = demoEndpoint('llm-service-6f8b9c7d5-fghij', 'llm-service', 'sim-worker2', '127.244.2.11');
  const probe = demoEndpoint('test-pod', 'test-pod', 'sim-worker', '127.244.1.12');
  for (let i = 0; i < n; i++) {
    const conn = new ConnectionFlows({ client: coordinator, server: llm, protocol: 'TCP', clientPort: 41000 + i, serverPort: 80 }, sink, { clusterName });
    conn.packet('client', { SYN: true }, { ingress: { side: 'ingress', verdict: 'REDIRECTED', matchType: 2 } });
    conn.packet('server', { SYN: true, ACK: true });
    conn.httpRequest('ingress', { method: 'POST', url: 'http://llm-service/v1/generate' });
    conn.httpResponse('ingress', { code: i % 5 === 0 ? 503 : 200, method: 'POST', url: 'http://llm-service/v1/generate', latencyNs: BigInt((i % 2 ? 30 : 200) * 1_000_000) });
  }
  for (let i = 0; i < 3; i++) {
    const denied = new ConnectionFlows({ client: probe, server: llm, protocol: 'TCP', clientPort: 42000 + i, serverPort: 80 }, sink, { clusterName });
    denied.policyVerdict({ side: 'ingress', verdict: 'DROPPED', matchType: 0, dropReason: 'POLICY_DENIED' }, { SYN: true });
    denied.drop('ingress', 'POLICY_DENIED', { SYN: true });
  }
  const dns = new ConnectionFlows({ client: coordinator, server: { ...llm, ip: '127.96.0.10' }, protocol: 'UDP', clientPort: 43000, serverPort: 53 }, sink, { clusterName });
  dns.dnsRequest('llm-service.demo.svc.cluster.local.', ['A']);
  dns.dnsResponse({ query: 'llm-service.demo.svc.cluster.local.', qtypes: ['A'], ips: ['127.96.1.5'], ttl: 30, rcode: 0, rrtypes: ['A'], latencyNs: 1_000_000n });
}

t.test('analysis from Prometheus agrees with the analysis of the same flows', { skip: prometheusMissing }, async (t) => {
  const hub = new SimHubble({ clusterName });
  const dp = await testDatapath(t);
  const targets = [];
  for (const node of nodes) {
    const agent = await startHubbleAgent({ hub, node, ip: nodeIP(node), config, net: agentPod(dp, node), version: '1.19.1' });
    t.teardown(() => agent.stop());
    targets.push({ address: agent.metricsAddress!, labels: { node } });
  }
  const prom = await startPrometheus(t, targets);
  await prom.scrapedAfter(new Date());
  const start = new Date();
  const flows = new FlowAggregator();
  traffic((flow, node) => {
    hub.record(flow, node);
    flows.addFlow(structuredClone(flow));
  }, 20);
  await prom.scrapedAfter(new Date());
  const end = new Date();

  const fromFlows = flows.finish();
  const { analysis: fromMetrics, queries } = await analyzeFromMetrics(prom.client, { start, end });
  t.ok(queries > 10, `${queries} PromQL queries`);

  const httpEdges = (a: typeof fromFlows) => a.edges.filter((e) => e.http).map((e) => ({ edge: `${e.source} → ${e.destination}`, requests: e.http!.requests, errors: e.http!.errors, byStatus: e.http!.byStatus }));
  t.same(httpEdges(fromMetrics), httpEdges(fromFlows), 'the same HTTP edges, request and error counts');
  t.same(httpEdges(fromMetrics).map((e) => e.edge), ['demo/agent-coordinator → demo/llm-service']);
  const http = fromMetrics.edges.find((e) => e.http)!.http!;
  t.equal(http.errorRate, 4 / 20);
  t.ok(http.latencyMs && http.latencyMs.p50 > 25 && http.latencyMs.p50 <= 250, `p50 ${http.latencyMs?.p50} ms within the buckets of 30 and 200 ms`);
  t.ok(http.latencyMs && http.latencyMs.p99 > 100 && http.latencyMs.p99 <= 250, `p99 ${http.latencyMs?.p99} ms in the 100–250 ms bucket`);
  t.equal(http.latencyMs?.max, 250, 'max: the bound of the slowest bucket');
  t.same(http.topPaths, [], 'paths are not in metrics');

  const drops = (a: typeof fromFlows) => a.drops.map((d) => ({ reason: d.reason, count: d.count, edges: d.edges }));
  t.same(drops(fromMetrics), drops(fromFlows), 'drops by reason and edge');
  const probe = fromMetrics.edges.find((e) => e.source === 'demo/test-pod')!;
  t.equal(probe.policyDenied, 3);
  t.same(probe.policyDeniedBy, { ingress: 3, egress: 0, unknown: 0 }, 'the side from the policy verdicts');
  t.equal(probe.delivered, 0, 'never delivered');

  t.same(fromMetrics.totals.verdicts, fromFlows.totals.verdicts, 'flows by verdict');
  t.equal(fromMetrics.totals.flows, fromFlows.totals.flows);
  t.same(fromMetrics.totals.policyVerdicts, fromFlows.totals.policyVerdicts);
  const coordinator = fromMetrics.edges.find((e) => e.http)!;
  t.same(coordinator.ports.find((p) => p.port === 80), { protocol: 'TCP', port: 80, flows: coordinator.ports.find((p) => p.port === 80)!.flows }, 'ports from port-distribution');
  t.ok(coordinator.delivered >= 20, 'the SYNs reached the server');
  t.equal(fromMetrics.dns.queries, 1);
  t.same(fromMetrics.dns.byRcode, { NOERROR: 1 });
  t.same(fromMetrics.dns.topNames, [{ name: 'llm-service.demo.svc.cluster.local', queries: 1 }]);
  t.same(fromMetrics.quality.nodes.seen, [...nodes].sort());
  t.equal(fromMetrics.quality.complete, true);
  t.match(fromMetrics.quality.notes.join('\n'), /HTTP paths, TCP handshakes and resets, drop examples/, 'the report says what metrics cannot give');

  const r = reconcile(fromFlows, fromMetrics);
  t.equal(r.status, 'ok', 'flows and metrics reconcile');
  t.ok(r.checks.every((c) => c.flows === c.metrics), 'exactly, here: no traffic outside the window');

  const scoped = await analyzeFromMetrics(prom.client, { start, end }, { namespaces: ['other'] });
  t.same(scoped.analysis.edges, [], '--namespace keeps only edges with an endpoint in it');
});

t.test('reserved identities are named as the flow report names them', async (t) => {
  t.equal(endpointName('reserved:world'), 'world');
  t.equal(endpointName('reserved:world-ipv4'), 'world');
  t.equal(endpointName('reserved:kube-apiserver'), 'kube-apiserver');
  t.equal(endpointName('genai-network-demo/llm-service'), 'genai-network-demo/llm-service');
  t.equal(endpointName(''), '(unknown)');
});
