// The one-pass analysis against generated exports with known ground truth: every count exact, every percentile within 1%.
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FlowAggregator, type Analysis } from '../../lib/analysis/aggregate.ts';
import { inputReadOf } from '../../lib/analysis/quality.ts';
import { createReadStats, readResponses } from '../../lib/hubble/codec/read.ts';
import { buildScenario, type Scenario } from '../fixtures/scenario.ts';
import { FlowSynth } from '../fixtures/synth.ts';
import type { Flow, GetFlowsResponse } from '../../lib/flows/types.ts';
import { ConnectionFlows, type PacketVerdicts, type SimEndpoint } from '../../lib/sim/hubble/flows.ts';
import { nearestRank } from '../fixtures/random.ts';

async function analyzeFile(path: string): Promise<Analysis> {
  const stats = createReadStats();
  const agg = new FlowAggregator();
  for await (const resp of readResponses(path, stats)) agg.add(resp);
  return agg.finish(inputReadOf(stats, path), [...stats.unknownValues.values()]);
}

function within1pct(t: Test, actual: number | undefined, expected: number, what: string): void {
  t.ok(actual !== undefined && Math.abs(actual - expected) <= 0.01 * expected, `${what}: ${actual} within 1% of ${expected}`);
}

function checkAgainstTruth(t: Test, a: Analysis, s: Scenario): void {
  const truth = s.truth;
  t.equal(a.totals.flows, truth.flows, 'total flows');
  t.equal(a.totals.forwarded, truth.forwarded, 'forwarded');
  t.equal(a.totals.dropped, truth.dropped, 'dropped');
  t.equal(a.totals.policyDenied, truth.policyDenied, 'policy denied');
  t.equal(a.totals.lostEvents, truth.lostEvents, 'lost events');
  t.same(a.quality.lostEvents.bySource, truth.lostBySource, 'lost events by source');
  t.equal(a.totals.malformedLines, truth.malformedLines.length, 'malformed lines');
  t.same(
    a.quality.malformedExamples.map((m) => m.line),
    truth.malformedLines,
    'malformed lines located',
  );
  t.equal(a.totals.httpRequests, truth.httpRequests, 'HTTP requests, each once');
  t.equal(a.totals.dnsQueries, truth.dnsQueries, 'DNS queries');
  t.equal(a.totals.l7Requests, truth.httpRequests + truth.dnsQueries, 'L7 requests');
  t.equal(a.window.start, truth.windowStart, 'window start');
  t.equal(a.window.end, truth.windowEnd, 'window end');
  t.same(
    a.quality.nodes.unavailable.map((n) => n.name),
    truth.unavailableNodes,
    'unavailable nodes',
  );
  t.equal(a.quality.complete, false, 'lost events make the data incomplete');

  const byKey = new Map(a.edges.map((e) => [`${e.source} -> ${e.destination}`, e]));
  t.same([...byKey.keys()].sort(), [...truth.edges.keys()].sort(), 'the same edges, none reversed');
  for (const [key, want] of truth.edges) {
    const got = byKey.get(key);
    if (!got) continue;
    t.test(key, async (t) => {
      t.equal(got.flows, want.flows, 'flows');
      t.equal(got.forwarded, want.forwarded, 'forwarded');
      t.equal(got.dropped, want.dropped, 'dropped');
      t.equal(got.policyDenied, want.policyDenied, 'policy denied');
      t.same(got.policyDeniedBy, want.policyDeniedBy, 'denied by side');
      t.same(got.dropsByReason, want.dropsByReason, 'drop reasons');
      if (want.tcp.attempts > 0 || want.tcp.resets > 0) t.same(got.tcp, want.tcp, 'tcp');
      else t.equal(got.tcp, null, 'no tcp');
      if (!want.http) t.equal(got.http, null, 'no http');
      else {
        const h = got.http!;
        t.equal(h.requests, want.http.requests, 'requests');
        t.equal(h.responses, want.http.responses, 'responses');
        t.equal(h.errors, want.http.errors, 'errors');
        t.equal(h.errors5xx, want.http.errors5xx, '5xx');
        t.same(h.byStatus, want.http.byStatus, 'by status');
        t.same(h.methods, want.http.methods, 'methods');
        t.same(Object.fromEntries(h.topPaths.map((p) => [p.path, p.requests])), want.http.paths, 'templated paths');
        t.same({ client: h.sightings.client, server: h.sightings.server, both: h.sightings.both }, want.http.sightings, 'sightings');
        const sorted = [...want.http.latenciesMs].sort((x, y) => x - y);
        t.equal(h.latencyMs!.count, sorted.length, 'one latency per exchange');
        for (const [q, k] of [
          [0.5, 'p50'],
          [0.9, 'p90'],
          [0.95, 'p95'],
          [0.99, 'p99'],
        ] as const) {
          within1pct(t, h.latencyMs![k], nearestRank(sorted, q), k);
        }
        within1pct(t, h.latencyMs!.max, sorted[sorted.length - 1]!, 'max');
      }
      if (!want.dns) t.equal(got.dns, null, 'no dns');
      else {
        t.equal(got.dns!.queries, want.dns.queries, 'dns queries');
        t.same(got.dns!.byRcode, want.dns.byRcode, 'rcodes');
        t.same(Object.fromEntries(got.dns!.topNames.map((n) => [n.name, n.queries])), want.dns.names, 'names');
        const sorted = [...want.dns.latenciesMs].sort((x, y) => x - y);
        within1pct(t, got.dns!.latencyMs!.p95, nearestRank(sorted, 0.95), 'dns p95');
      }
    });
  }
}

t.test('a current jsonpb export', async (t) => {
  const s = buildScenario({ seed: 3 });
  const dir = t.testdir();
  const path = join(dir, 'flows.jsonl');
  writeFileSync(path, s.lines.join('\n') + '\n');
  const a = await analyzeFile(path);
  checkAgainstTruth(t, a, s);
  t.ok(
    a.edges.some((e) => e.destination === 'api.openai.com'),
    'world named by its DNS name',
  );
  t.ok(
    a.edges.some((e) => e.destination === 'world'),
    'world without a name',
  );
  t.ok(
    a.edges.some((e) => e.destination === '10.244.9.99'),
    'an unknown endpoint by its IP',
  );
  const dropBurst = a.timeline.bursts.filter((b) => b.series === 'drops');
  t.equal(dropBurst.length, 1, 'one burst of drops');
  t.ok(
    Date.parse(dropBurst[0]!.start) <= s.truth.burstAtMs && s.truth.burstAtMs < Date.parse(dropBurst[0]!.start) + a.timeline.bucketSeconds * 1000,
    'at the burst',
  );
  t.ok(a.timeline.buckets.length <= 120, 'at most 120 buckets');
  t.equal(
    a.timeline.buckets.reduce((n, b) => n + b.flows, 0),
    s.truth.flows,
    'timeline holds every flow',
  );
  t.equal(
    a.timeline.buckets.reduce((n, b) => n + b.requests, 0),
    s.truth.httpRequests + s.truth.dnsQueries,
    'timeline requests counted once',
  );
  t.equal(
    a.timeline.buckets.reduce((n, b) => n + b.drops, 0),
    s.truth.dropped,
    'timeline drops',
  );
  const busiest = a.timeline.buckets.reduce((m, b) => (b.flows > m.flows ? b : m));
  t.equal(busiest.perSecond.flows, busiest.flows / a.timeline.bucketSeconds, 'rates per second');
  const policy = a.drops.find((d) => d.reason === 'POLICY_DENIED')!;
  t.ok(policy.policy && policy.examples.length > 0, 'policy drops come with example flows');
  t.equal(a.quality.l7.note, null, 'L7 flows present: no visibility note');
});

t.test('an older export (bare flows, no workloads, numeric drop reasons, deprecated reply), gzipped', async (t) => {
  const s = buildScenario({ seed: 5, format: 'legacy' });
  const dir = t.testdir();
  const path = join(dir, 'flows.json.gz');
  writeFileSync(path, gzipSync(s.lines.join('\n')));
  const a = await analyzeFile(path);
  checkAgainstTruth(t, a, s);
  t.ok(
    a.edges.some((e) => e.destination === 'kube-system/kube-dns'),
    'named from the k8s-app label without workloads',
  );
});

t.test('without L7 flows the report says latency needs an L7 policy', async (t) => {
  const agg = new FlowAggregator();
  agg.add({
    flow: {
      time: '2026-01-10T10:00:00Z',
      verdict: 'FORWARDED',
      IP: { source: '10.0.0.1', destination: '10.0.0.2' },
      source: { namespace: 'a', pod_name: 'x' },
      destination: { namespace: 'a', pod_name: 'y' },
      l4: { TCP: { source_port: 1, destination_port: 80, flags: { SYN: true } } },
    },
  });
  const a = agg.finish();
  t.match(a.quality.l7.note, /L7 visibility policy/);
  t.equal(a.edges[0]!.http, null);
  t.same(a.edges[0]!.tcp, { attempts: 1, unanswered: 1, resets: 0 });
});

t.test('filters leave flows out but keep lost events and node status', async (t) => {
  const agg = new FlowAggregator({ accept: (f) => f.verdict === 'DROPPED' });
  agg.add({ flow: { verdict: 'FORWARDED' } });
  agg.add({ flow: { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED' } });
  agg.add({ lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '3' } });
  const a = agg.finish();
  t.equal(a.totals.flows, 1);
  t.equal(a.totals.lostEvents, 3);
  t.equal(agg.skippedByFilter, 1);
});

t.test('a scenario assembled from the shared flow builders, in both Cilium field sets', async (t) => {
  for (const variant of ['current', 'cilium-1.13'] as const) {
    const synth = new FlowSynth({ seed: 9, variant });
    const coord = synth.peer('agent-coordinator');
    const doc = synth.peer('document-agent-0');
    const llm = synth.peer('llm-service');
    const gen = synth.peer('traffic-generator');
    const world = synth.peer('world');
    const records: GetFlowsResponse[] = [];
    const serverLatencies: number[] = [];
    const clientOnlyLatencies: number[] = [];
    let errors = 0;
    for (let i = 0; i < 60; i++) {
      const status = i % 10 === 0 ? 503 : 200;
      if (status >= 400) errors++;
      const exchange = synth.httpExchange(coord, doc, { method: 'POST', path: `/api/v1/results/${1000 + i}`, status, seenAt: 'both' });
      records.push(...exchange);
      // Ground truth from the records as built: the server-side proxy's latency of each exchange.
      const ingress = exchange.find((r) => r.flow?.l7?.type === 'RESPONSE' && r.flow.traffic_direction === 'INGRESS')!;
      serverLatencies.push(Number(ingress.flow!.l7!.latency_ns) / 1e6);
      const egressOnly = synth.httpExchange(gen, llm, { method: 'GET', path: '/api/v1/generate', seenAt: 'egress', withTcp: false });
      records.push(...egressOnly);
      clientOnlyLatencies.push(Number(egressOnly.find((r) => r.flow?.l7?.type === 'RESPONSE')!.flow!.l7!.latency_ns) / 1e6);
      synth.advance(300);
    }
    for (let i = 0; i < 7; i++) records.push(...synth.policyDrop(doc, coord, { retries: 2 }));
    records.push(...synth.tcpConnection(llm, world, 443, { dataPackets: 3 }));
    for (let i = 0; i < 5; i++) records.push(...synth.dnsLookup(coord, 'nope.example', [], { rcode: 3 }));
    records.push(synth.lostEvents(1, 12));

    const agg = new FlowAggregator();
    for (const r of records) agg.add(structuredClone(r));
    const a = agg.finish();
    const edge = (s: string, d: string) => a.edges.find((e) => e.source === s && e.destination === d);
    const cd = edge('genai-network-demo/agent-coordinator', 'genai-network-demo/document-agent')!;
    t.equal(cd.http!.requests, 60, `${variant}: requests seen at both proxies count once`);
    t.equal(cd.http!.responses, 60, `${variant}: responses once`);
    t.equal(cd.http!.errors, errors, `${variant}: errors`);
    t.same(cd.http!.topPaths, [{ path: '/api/v1/results/{id}', requests: 60 }], `${variant}: ids templated`);
    t.equal(cd.tcp!.attempts, 60, `${variant}: one connection per exchange`);
    const sorted = serverLatencies.sort((x, y) => x - y);
    within1pct(t, cd.http!.latencyMs!.p95, nearestRank(sorted, 0.95), `${variant}: p95 from the server side`);
    within1pct(t, cd.http!.latencyMs!.p50, nearestRank(sorted, 0.5), `${variant}: p50 from the server side`);
    const gl = edge('genai-network-demo/traffic-generator', 'genai-network-demo/llm-service')!;
    t.equal(gl.http!.requests, 60, `${variant}: client-only exchanges`);
    within1pct(
      t,
      gl.http!.latencyMs!.p99,
      nearestRank(
        clientOnlyLatencies.sort((x, y) => x - y),
        0.99,
      ),
      `${variant}: p99 client side`,
    );
    const denied = edge('genai-network-demo/document-agent', 'genai-network-demo/agent-coordinator')!;
    t.equal(denied.policyDenied, 21, `${variant}: every dropped SYN`);
    t.same(denied.tcp, { attempts: 7, unanswered: 7, resets: 0 }, `${variant}: retransmissions are one attempt`);
    t.ok(edge('genai-network-demo/llm-service', 'api.openai.com'), `${variant}: world by DNS name`);
    t.same(
      a.edges.filter(
        (e) =>
          e.source === 'api.openai.com' ||
          e.source === 'kube-system/coredns' ||
          (e.source === 'genai-network-demo/llm-service' && e.destination !== 'api.openai.com'),
      ),
      [],
      `${variant}: replies never make reverse edges`,
    );
    t.same(edge('genai-network-demo/agent-coordinator', 'kube-system/coredns')!.dns!.byRcode, { NXDOMAIN: 5 }, `${variant}: rcodes`);
    t.equal(a.totals.lostEvents, 12);
    t.equal(a.totals.flows, records.filter((r) => r.flow).length, `${variant}: every flow counted`);
  }
});

t.test('policy verdicts are flows, never another forwarded or dropped packet, TCP attempt or drop', async (t) => {
  const ep = (name: string, node: string, ip: string): SimEndpoint => ({
    ip,
    node,
    endpoint: { identity: 300, namespace: 'demo', labels: [`k8s:app=${name}`], pod_name: name },
  });
  const client = ep('client', 'n1', '10.0.1.5');
  const server = ep('server', 'n2', '10.0.2.7');
  /** One allowed connection and one denied (three SYNs), as the sim's datapath reports them, with or without verdicts. */
  const record = (verdicts: boolean): Flow[] => {
    const out: Flow[] = [];
    const sink = (f: Flow) => out.push(f);
    const ok = new ConnectionFlows({ client, server, protocol: 'TCP', clientPort: 40000, serverPort: 80 }, sink, { clusterName: 'c' });
    const allowed: PacketVerdicts = {
      egress: { side: 'egress', verdict: 'FORWARDED', matchType: 3 },
      ingress: { side: 'ingress', verdict: 'FORWARDED', matchType: 2 },
    };
    ok.packet('client', { SYN: true }, verdicts ? allowed : undefined);
    ok.packet('server', { SYN: true, ACK: true });
    ok.packet('client', { ACK: true });
    const denied = new ConnectionFlows({ client, server, protocol: 'TCP', clientPort: 40001, serverPort: 81 }, sink, { clusterName: 'c' });
    for (let syn = 0; syn < 3; syn++) {
      if (verdicts) denied.policyVerdict({ side: 'ingress', verdict: 'DROPPED', matchType: 0, dropReason: 'POLICY_DENIED' }, { SYN: true });
      denied.drop('ingress', 'POLICY_DENIED', { SYN: true });
    }
    return out;
  };
  const analyze = (flows: Flow[]) => {
    const agg = new FlowAggregator();
    for (const flow of flows) agg.add({ flow });
    return agg.finish();
  };
  const plain = analyze(record(false));
  const withVerdicts = analyze(record(true));
  t.equal(withVerdicts.totals.flows, plain.totals.flows + 5, 'the five verdicts are counted as flows');
  t.equal(withVerdicts.edges[0]!.flows, plain.edges[0]!.flows + 5);
  const counts = (a: Analysis) => ({
    totals: { ...a.totals, flows: 0, verdicts: {}, eventTypes: {}, policyVerdicts: {} },
    edges: a.edges.map((e) => ({
      ...e,
      flows: 0,
      policyVerdicts: 0,
      drilldowns: null,
      firstSeen: null,
      lastSeen: null,
      ports: e.ports.map((p) => p.port),
      protocols: Object.keys(e.protocols),
      dropExamples: e.dropExamples.length,
    })),
    drops: a.drops.map((d) => [d.reason, d.count]),
    timelineDrops: a.timeline.buckets.reduce((n, b) => n + b.drops, 0),
  });
  t.same(counts(withVerdicts), counts(plain), 'every other count is the same');
  t.same(withVerdicts.totals.policyVerdicts, { DROPPED: 3, FORWARDED: 2 }, 'the verdict records, by verdict');
  t.same(plain.totals.eventTypes, { trace: 6, drop: 3 }, 'event types of the packets');
  t.same(withVerdicts.totals.eventTypes, { trace: 6, 'policy-verdict': 5, drop: 3 }, 'event types sum to the flows');
  t.same(withVerdicts.totals.verdicts, { FORWARDED: 8, DROPPED: 6 }, 'verdicts over every record sum to the flows');
  t.equal(withVerdicts.edges[0]!.policyDeniedSyns, 3, 'the denied packets were SYNs');
  t.same(
    [plain.totals.dropped, plain.totals.policyDenied, plain.edges[0]!.tcp],
    [3, 3, { attempts: 2, unanswered: 1, resets: 0 }],
    'a denied connection is three dropped SYNs and one unanswered attempt',
  );
});
