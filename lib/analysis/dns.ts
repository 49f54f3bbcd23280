// DNS from L7 DNS flows (Cilium's DNS proxy): queries, names asked, response codes and answer latency, per edge and overall.
import type { Flow } from '../flows/types.ts';
import { CappedCounter } from './counter.ts';
import { LatencySketch, type LatencySummary } from './latency.ts';

const RCODES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
};

export function rcodeName(rcode: number | undefined): string {
  const n = rcode ?? 0;
  return RCODES[n] ?? `RCODE${n}`;
}

const MAX_NAMES_PER_EDGE = 200;
const TOP_NAMES = 10;

export interface DnsStats {
  queries: number;
  responses: number;
  byRcode: CappedCounter;
  names: CappedCounter;
  latency: LatencySketch;
}

export interface DnsSummary {
  queries: number;
  responses: number;
  byRcode: Record<string, number>;
  topNames: { name: string; queries: number }[];
  /** Answer latency in ms from DNS RESPONSE flows; null when none carried one. */
  latencyMs: LatencySummary | null;
}

export function createDnsStats(maxNames = MAX_NAMES_PER_EDGE): DnsStats {
  return { queries: 0, responses: 0, byRcode: new CappedCounter(32), names: new CappedCounter(maxNames), latency: new LatencySketch() };
}

function queryName(q: string | undefined): string {
  if (!q) return '(empty)';
  return q.length > 1 && q.endsWith('.') ? q.slice(0, -1) : q;
}

/** Counts one L7 DNS flow: a REQUEST is a query, a RESPONSE an answer with its rcode and latency. */
export function observeDns(stats: DnsStats, flow: Flow): void {
  const l7 = flow.l7!;
  const dns = l7.dns!;
  if (l7.type === 'REQUEST') {
    stats.queries++;
    stats.names.add(queryName(dns.query));
  } else if (l7.type === 'RESPONSE') {
    stats.responses++;
    stats.byRcode.add(rcodeName(dns.rcode));
    const ns = l7.latency_ns;
    if (ns && ns !== '0') stats.latency.add(Number(ns) / 1e6);
  }
}

export function mergeDns(into: DnsStats, from: DnsStats): void {
  into.queries += from.queries;
  into.responses += from.responses;
  into.byRcode.merge(from.byRcode);
  into.names.merge(from.names);
  into.latency.merge(from.latency);
}

export function summarizeDns(s: DnsStats): DnsSummary {
  return {
    queries: s.queries,
    responses: s.responses,
    byRcode: s.byRcode.toObject(),
    topNames: s.names.top(TOP_NAMES).map((e) => ({ name: e.key, queries: e.count })),
    latencyMs: s.latency.summary(),
  };
}
