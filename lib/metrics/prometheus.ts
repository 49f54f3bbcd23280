// A client for Prometheus' HTTP API (/api/v1: query, targets, label values) on undici. Works the same against
// Prometheus, Thanos Query and Mimir's Prometheus-compatible endpoint (a base URL with its path prefix).
import { request } from 'undici';
import { InfraError, UsageError } from '../errors.ts';

export interface InstantSample {
  metric: Record<string, string>;
  value: number;
}

export interface Target {
  job: string;
  health: 'up' | 'down' | 'unknown';
  scrapeUrl: string;
  labels: Record<string, string>;
  lastError: string;
  lastScrape: string;
}

/** Checks a --prometheus value: an http(s) URL; the API lives under it (a trailing slash is ignored). */
export function parsePrometheusUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--prometheus ${JSON.stringify(value)}: not a URL`, { hint: 'e.g. --prometheus http://127.0.0.1:9090' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--prometheus ${JSON.stringify(value)}: only http and https are supported`, { hint: 'e.g. --prometheus http://127.0.0.1:9090' });
  }
  return url;
}

export class PrometheusClient {
  readonly base: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(url: string | URL, opts: { timeoutMs?: number; headers?: Record<string, string> } = {}) {
    this.base = String(url).replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    // Mimir and Thanos tenants: X-Scope-OrgID and friends.
    this.headers = opts.headers ?? {};
  }

  private async get<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const url = `${this.base}/api/v1/${path}${Object.keys(params).length ? `?${new URLSearchParams(params)}` : ''}`;
    let status: number;
    let text: string;
    try {
      const res = await request(url, {
        method: 'GET',
        headers: { accept: 'application/json', ...this.headers },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new InfraError(`Prometheus at ${this.base} did not answer: ${(err as Error).message}`, {
        hint: 'check the URL, or that the port-forward to Prometheus is still open',
        cause: err,
      });
    }
    let body: { status?: string; data?: T; errorType?: string; error?: string };
    try {
      body = JSON.parse(text);
    } catch {
      throw new InfraError(`Prometheus at ${this.base} answered ${path} with HTTP ${status} and no JSON (is this a Prometheus API?)`);
    }
    if (body.status !== 'success' || body.data === undefined) {
      throw new InfraError(`Prometheus at ${this.base} refused ${path}: ${body.errorType ?? `HTTP ${status}`}: ${body.error ?? 'no error message'}`);
    }
    return body.data;
  }

  /** An instant query; vectors and scalars as samples (a scalar has no labels). */
  async query(expr: string, time?: Date): Promise<InstantSample[]> {
    const data = await this.get<{ resultType: string; result: any }>('query', { query: expr, ...(time ? { time: (time.getTime() / 1000).toFixed(3) } : {}) });
    if (data.resultType === 'scalar') return [{ metric: {}, value: Number(data.result[1]) }];
    if (data.resultType !== 'vector') throw new InfraError(`Prometheus answered ${expr} with a ${data.resultType}, not a vector`);
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  async targets(): Promise<Target[]> {
    const data = await this.get<{ activeTargets: any[] }>('targets', { state: 'active' });
    return data.activeTargets.map((t) => ({
      job: String(t.labels?.job ?? t.scrapePool ?? ''),
      health: t.health,
      scrapeUrl: t.scrapeUrl,
      labels: t.labels ?? {},
      lastError: t.lastError ?? '',
      lastScrape: t.lastScrape ?? '',
    }));
  }

  /** Every metric name with samples in the TSDB. */
  async metricNames(): Promise<string[]> {
    return this.get<string[]>('label/__name__/values');
  }

  /** The server's build (version), to report what answered. */
  async buildInfo(): Promise<{ version: string }> {
    return this.get<{ version: string }>('status/buildinfo');
  }
}
