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
const MAX_ANSWERED_NAMES = 2000;
const TOP_NAMES = 10;

export interface DnsStats {
  queries: number;
  responses: number;
  byRcode: CappedCounter;
  names: CappedCounter;
  /** Names answered NOERROR: what a search-path expansion is recognised by. */
  answered: Set<string>;
  /** NXDOMAIN answers by query name. */
  nxdomain: CappedCounter;
  latency: LatencySketch;
}

export interface DnsSummary {
  queries: number;
  responses: number;
  /** Every answer by response code, search-path NXDOMAINs included. */
  byRcode: Record<string, number>;
  /** Answers that were failures: byRcode without NOERROR and without the search-path NXDOMAINs. */
  errors: Record<string, number>;
  /**
   * NXDOMAIN answers to search-path expansions (`name.ns.svc.cluster.local` for `name`, from the resolver's
   * ndots:5) of names that were then answered: how resolvers work, not failures.
   */
  searchPathNxdomain: number;
  /** Names as the clients asked for them: expansions are counted under the name they expanded. */
  topNames: { name: string; queries: number }[];
  /** Answer latency in ms from DNS RESPONSE flows; null when none carried one. */
  latencyMs: LatencySummary | null;
}

export function createDnsStats(maxNames = MAX_NAMES_PER_EDGE): DnsStats {
  return {
    queries: 0,
    responses: 0,
    byRcode: new CappedCounter(32),
    names: new CappedCounter(maxNames),
    answered: new Set(),
    nxdomain: new CappedCounter(maxNames),
    latency: new LatencySketch(),
  };
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
    const rcode = rcodeName(dns.rcode);
    stats.byRcode.add(rcode);
    if (rcode === 'NOERROR') {
      if (stats.answered.size < MAX_ANSWERED_NAMES) stats.answered.add(queryName(dns.query));
    } else if (rcode === 'NXDOMAIN') stats.nxdomain.add(queryName(dns.query));
    const ns = l7.latency_ns;
    if (ns && ns !== '0') stats.latency.add(Number(ns) / 1e6);
  }
}

export function mergeDns(into: DnsStats, from: DnsStats): void {
  into.queries += from.queries;
  into.responses += from.responses;
  into.byRcode.merge(from.byRcode);
  into.names.merge(from.names);
  for (const name of from.answered) if (into.answered.size < MAX_ANSWERED_NAMES) into.answered.add(name);
  into.nxdomain.merge(from.nxdomain);
  into.latency.merge(from.latency);
}

/**
 * The name a query expanded through the search list, when it did: `a.b.ns.svc.cluster.local` is `a.b` (or `a`)
 * followed by a search domain, where that shorter name was answered. Otherwise the name itself.
 */
export function askedName(name: string, answered: ReadonlySet<string>): string {
  if (answered.has(name)) return name;
  for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.', dot + 1)) {
    const base = name.slice(0, dot);
    if (answered.has(base)) return base;
  }
  return name;
}

/** `answered`: the names answered anywhere in the input, so that an expansion on one edge is known by another's answer. */
export function summarizeDns(s: DnsStats, answered: ReadonlySet<string> = s.answered): DnsSummary {
  const errors = s.byRcode.toObject();
  delete errors.NOERROR;
  let searchPath = 0;
  for (const { key, count } of s.nxdomain.top()) if (askedName(key, answered) !== key) searchPath += count;
  if (searchPath > 0) {
    const left = (errors.NXDOMAIN ?? 0) - searchPath;
    if (left > 0) errors.NXDOMAIN = left;
    else delete errors.NXDOMAIN;
  }
  const grouped = new CappedCounter(s.names.capacity);
  for (const { key, count } of s.names.top()) grouped.add(askedName(key, answered), count);
  return {
    queries: s.queries,
    responses: s.responses,
    byRcode: s.byRcode.toObject(),
    errors,
    searchPathNxdomain: searchPath,
    topNames: grouped.top(TOP_NAMES).map((e) => ({ name: e.key, queries: e.count })),
    latencyMs: s.latency.summary(),
  };
}
