// HTTP per edge from L7 flows: requests and responses counted once across both proxies, status codes, methods, paths, latency.
import type { Flow } from '../flows/types.ts';
import { CappedCounter, type CountEntry } from './counter.ts';
import { DualObservationMatcher, type ProxySide } from './dual-observation.ts';
import { LatencySketch, type LatencySummary } from './latency.ts';

const MAX_PATHS_PER_EDGE = 200;
const TOP_PATHS = 10;
/** The two proxy sightings of one exchange are milliseconds apart; a second leaves room for clock skew between nodes. */
const PAIR_WINDOW_MS = 1000;

export interface HttpStats {
  requests: number;
  responses: number;
  errors: number;
  errors5xx: number;
  byStatus: CappedCounter;
  methods: CappedCounter;
  paths: CappedCounter;
  latency: LatencySketch;
  /** REQUEST sightings by proxy: client (EGRESS), server (INGRESS), and how many exchanges were seen at both. */
  sightings: { client: number; server: number; unknown: number; both: number };
}

export interface HttpSummary {
  requests: number;
  responses: number;
  errors: number;
  errors5xx: number;
  /** errors / responses, or null without responses. */
  errorRate: number | null;
  byStatus: Record<string, number>;
  methods: Record<string, number>;
  topPaths: { path: string; requests: number }[];
  /** Request latency in ms from RESPONSE flows (server side when both proxies saw the exchange); null without any. */
  latencyMs: LatencySummary | null;
  sightings: { client: number; server: number; unknown: number; both: number };
}

export function createHttpStats(): HttpStats {
  return {
    requests: 0,
    responses: 0,
    errors: 0,
    errors5xx: 0,
    byStatus: new CappedCounter(100),
    methods: new CappedCounter(32),
    paths: new CappedCounter(MAX_PATHS_PER_EDGE),
    latency: new LatencySketch(),
    sightings: { client: 0, server: 0, unknown: 0, both: 0 },
  };
}

/** Adds another edge's HTTP counts (the same endpoint, first known by another name). */
export function mergeHttp(into: HttpStats, from: HttpStats): void {
  into.requests += from.requests;
  into.responses += from.responses;
  into.errors += from.errors;
  into.errors5xx += from.errors5xx;
  into.byStatus.merge(from.byStatus);
  into.methods.merge(from.methods);
  into.paths.merge(from.paths);
  into.latency.merge(from.latency);
  for (const k of ['client', 'server', 'unknown', 'both'] as const) into.sightings[k] += from.sightings[k];
}

/** The path of a URL (absolute or not), without query or fragment. */
export function urlPath(url: string | undefined): string {
  if (!url) return '/';
  let start = 0;
  const scheme = url.indexOf('://');
  if (scheme !== -1) {
    const slash = url.indexOf('/', scheme + 3);
    if (slash === -1) return '/';
    start = slash;
  }
  let end = url.length;
  const q = url.indexOf('?', start);
  if (q !== -1) end = q;
  const h = url.indexOf('#', start);
  if (h !== -1 && h < end) end = h;
  const path = url.slice(start, end);
  return path.length === 0 ? '/' : path;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMBER = /^\d+$/;
const HEX_ID = /^(?=.*\d)[0-9a-f]{8,}$/i;
/** Mixed letters and digits of some length (doc_123, a1b2c3d4, 2024-01-01): an id, not a word. */
const MIXED_ID = /^(?=.*\d)(?=.*[A-Za-z_-])[A-Za-z0-9_.:-]{6,}$/;
const VERSION = /^v\d+(\.\d+)*$/i;

function isIdSegment(segment: string): boolean {
  if (segment.length === 0 || VERSION.test(segment)) return false;
  return NUMBER.test(segment) || UUID.test(segment) || HEX_ID.test(segment) || MIXED_ID.test(segment) || (/\d/.test(segment) && segment.length >= 16);
}

/** Replaces ids in a path with `{id}` so `/api/v1/results/42` and `/api/v1/results/43` are one path. */
export function templatePath(path: string): string {
  if (!/\d/.test(path)) return path;
  return path
    .split('/')
    .map((s) => (isIdSegment(s) ? '{id}' : s))
    .join('/');
}

function proxySide(flow: Flow): ProxySide {
  const d = flow.traffic_direction;
  return d === 'EGRESS' || d === 'INGRESS' ? d : 'UNKNOWN';
}

function latencyMs(flow: Flow): number | undefined {
  const ns = flow.l7?.latency_ns;
  if (ns === undefined || ns === '' || ns === '0') return undefined;
  const v = Number(ns);
  return Number.isFinite(v) ? v / 1e6 : undefined;
}

interface ResponseSighting {
  stats: HttpStats;
  latencyMs: number | undefined;
}

/** What one HTTP flow added, for the timeline, as bits: a new request, a new error response. */
export const HTTP_REQUEST = 1;
export const HTTP_ERROR = 2;
const NOTHING = 0;

/** Counts HTTP flows onto their edges' stats, each exchange once even when both proxies reported it. */
export class HttpAnalyzer {
  private readonly requestPairs = new DualObservationMatcher<HttpStats>({
    windowMs: PAIR_WINDOW_MS,
    onPair: (server) => server.sightings.both++,
    onSingle: () => {},
  });
  private readonly responsePairs = new DualObservationMatcher<ResponseSighting>({
    windowMs: PAIR_WINDOW_MS,
    // The server-side proxy's latency excludes the client-side hop: it is the server's own time.
    onPair: (server, client) => addLatency(server.latencyMs !== undefined ? server : client),
    onSingle: (only) => addLatency(only),
  });

  observe(stats: HttpStats, edgeKey: string, flow: Flow, timeMs: number | undefined): number {
    const l7 = flow.l7!;
    const http = l7.http!;
    const side = proxySide(flow);
    const path = urlPath(http.url);
    const method = http.method ?? '';
    if (l7.type === 'REQUEST') {
      if (side === 'EGRESS') stats.sightings.client++;
      else if (side === 'INGRESS') stats.sightings.server++;
      else stats.sightings.unknown++;
      const key = `${edgeKey}\u0001Q\u0001${method}\u0001${path}`;
      if (this.requestPairs.observe(key, side, timeMs, stats)) return NOTHING;
      stats.requests++;
      if (method) stats.methods.add(method);
      stats.paths.add(templatePath(path));
      return HTTP_REQUEST;
    }
    if (l7.type === 'RESPONSE') {
      const code = http.code ?? 0;
      const key = `${edgeKey}\u0001R\u0001${method}\u0001${path}\u0001${code}`;
      if (this.responsePairs.observe(key, side, timeMs, { stats, latencyMs: latencyMs(flow) })) return NOTHING;
      stats.responses++;
      stats.byStatus.add(String(code));
      const error = code >= 400;
      if (error) stats.errors++;
      if (code >= 500) stats.errors5xx++;
      return error ? HTTP_ERROR : NOTHING;
    }
    return NOTHING;
  }

  /** Settles exchanges still waiting for a second sighting: call once at the end of the stream. */
  finish(): void {
    this.requestPairs.flush();
    this.responsePairs.flush();
  }
}

function addLatency(s: ResponseSighting): void {
  if (s.latencyMs !== undefined) s.stats.latency.add(s.latencyMs);
}

function entries(top: CountEntry[]): { path: string; requests: number }[] {
  return top.map((e) => ({ path: e.key, requests: e.count }));
}

export function summarizeHttp(s: HttpStats): HttpSummary {
  return {
    requests: s.requests,
    responses: s.responses,
    errors: s.errors,
    errors5xx: s.errors5xx,
    errorRate: s.responses > 0 ? s.errors / s.responses : null,
    byStatus: s.byStatus.toObject(),
    methods: s.methods.toObject(),
    topPaths: entries(s.paths.top(TOP_PATHS)),
    latencyMs: s.latency.summary(),
    sightings: { ...s.sightings },
  };
}
