// The report's Analysis from Hubble metrics in Prometheus instead of flows: workload edges from the metrics' context
// labels, request counts, error ratios and latency percentiles (histogram_quantile) from httpV2, drops by reason,
// policy verdicts. Counts are counter deltas over the window; what only flows carry is left empty and said so.
import type { Analysis, DropSummary, EdgeSummary, Totals } from '../analysis/aggregate.ts';
import type { DnsSummary } from '../analysis/dns.ts';
import type { HttpSummary } from '../analysis/http.ts';
import { QualityTracker } from '../analysis/quality.ts';
import type { InstantSample, PrometheusClient } from './prometheus.ts';

export interface MetricsWindow {
  start: Date;
  end: Date;
}

export interface MetricsAnalysisOptions {
  /** Keep edges with an endpoint in one of these namespaces (as `--namespace` keeps flows). */
  namespaces?: string[];
  /** Extra label matchers for every selector, e.g. `cluster="a"` on a Thanos/Mimir holding many clusters. */
  matchers?: string;
}

export interface MetricsAnalysis {
  analysis: Analysis;
  /** PromQL queries sent. */
  queries: number;
}

/** What a report built from metrics cannot say; each goes into the report's notes. */
export const flowOnlyDetails = [
  'from metrics: HTTP paths, TCP handshakes and resets, drop examples, reply counts and drill-down commands need flows (hubble observe, or a run with flows) and are not reported; the timeline is one bucket for the whole window',
  'from metrics: latency max is the upper bound of the histogram bucket holding the slowest request; percentiles are histogram_quantile estimates within their buckets',
  'from metrics: DNS answers are not paired with their queries, so NXDOMAINs of search-path expansions are counted among the DNS errors',
  'from metrics: a policy denial Hubble reports as a drop and as a policy verdict is counted once, as in the flow report',
  'from metrics: endpoints carry no Kubernetes labels, so expectation rules that select by label match nothing; rules by name apply',
];

type Key = string;
const SEP = '\u0000';

/** Hubble's reserved-identity context value as the flow report names the endpoint. */
export function endpointName(value: string | undefined): string {
  if (!value) return '(unknown)';
  if (value.startsWith('reserved:')) {
    const name = value.slice('reserved:'.length);
    return name === 'world-ipv4' || name === 'world-ipv6' ? 'world' : name;
  }
  return value;
}

function selector(name: string, matchers: string | undefined, extra = ''): string {
  const all = [matchers, extra].filter(Boolean).join(',');
  return all ? `${name}{${all}}` : name;
}

/** Counter deltas between two instants, grouped: series new in the window start from 0; a reset keeps the end value. */
class Deltas {
  queries = 0;
  constructor(
    private readonly prom: PrometheusClient,
    private readonly window: MetricsWindow,
    private readonly matchers: string | undefined,
  ) {}

  async get(metric: string, by: string[], extra = ''): Promise<{ labels: Record<string, string>; value: number }[]> {
    const expr = `sum by (${by.join(',')}) (${selector(metric, this.matchers, extra)})`;
    const [end, start] = await Promise.all([this.prom.query(expr, this.window.end), this.prom.query(expr, this.window.start)]);
    this.queries += 2;
    const key = (s: InstantSample) => by.map((l) => s.metric[l] ?? '').join(SEP);
    const before = new Map(start.map((s) => [key(s), s.value]));
    return end
      .map((s) => {
        const b = before.get(key(s)) ?? 0;
        return { labels: Object.fromEntries(by.map((l) => [l, s.metric[l] ?? ''])), value: s.value >= b ? s.value - b : s.value };
      })
      .filter((r) => r.value > 0);
  }

  /**
   * histogram_quantile over the window's bucket deltas, computed in PromQL with `@`: the end minus the start, or
   * minus nothing for series that did not exist yet (increase() would miss a series born in the window).
   */
  async quantiles(q: number, reporter: string): Promise<Map<Key, number>> {
    const bucket = selector('hubble_http_request_duration_seconds_bucket', this.matchers, `reporter="${reporter}"`);
    const sumAt = (d: Date) => `sum by (le, source, destination) (${bucket} @ ${(d.getTime() / 1000).toFixed(3)})`;
    const end = sumAt(this.window.end);
    const expr = `histogram_quantile(${q}, ${end} - (${sumAt(this.window.start)} or (${end} * 0)))`;
    this.queries++;
    const out = new Map<Key, number>();
    for (const s of await this.prom.query(expr, this.window.end)) {
      if (Number.isFinite(s.value)) out.set(edgeKey(endpointName(s.metric['source']), endpointName(s.metric['destination'])), s.value);
    }
    return out;
  }
}

function edgeKey(source: string, destination: string): Key {
  return source + SEP + destination;
}

interface EdgeAcc {
  source: string;
  destination: string;
  verdicts: Record<string, number>;
  requestFlows: number;
  delivered: number;
  /** Drop events (type Drop) and DROPPED policy verdicts, from the flow metric. */
  dropEvents: number;
  verdictDrops: number;
  policyVerdicts: number;
  dropsByReason: Record<string, number>;
  deniedBy: { ingress: number; egress: number };
  ports: Map<string, number>;
  http: Map<string, { requests: number; errors: number; errors5xx: number; byStatus: Record<string, number>; methods: Record<string, number> }>;
  dns: { queries: number; responses: number; byRcode: Record<string, number>; names: Record<string, number> } | undefined;
}

/** Hubble's DNS rcode label values (pkg/hubble/metrics/dns) as the flow report names rcodes. */
const rcodeNames: Record<string, string> = {
  'No Error': 'NOERROR',
  'Format Error': 'FORMERR',
  'Server Failure': 'SERVFAIL',
  'Non-Existent Domain': 'NXDOMAIN',
  'Not Implemented': 'NOTIMP',
  'Query Refused': 'REFUSED',
  'Name Exists when it should not': 'YXDOMAIN',
  'RR Set Exists when it should not': 'YXRRSET',
  'RR Set that should exist does not': 'NXRRSET',
  'Not Authorized': 'NOTAUTH',
  'Name not contained in zone': 'NOTZONE',
};

const bucketBounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function add(rec: Record<string, number>, key: string, n: number): void {
  rec[key] = (rec[key] ?? 0) + n;
}

function sorted(rec: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(rec).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

/** The window as a single timeline bucket: counter deltas have no finer grain (a range query would give one). */
function oneBucket(window: MetricsWindow, flows: number, requests: number, errors: number, drops: number): Analysis['timeline'] {
  const seconds = Math.max(0.001, (window.end.getTime() - window.start.getTime()) / 1000);
  const per = (n: number) => round(n / seconds);
  return {
    bucketSeconds: seconds,
    buckets: [
      {
        start: window.start.toISOString(),
        flows,
        requests,
        errors,
        drops,
        perSecond: { flows: per(flows), requests: per(requests), errors: per(errors), drops: per(drops) },
        bursts: [],
      },
    ],
    bursts: [],
  };
}

/** Answers other than NOERROR: metrics do not pair an answer with its query, so search-path NXDOMAINs count too. */
function dnsErrors(byRcode: Record<string, number>): Record<string, number> {
  return sorted(Object.fromEntries(Object.entries(byRcode).filter(([rcode]) => rcode !== 'NOERROR')));
}

function round(n: number): number {
  return Number(n.toPrecision(6));
}

export async function analyzeFromMetrics(prom: PrometheusClient, window: MetricsWindow, opts: MetricsAnalysisOptions = {}): Promise<MetricsAnalysis> {
  const d = new Deltas(prom, window, opts.matchers);
  const inScope = (source: string, destination: string) =>
    !opts.namespaces?.length || opts.namespaces.some((ns) => source.startsWith(`${ns}/`) || destination.startsWith(`${ns}/`));
  const edges = new Map<Key, EdgeAcc>();
  // Edges are made only from request-direction metrics; the flow metric also counts replies (server → client),
  // which must not become reverse edges: its counts go to edges that exist.
  const edge = (src: string | undefined, dst: string | undefined, create = true): EdgeAcc | undefined => {
    const source = endpointName(src);
    const destination = endpointName(dst);
    if (!inScope(source, destination)) return undefined;
    const k = edgeKey(source, destination);
    let e = edges.get(k);
    if (!e && !create) return undefined;
    if (!e) {
      e = {
        source,
        destination,
        verdicts: {},
        requestFlows: 0,
        delivered: 0,
        dropEvents: 0,
        verdictDrops: 0,
        policyVerdicts: 0,
        dropsByReason: {},
        deniedBy: { ingress: 0, egress: 0 },
        ports: new Map(),
        http: new Map(),
        dns: undefined,
      };
      edges.set(k, e);
    }
    return e;
  };

  const [flows, ports, drops, verdicts, http, dnsQ, dnsR, lost] = await Promise.all([
    d.get('hubble_flows_processed_total', ['source', 'destination', 'type', 'subtype', 'verdict']),
    d.get('hubble_port_distribution_total', ['source', 'destination', 'protocol', 'port']),
    d.get('hubble_drop_total', ['source', 'destination', 'reason']),
    d.get('hubble_policy_verdicts_total', ['source', 'destination', 'direction', 'action']),
    d.get('hubble_http_requests_total', ['source', 'destination', 'reporter', 'method', 'status']),
    d.get('hubble_dns_queries_total', ['source', 'destination', 'query']),
    d.get('hubble_dns_responses_total', ['source', 'destination', 'rcode']),
    d.get('hubble_lost_events_total', ['source']),
  ]);

  for (const { labels: l, value } of ports) {
    const e = edge(l['source'], l['destination']);
    if (!e) continue;
    e.requestFlows += value;
    const k = `${l['protocol']}/${l['port']}`;
    e.ports.set(k, (e.ports.get(k) ?? 0) + value);
  }
  for (const { labels: l, value } of drops) {
    const e = edge(l['source'], l['destination']);
    if (e) add(e.dropsByReason, l['reason']!, value);
  }
  // Verdicts say on which side a denial happened; allowed ones add nothing an edge needs (and come from both sides).
  for (const { labels: l, value } of verdicts) {
    if (l['action'] !== 'dropped' || (l['direction'] !== 'ingress' && l['direction'] !== 'egress')) continue;
    const e = edge(l['source'], l['destination']);
    if (e) e.deniedBy[l['direction']] += value;
  }
  for (const { labels: l, value } of http) {
    const e = edge(l['source'], l['destination']);
    if (!e) continue;
    const reporter = l['reporter']!;
    let h = e.http.get(reporter);
    if (!h) e.http.set(reporter, (h = { requests: 0, errors: 0, errors5xx: 0, byStatus: {}, methods: {} }));
    const code = Number(l['status']);
    h.requests += value;
    if (code >= 400) h.errors += value;
    if (code >= 500) h.errors5xx += value;
    add(h.byStatus, l['status']!, value);
    add(h.methods, l['method']!, value);
  }
  for (const { labels: l, value } of dnsQ) {
    const e = edge(l['source'], l['destination']);
    if (!e) continue;
    e.dns ??= { queries: 0, responses: 0, byRcode: {}, names: {} };
    e.dns.queries += value;
    const q = l['query'] ?? '';
    add(e.dns.names, q.length > 1 && q.endsWith('.') ? q.slice(0, -1) : q || '(empty)', value);
  }
  // A DNS answer runs server → client: it belongs to the client → server edge.
  for (const { labels: l, value } of dnsR) {
    const e = edge(l['destination'], l['source']);
    if (!e) continue;
    e.dns ??= { queries: 0, responses: 0, byRcode: {}, names: {} };
    e.dns.responses += value;
    add(e.dns.byRcode, rcodeNames[l['rcode'] ?? ''] ?? (l['rcode'] || 'unknown'), value);
  }

  const totals = {
    flows: 0,
    verdicts: {} as Record<string, number>,
    eventTypes: {} as Record<string, number>,
    policyVerdicts: {} as Record<string, number>,
    forwarded: 0,
    dropped: 0,
    l7: 0,
    http: 0,
    dns: 0,
  };
  const typeNames: Record<string, string> = { Trace: 'trace', Drop: 'drop', PolicyVerdict: 'policy-verdict', L7: 'l7', Capture: 'other' };
  let contextLabels = flows.length === 0;
  for (const { labels: l, value } of flows) {
    if (l['source'] || l['destination']) contextLabels = true;
    if (!inScope(endpointName(l['source']), endpointName(l['destination']))) continue;
    totals.flows += value;
    add(totals.verdicts, l['verdict']!, value);
    add(totals.eventTypes, typeNames[l['type']!] ?? 'unknown', value);
    if (l['type'] === 'PolicyVerdict') add(totals.policyVerdicts, l['verdict']!, value);
    else if (l['verdict'] === 'FORWARDED') totals.forwarded += value;
    if (l['type'] !== 'PolicyVerdict' && l['verdict'] === 'DROPPED') totals.dropped += value;
    if (l['type'] === 'L7') {
      totals.l7 += value;
      if (l['subtype'] === 'HTTP') totals.http += value;
      if (l['subtype'] === 'DNS') totals.dns += value;
    }
    const e = edge(l['source'], l['destination'], false);
    if (!e) continue;
    add(e.verdicts, l['verdict']!, value);
    if (l['type'] === 'PolicyVerdict') {
      e.policyVerdicts += value;
      if (l['verdict'] === 'DROPPED') e.verdictDrops += value;
      continue;
    }
    if (l['type'] === 'Drop') e.dropEvents += value;
    // Packets that reached the server's endpoint in the request direction (replies run destination → source).
    if (l['type'] === 'Trace' && l['subtype'] === 'to-endpoint' && l['verdict'] === 'FORWARDED') e.delivered += value;
  }
  // Latency from the reporter each edge's counts come from: the server's proxy when it saw the requests.
  const qs = [0.5, 0.9, 0.95, 0.99] as const;
  const quantiles: Record<string, Map<Key, number>[]> = {};
  for (const reporter of ['server', 'client']) {
    if ([...edges.values()].some((e) => e.http.has(reporter))) quantiles[reporter] = await Promise.all(qs.map((q) => d.quantiles(q, reporter)));
  }
  const maxBound = await maxBuckets(d);

  const summaries: EdgeSummary[] = [...edges.values()].map((e) => {
    const reporter = e.http.has('server') ? 'server' : e.http.has('client') ? 'client' : undefined;
    const h = reporter ? e.http.get(reporter)! : undefined;
    const k = edgeKey(e.source, e.destination);
    let httpSummary: HttpSummary | null = null;
    if (h && reporter) {
      const q = (quantiles[reporter] ?? []).map((m) => m.get(k));
      const latencyMs = q.every((v) => v !== undefined)
        ? {
            count: h.requests,
            p50: round(q[0]! * 1000),
            p90: round(q[1]! * 1000),
            p95: round(q[2]! * 1000),
            p99: round(q[3]! * 1000),
            max: round((maxBound.get(`${reporter}${SEP}${k}`) ?? q[3]!) * 1000),
          }
        : null;
      httpSummary = {
        requests: h.requests,
        responses: h.requests,
        errors: h.errors,
        errors5xx: h.errors5xx,
        errorRate: h.requests > 0 ? h.errors / h.requests : null,
        byStatus: sorted(h.byStatus),
        methods: sorted(h.methods),
        topPaths: [],
        latencyMs,
        sightings: {
          client: e.http.get('client')?.requests ?? 0,
          server: e.http.get('server')?.requests ?? 0,
          unknown: e.http.get('unknown')?.requests ?? 0,
          both: 0,
        },
      };
    }
    const dns: DnsSummary | null = e.dns
      ? {
          queries: e.dns.queries,
          responses: e.dns.responses,
          byRcode: sorted(e.dns.byRcode),
          errors: dnsErrors(e.dns.byRcode),
          searchPathNxdomain: 0,
          topNames: Object.entries(sorted(e.dns.names))
            .slice(0, 10)
            .map(([name, queries]) => ({ name, queries })),
          latencyMs: null,
        }
      : null;
    dedupeDenials(e);
    const dropped = e.dropEvents;
    const policyDenied = (e.dropsByReason['POLICY_DENIED'] ?? 0) + (e.dropsByReason['POLICY_DENY'] ?? 0);
    const unknownSide = Math.max(0, policyDenied - e.deniedBy.ingress - e.deniedBy.egress);
    const portList = [...e.ports].map(([k2, flows]) => {
      const [protocol, port] = k2.split('/') as [string, string];
      return { protocol, port: port === '0' ? null : Number(port), flows };
    });
    portList.sort((a, b) => b.flows - a.flows || (a.port ?? 0) - (b.port ?? 0));
    const protocols: Record<string, number> = {};
    for (const p of portList) add(protocols, p.protocol, p.flows);
    if (httpSummary) protocols['HTTP'] = httpSummary.requests;
    if (dns) protocols['DNS'] = dns.queries;
    return {
      source: e.source,
      destination: e.destination,
      sourceLabels: {},
      destinationLabels: {},
      flows: e.requestFlows + dropped,
      forwarded: e.requestFlows,
      dropped,
      replies: 0,
      delivered: e.delivered,
      policyVerdicts: e.policyVerdicts,
      verdicts: sorted(e.verdicts),
      dropsByReason: sorted(e.dropsByReason),
      policyDenied,
      policyDeniedSyns: 0,
      policyDeniedBy: { ingress: Math.min(e.deniedBy.ingress, policyDenied), egress: Math.min(e.deniedBy.egress, policyDenied), unknown: unknownSide },
      ports: portList,
      protocols,
      tcp: null,
      http: httpSummary,
      dns,
      firstSeen: null,
      lastSeen: null,
      dropExamples: [],
      // Drill-downs point at flows (hubble observe windows); metrics have none to point at.
      drilldowns: { denied: null, drops: [], httpErrors: null, dns: null, forwarded: null },
    };
  });
  summaries.sort((a, b) => b.flows - a.flows || (a.source < b.source ? -1 : a.source > b.source ? 1 : a.destination < b.destination ? -1 : 1));

  const dropSummaries = new Map<string, DropSummary>();
  for (const e of summaries) {
    for (const [reason, count] of Object.entries(e.dropsByReason)) {
      let s = dropSummaries.get(reason);
      if (!s) dropSummaries.set(reason, (s = { reason, count: 0, policy: reason === 'POLICY_DENIED' || reason === 'POLICY_DENY', edges: [], examples: [] }));
      s.count += count;
      s.edges.push({ source: e.source, destination: e.destination, count });
    }
  }
  const dropList = [...dropSummaries.values()].sort((a, b) => b.count - a.count);
  for (const s of dropList) s.edges = s.edges.sort((a, b) => b.count - a.count).slice(0, 10);

  const allDns = { queries: 0, responses: 0, byRcode: {} as Record<string, number>, names: {} as Record<string, number> };
  for (const e of edges.values()) {
    if (!e.dns) continue;
    allDns.queries += e.dns.queries;
    allDns.responses += e.dns.responses;
    for (const [k2, v] of Object.entries(e.dns.byRcode)) add(allDns.byRcode, k2, v);
    for (const [k2, v] of Object.entries(e.dns.names)) add(allDns.names, k2, v);
  }
  const lostTotal = lost.reduce((a, s) => a + s.value, 0);
  const httpRequests = summaries.reduce((a, e) => a + (e.http?.requests ?? 0), 0);
  const t: Totals = {
    flows: totals.flows,
    verdicts: sorted(totals.verdicts),
    eventTypes: sorted(totals.eventTypes),
    policyVerdicts: sorted(totals.policyVerdicts),
    forwarded: totals.forwarded,
    dropped: totals.dropped,
    policyDenied: summaries.reduce((a, e) => a + e.policyDenied, 0),
    malformedLines: 0,
    lostEvents: lostTotal,
    l7Requests: httpRequests + allDns.queries,
    httpRequests,
    httpErrors: summaries.reduce((a, e) => a + (e.http?.errors ?? 0), 0),
    dnsQueries: allDns.queries,
    edges: summaries.length,
    endpoints: new Set(summaries.flatMap((e) => [e.source, e.destination])).size,
  };

  const quality = new QualityTracker().summary();
  const seconds = (window.end.getTime() - window.start.getTime()) / 1000;
  const targets = await nodesOf(prom, window, opts.matchers);
  d.queries += 2;
  quality.window = { start: window.start.toISOString(), end: window.end.toISOString(), seconds };
  quality.lostEvents = { total: lostTotal, records: lost.length, bySource: Object.fromEntries(lost.map((s) => [s.labels['source']!.toUpperCase(), s.value])) };
  quality.nodes = {
    seen: targets.seen,
    unavailable: targets.down.map((name) => ({ name, state: 'NODE_UNAVAILABLE', time: undefined, message: 'its metrics target was down during the window' })),
  };
  quality.l7 = { flows: totals.l7, http: totals.http, dns: totals.dns, kafka: 0, note: totals.l7 === 0 ? quality.l7.note : null };
  quality.complete = lostTotal === 0 && targets.down.length === 0;
  quality.notes = [
    ...(contextLabels
      ? []
      : [
          'from metrics: hubble_flows_processed_total has no source/destination labels, so no edges can be built: enable the flow, drop, port-distribution and httpV2 metrics with sourceContext/destinationContext (hubble-lab run enable-hubble sets them)',
        ]),
    ...flowOnlyDetails,
  ];
  const analysis: Analysis = {
    window: quality.window,
    totals: t,
    edges: summaries,
    drops: dropList,
    dns: {
      queries: allDns.queries,
      responses: allDns.responses,
      byRcode: sorted(allDns.byRcode),
      errors: dnsErrors(allDns.byRcode),
      searchPathNxdomain: 0,
      topNames: Object.entries(sorted(allDns.names))
        .slice(0, 10)
        .map(([name, queries]) => ({ name, queries })),
      latencyMs: null,
      l7: totals.dns > 0,
    },
    timeline: oneBucket(window, totals.flows, httpRequests + allDns.queries, t.httpErrors, totals.dropped),
    quality,
    // Which Service names led to which workloads is in flows (destination_service), not in Hubble's metrics.
    services: {},
    clients: null,
  };
  return { analysis, queries: d.queries };
}

/**
 * hubble_drop_total counts every DROPPED flow: a policy denial Hubble reports both as a drop and as a policy verdict
 * counts twice. As the flow report does, each denial counts once: the policy reasons lose the verdicts that have a
 * drop event beside them (min of the two), taken from the largest policy reason.
 */
function dedupeDenials(e: EdgeAcc): void {
  const policyReasons = ['POLICY_DENIED', 'POLICY_DENY'].filter((r) => (e.dropsByReason[r] ?? 0) > 0);
  const policyTotal = policyReasons.reduce((a, r) => a + e.dropsByReason[r]!, 0);
  const dropEventsPolicy = Math.max(0, policyTotal - e.verdictDrops);
  let excess = Math.min(e.verdictDrops, dropEventsPolicy);
  for (const r of policyReasons.sort((a, b) => e.dropsByReason[b]! - e.dropsByReason[a]!)) {
    const take = Math.min(excess, e.dropsByReason[r]!);
    e.dropsByReason[r]! -= take;
    excess -= take;
    if (e.dropsByReason[r] === 0) delete e.dropsByReason[r];
  }
}

/** The upper bound of the highest bucket that gained requests, per reporter and edge. */
async function maxBuckets(d: Deltas): Promise<Map<Key, number>> {
  const rows = await d.get('hubble_http_request_duration_seconds_bucket', ['source', 'destination', 'reporter', 'le']);
  // Cumulative buckets: the slowest request lies in the first bucket whose count reaches the total (+Inf's).
  const byEdge = new Map<Key, { le: number; value: number }[]>();
  for (const { labels: l, value } of rows) {
    const k = `${l['reporter']}${SEP}${edgeKey(endpointName(l['source']), endpointName(l['destination']))}`;
    const list = byEdge.get(k) ?? [];
    list.push({ le: l['le'] === '+Inf' ? Infinity : Number(l['le']), value });
    byEdge.set(k, list);
  }
  const out = new Map<Key, number>();
  for (const [k, list] of byEdge) {
    list.sort((a, b) => a.le - b.le);
    const total = list[list.length - 1]!.value;
    const first = list.find((b) => b.value >= total);
    if (first) out.set(k, Number.isFinite(first.le) ? first.le : bucketBounds[bucketBounds.length - 1]!);
  }
  return out;
}

/** Agents whose metrics were scraped in the window, and those whose target was down at some point in it. */
async function nodesOf(prom: PrometheusClient, window: MetricsWindow, matchers: string | undefined): Promise<{ seen: string[]; down: string[] }> {
  const range = Math.max(1, Math.ceil((window.end.getTime() - window.start.getTime()) / 1000));
  const up = selector('up', matchers, 'job="hubble-metrics"');
  const [seen, down] = await Promise.all([
    prom.query(`max by (node, instance) (max_over_time(${up}[${range}s]))`, window.end),
    prom.query(`max by (node, instance) (min_over_time(${up}[${range}s])) == 0`, window.end),
  ]);
  const name = (s: InstantSample) => s.metric['node'] ?? s.metric['instance'] ?? '(unknown)';
  return { seen: seen.map(name).sort(), down: down.map(name).sort() };
}
