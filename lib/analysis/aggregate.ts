// One pass over Hubble records into the analysis every report is written from: edges, HTTP, DNS, TCP, drops, timeline, quality.
import type { Flow, GetFlowsResponse } from '../flows/types.ts';
import { createDnsStats, mergeDns, observeDns, summarizeDns, type DnsStats, type DnsSummary } from './dns.ts';
import type { ClientView } from './clients.ts';
import { DenialPairing } from './denials.ts';
import { EdgeDrillDowns, type DrillDown } from './drilldown.ts';
import { createEdgeDrops, isPolicyReason, mergeDrops, observeDrop, verdictEventReason, type EdgeDrops, type FlowExample } from './drops.ts';
import { EdgeTable, PROTOCOLS, eventTypeName, isPolicyVerdict, portOfKey, type Edge } from './edges.ts';
import { HTTP_ERROR, HTTP_REQUEST, HttpAnalyzer, createHttpStats, mergeHttp, summarizeHttp, type HttpStats, type HttpSummary } from './http.ts';
import { QualityTracker, type InputRead, type QualitySummary, type UnknownValue } from './quality.ts';
import { TcpTracker, createTcpStats, mergeTcp, summarizeTcp, type TcpStats, type TcpSummary } from './tcp.ts';
import { Timeline, type TimelineSummary } from './timeline.ts';

interface EdgeExtra {
  drill: EdgeDrillDowns;
  drops: EdgeDrops;
  tcp: TcpStats;
  http: HttpStats | undefined;
  dns: DnsStats | undefined;
}

export interface EdgeSummary {
  source: string;
  destination: string;
  sourceLabels: Record<string, string>;
  destinationLabels: Record<string, string>;
  flows: number;
  forwarded: number;
  dropped: number;
  replies: number;
  delivered: number;
  /** Policy-verdict records among `flows`. */
  policyVerdicts: number;
  verdicts: Record<string, number>;
  dropsByReason: Record<string, number>;
  /** Denied packets, each counted once (a drop event, or a denying policy-verdict event without one). */
  policyDenied: number;
  /** Of policyDenied, the connections' first SYNs. */
  policyDeniedSyns: number;
  policyDeniedBy: { ingress: number; egress: number; unknown: number };
  ports: { protocol: string; port: number | null; flows: number }[];
  protocols: Record<string, number>;
  tcp: TcpSummary | null;
  http: HttpSummary | null;
  dns: DnsSummary | null;
  firstSeen: string | null;
  lastSeen: string | null;
  dropExamples: FlowExample[];
  /** The observe filters behind the edge's findings, with the flows each prints. */
  drilldowns: EdgeDrillDownSummary;
}

export interface EdgeDrillDownSummary {
  /** The policy denials. */
  denied: DrillDown | null;
  /** Drops by reason. */
  drops: ({ reason: string } & DrillDown)[];
  /** HTTP responses with status >= 400. */
  httpErrors: DrillDown | null;
  /** DNS responses to the client. */
  dns: DrillDown | null;
  /** Forwarded request-direction flows. */
  forwarded: DrillDown | null;
}

export interface DropSummary {
  reason: string;
  count: number;
  /** POLICY_DENIED or POLICY_DENY. */
  policy: boolean;
  edges: { source: string; destination: string; count: number }[];
  examples: FlowExample[];
}

export interface Totals {
  /** Every flow record read and kept by the filters: packets' flows, L7 flows and policy-verdict records. */
  flows: number;
  /** Every verdict seen over all flow records, unknown names included: sums to `flows`. */
  verdicts: Record<string, number>;
  /** Flow records by event type (trace, drop, policy-verdict, l7, sock, other, unknown): sums to `flows`. */
  eventTypes: Record<string, number>;
  /** Policy-verdict records by verdict: decisions, not packets. */
  policyVerdicts: Record<string, number>;
  /** Packet and L7 flows (policy-verdict records left out) with verdict FORWARDED. */
  forwarded: number;
  /** Packet flows (policy-verdict records left out) with verdict DROPPED. */
  dropped: number;
  /** Packets denied by policy, each once: drop events, and denying policy-verdict events that had no drop event. */
  policyDenied: number;
  malformedLines: number;
  lostEvents: number;
  /** L7 requests, each counted once: HTTP requests plus DNS queries. */
  l7Requests: number;
  httpRequests: number;
  httpErrors: number;
  dnsQueries: number;
  edges: number;
  endpoints: number;
}

export interface Analysis {
  window: { start: string | null; end: string | null; seconds: number };
  /** Which endpoints each Service (`namespace/name`) led to, from the request flows' destination_service. */
  services: Record<string, string[]>;
  /** The clients' own account of the traffic (the lab's generator), when one was given: see clients.ts. */
  clients: ClientView | null;
  totals: Totals;
  edges: EdgeSummary[];
  drops: DropSummary[];
  dns: DnsSummary & { l7: boolean };
  timeline: TimelineSummary;
  quality: QualitySummary;
}

export interface AggregatorOptions {
  /** Flows for which this is false are left out (filters); lost events and node status always count. */
  accept?: (flow: Flow) => boolean;
}

const EXAMPLES_PER_REASON = 5;
const POLICY_REASONS: ReadonlySet<string> = new Set(['POLICY_DENIED', 'POLICY_DENY']);
const MAX_SERVICES = 1000;
const EDGES_PER_REASON = 10;

let cachedSecond = '';
let cachedSecondMs = 0;

/**
 * Parses an RFC 3339 time to epoch ms (with the sub-millisecond fraction); undefined when absent or unparsable.
 * Consecutive flows share their second, so `…THH:MM:SS` is parsed once and only the fraction per flow.
 */
export function timeMs(time: string | undefined): number | undefined {
  if (!time) return undefined;
  const n = time.length;
  if (n >= 20 && time.charCodeAt(n - 1) === 0x5a /* Z */ && (n === 20 || time.charCodeAt(19) === 0x2e) /* . */) {
    if (!time.startsWith(cachedSecond) || cachedSecond.length !== 19) {
      const second = time.slice(0, 19);
      const ms = Date.parse(`${second}Z`);
      if (Number.isNaN(ms)) return undefined;
      cachedSecond = second;
      cachedSecondMs = ms;
    }
    let fraction = 0;
    let weight = 100;
    for (let i = 20; i < n - 1; i++) {
      const d = time.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return slowTimeMs(time);
      fraction += d * weight;
      weight /= 10;
    }
    return cachedSecondMs + fraction;
  }
  return slowTimeMs(time);
}

function slowTimeMs(time: string): number | undefined {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
}

function iso(ms: number): string | null {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

export class FlowAggregator {
  private readonly table = new EdgeTable<EdgeExtra>((source, destination) => ({
    drops: createEdgeDrops(),
    tcp: createTcpStats(),
    http: undefined,
    dns: undefined,
    drill: new EdgeDrillDowns(source, destination),
  }));
  private readonly http = new HttpAnalyzer();
  private readonly tcp = new TcpTracker();
  private readonly timeline = new Timeline();
  readonly quality = new QualityTracker();
  private readonly accept: ((flow: Flow) => boolean) | undefined;
  private readonly denials = new DenialPairing();
  private readonly verdicts = new Map<string, number>();
  private readonly eventTypes = new Map<string, number>();
  private readonly verdictEvents = new Map<string, number>();
  private readonly services = new Map<string, Set<string>>();
  private flowCount = 0;
  private filteredOut = 0;

  constructor(opts: AggregatorOptions = {}) {
    this.accept = opts.accept;
  }

  add(resp: GetFlowsResponse): void {
    if (resp.flow) {
      if (!resp.flow.time && resp.time) resp.flow.time = resp.time;
      if (!resp.flow.node_name && resp.node_name) resp.flow.node_name = resp.node_name;
      this.addFlow(resp.flow);
    } else if (resp.lost_events) this.quality.observeLost(resp);
    else if (resp.node_status) this.quality.observeNodeStatus(resp);
  }

  addFlow(flow: Flow): void {
    if (this.accept && !this.accept(flow)) {
      this.filteredOut++;
      return;
    }
    this.flowCount++;
    const verdict = flow.verdict ?? 'VERDICT_UNKNOWN';
    bump(this.verdicts, verdict);
    bump(this.eventTypes, eventTypeName(flow));
    const t = timeMs(flow.time);
    const edge = this.table.attribute(flow, t);
    const reply = this.table.lastReply;
    const extra = edge.extra;
    extra.drill.observe(flow, reply);
    if (isPolicyVerdict(flow)) {
      // A policy decision next to the packet's own flow (its trace or its drop), which carries the counts. A denial
      // with no drop event of its packet in the input is the only record of that packet: it counts as the denial.
      bump(this.verdictEvents, verdict);
      if (verdict === 'DROPPED') this.denials.verdict(flow, t, () => observeDrop(extra.drops, flow, verdictEventReason(flow)));
      this.quality.observeFlow(flow, t);
      if (t !== undefined) this.timeline.add(t, false, false, false);
      return;
    }
    const svc = flow.destination_service;
    if (svc?.name && !reply) this.noteService(`${svc.namespace ?? ''}/${svc.name}`, edge.destination.name);
    let drop = false;
    if (verdict === 'DROPPED') {
      if (isPolicyReason(observeDrop(extra.drops, flow))) this.denials.drop(flow, t);
      drop = true;
    }
    let request = false;
    let error = false;
    const l7 = flow.l7;
    if (l7) {
      if (l7.http) {
        const e = this.http.observe((extra.http ??= createHttpStats()), edge.key, flow, t);
        request = (e & HTTP_REQUEST) !== 0;
        error = (e & HTTP_ERROR) !== 0;
      } else if (l7.dns) {
        const dns = (extra.dns ??= createDnsStats());
        const before = dns.queries;
        observeDns(dns, flow);
        request = dns.queries > before;
      }
    } else if (flow.l4?.TCP) {
      this.tcp.observe(extra.tcp, flow, reply, t);
    }
    this.quality.observeFlow(flow, t);
    if (t !== undefined) this.timeline.add(t, request, error, drop);
  }

  private noteService(service: string, server: string): void {
    let servers = this.services.get(service);
    if (!servers) {
      if (this.services.size >= MAX_SERVICES) return;
      servers = new Set();
      this.services.set(service, servers);
    }
    if (servers.size < MAX_SERVICES) servers.add(server);
  }

  /** Flows counted so far (after the filters). */
  get flowsCounted(): number {
    return this.flowCount;
  }

  /** Flows the filters left out. */
  get skippedByFilter(): number {
    return this.filteredOut;
  }

  /** Ends the pass: settles pending L7 pairings and returns the analysis. */
  finish(read?: InputRead, unknownValues?: readonly UnknownValue[]): Analysis {
    this.http.finish();
    this.denials.finish();
    this.table.consolidate(mergeExtra);
    if (read) this.quality.setRead(read, unknownValues);
    this.quality.setFiltered(this.filteredOut);
    const quality = this.quality.summary();
    const allDns = createDnsStats(1000);
    for (const edge of this.table.edges.values()) if (edge.extra.dns) mergeDns(allDns, edge.extra.dns);
    const edges = [...this.table.edges.values()].map((e) => summarizeEdge(e, allDns.answered));
    edges.sort((a, b) => b.flows - a.flows || cmp(a.source, b.source) || cmp(a.destination, b.destination));
    const totals: Totals = {
      flows: this.flowCount,
      verdicts: sortedObject(this.verdicts),
      eventTypes: sortedObject(this.eventTypes),
      policyVerdicts: sortedObject(this.verdictEvents),
      forwarded: sum(edges, (e) => e.forwarded),
      dropped: sum(edges, (e) => e.dropped),
      policyDenied: sum(edges, (e) => e.policyDenied),
      malformedLines: quality.malformedLines,
      lostEvents: quality.lostEvents.total,
      httpRequests: sum(edges, (e) => e.http?.requests ?? 0),
      httpErrors: sum(edges, (e) => e.http?.errors ?? 0),
      dnsQueries: allDns.queries,
      l7Requests: 0,
      edges: edges.length,
      endpoints: new Set(edges.flatMap((e) => [e.source, e.destination])).size,
    };
    totals.l7Requests = totals.httpRequests + totals.dnsQueries;
    return {
      window: quality.window,
      services: Object.fromEntries([...this.services].sort(([a], [b]) => cmp(a, b)).map(([svc, servers]) => [svc, [...servers].sort()])),
      clients: null,
      totals,
      edges,
      drops: summarizeDrops(this.table.edges.values()),
      dns: { ...summarizeDns(allDns), l7: quality.l7.dns > 0 },
      timeline: this.timeline.summary(),
      quality,
    };
  }
}

function mergeExtra(into: EdgeExtra, from: EdgeExtra): void {
  mergeDrops(into.drops, from.drops);
  mergeTcp(into.tcp, from.tcp);
  if (from.http) mergeHttp((into.http ??= createHttpStats()), from.http);
  if (from.dns) mergeDns((into.dns ??= createDnsStats()), from.dns);
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Counts as an object, largest first (ties by name), so reports list them in a stable order. */
function sortedObject(counts: Map<string, number>): Record<string, number> {
  const entries = [...counts].sort((a, b) => b[1] - a[1] || cmp(a[0], b[0]));
  return Object.fromEntries(entries);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += f(item);
  return total;
}

function verdictCounts(edge: Edge<EdgeExtra>): Record<string, number> {
  const out: Record<string, number> = {};
  if (edge.forwarded) out.FORWARDED = edge.forwarded;
  if (edge.dropped) out.DROPPED = edge.dropped;
  for (const [verdict, n] of edge.otherVerdicts) out[verdict] = n;
  return out;
}

function summarizeEdge(edge: Edge<EdgeExtra>, answeredNames: ReadonlySet<string>): EdgeSummary {
  const { drops, tcp, http, dns } = edge.extra;
  return {
    source: edge.source.name,
    destination: edge.destination.name,
    sourceLabels: edge.source.labels,
    destinationLabels: edge.destination.labels,
    flows: edge.flows,
    forwarded: edge.forwarded,
    dropped: edge.dropped,
    replies: edge.replies,
    delivered: edge.delivered,
    policyVerdicts: edge.policyVerdicts,
    verdicts: verdictCounts(edge),
    dropsByReason: drops.byReason.toObject(),
    policyDenied: drops.policyDenied,
    policyDeniedSyns: drops.policyDeniedSyns,
    policyDeniedBy: { ...drops.policyDeniedBy },
    ports: [...edge.ports].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([key, flows]) => ({ ...portOfKey(key), flows })),
    protocols: Object.fromEntries(PROTOCOLS.map((name, i) => [name, edge.protocols[i]!]).filter(([, n]) => n !== 0)),
    tcp: summarizeTcp(tcp),
    http: http ? summarizeHttp(http) : null,
    dns: dns ? summarizeDns(dns, answeredNames) : null,
    firstSeen: iso(edge.firstMs),
    lastSeen: iso(edge.lastMs),
    dropExamples: drops.examples,
    drilldowns: {
      denied: edge.extra.drill.reasonDrillDown(POLICY_REASONS),
      drops: drops.byReason.top().flatMap(({ key: reason }) => {
        const d = edge.extra.drill.reasonDrillDown(new Set([reason]));
        return d ? [{ reason, ...d }] : [];
      }),
      httpErrors: edge.extra.drill.httpErrorDrillDown(),
      dns: edge.extra.drill.dnsDrillDown(),
      forwarded: edge.extra.drill.forwardedDrillDown(),
    },
  };
}

function summarizeDrops(edges: Iterable<Edge<EdgeExtra>>): DropSummary[] {
  const byReason = new Map<string, DropSummary>();
  for (const edge of edges) {
    const drops = edge.extra.drops;
    for (const { key: reason, count } of drops.byReason.top()) {
      let d = byReason.get(reason);
      if (!d) {
        d = { reason, count: 0, policy: isPolicyReason(reason), edges: [], examples: [] };
        byReason.set(reason, d);
      }
      d.count += count;
      d.edges.push({ source: edge.source.name, destination: edge.destination.name, count });
      for (const ex of drops.examples) {
        if (ex.reason === reason && d.examples.length < EXAMPLES_PER_REASON) d.examples.push(ex);
      }
    }
  }
  const out = [...byReason.values()];
  for (const d of out) {
    d.edges.sort((a, b) => b.count - a.count || cmp(a.source, b.source) || cmp(a.destination, b.destination));
    d.edges = d.edges.slice(0, EDGES_PER_REASON);
  }
  out.sort((a, b) => b.count - a.count || cmp(a.reason, b.reason));
  return out;
}
