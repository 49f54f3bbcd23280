// The report from metrics: sim agents with the lab's hubble-metrics, a real Prometheus scraping them, and the same
// flows through the flow aggregator; edges, HTTP counts, error ratios, latency percentiles and drops must agree.
import t from 'tap';
import { FlowAggregator } from '../../lib/analysis/aggregate.ts';
import { analyzeFromMetrics, endpointName } from '../../lib/metrics/analysis.ts';
import { reconcile } from '../../lib/metrics/reconcile.ts';
import { labMetricsSection, notCollected } from '../../lib/metrics/lab-metrics.ts';
import { prometheusMissing, startPrometheus } from '../fixtures/prometheus.ts';
import { nodes } from '../sim/hubble/fixtures.ts';
import { demoTraffic, labAgents } from './fixtures.ts';

t.test('analysis from Prometheus agrees with the analysis of the same flows', { skip: prometheusMissing }, async (t) => {
  const { hub, targets } = await labAgents(t);
  const prom = await startPrometheus(t, targets);
  await prom.scrapedAfter(new Date());
  const start = new Date();
  const flows = new FlowAggregator();
  demoTraffic((flow, node) => {
    hub.record(flow, node);
    flows.addFlow(structuredClone(flow));
  }, 20);
  await prom.scrapedAfter(new Date());
  const end = new Date();

  const fromFlows = flows.finish();
  const { analysis: fromMetrics, queries } = await analyzeFromMetrics(prom.client, { start, end });
  t.ok(queries > 10, `${queries} PromQL queries`);

  const httpEdges = (a: typeof fromFlows) =>
    a.edges
      .filter((e) => e.http)
      .map((e) => ({ edge: `${e.source} → ${e.destination}`, requests: e.http!.requests, errors: e.http!.errors, byStatus: e.http!.byStatus }));
  t.same(httpEdges(fromMetrics), httpEdges(fromFlows), 'the same HTTP edges, request and error counts');
  t.same(
    httpEdges(fromMetrics).map((e) => e.edge),
    ['demo/agent-coordinator → demo/llm-service'],
  );
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
  t.same(
    coordinator.ports.find((p) => p.port === 80),
    { protocol: 'TCP', port: 80, flows: coordinator.ports.find((p) => p.port === 80)!.flows },
    'ports from port-distribution',
  );
  t.ok(coordinator.delivered >= 20, 'the SYNs reached the server');
  t.equal(fromMetrics.dns.queries, 1);
  t.same(fromMetrics.dns.byRcode, { NOERROR: 1 });
  t.same(fromMetrics.dns.topNames, [{ name: 'llm-service.demo.svc.cluster.local', queries: 1 }]);
  t.same(fromMetrics.quality.nodes.seen, [...nodes].sort());
  t.equal(fromMetrics.quality.complete, true);
  t.match(fromMetrics.quality.notes.join('\n'), /HTTP paths, TCP handshakes and resets, drop examples/, 'the report says what metrics cannot give');

  const r = reconcile(fromFlows, fromMetrics);
  t.equal(r.status, 'ok', 'flows and metrics reconcile');
  t.ok(
    r.checks.every((c) => c.flows === c.metrics),
    'exactly, here: no traffic outside the window',
  );

  const { section } = await labMetricsSection(prom.url, fromFlows, { namespaces: ['demo'] });
  t.equal(section.source, prom.url);
  t.equal(section.reconciliation?.status, 'ok', "the lab's section: the flows' window read from metrics, reconciled");
  t.ok(section.window && Date.parse(section.window.start) === Date.parse(fromFlows.window.start!), 'from the first flow');
  t.ok(section.window && Date.parse(section.window.end) >= Date.parse(fromFlows.window.end!), 'to the first scrape after the last flow');
  const down = await labMetricsSection('http://127.0.0.1:9', fromFlows, { namespaces: ['demo'], scrapeTimeoutMs: 1000 });
  t.match(down.section, {
    source: 'http://127.0.0.1:9',
    reconciliation: null,
    note: /^metrics could not be read from http:\/\/127\.0\.0\.1:9: Prometheus at http:\/\/127\.0\.0\.1:9 did not answer/,
  });
  t.same(notCollected('no prometheus binary'), { source: null, window: null, reconciliation: null, note: 'metrics were not collected: no prometheus binary' });

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
