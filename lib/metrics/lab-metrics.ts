// The lab's metrics section: for the window of the flows it analysed, the same analysis from Hubble metrics in the
// run's Prometheus, reconciled with the flows; or why there are no metrics.
import type { Analysis } from '../analysis/aggregate.ts';
import type { Compliance } from '../analysis/compliance.ts';
import { analyzeFromMetrics } from './analysis.ts';
import { PrometheusClient } from './prometheus.ts';
import { reconcile, withMismatchWarning, type Reconciliation } from './reconcile.ts';

/** What deploy-monitoring hands to later tasks about metrics in this run (ctx.shared.metrics). */
export interface MetricsState {
  collected: boolean;
  /** Why not, when not collected. */
  reason?: string;
  /** The forwarded Prometheus API, when collected. */
  url?: string;
}

export interface MetricsSection {
  /** The Prometheus API the numbers came from; null when metrics were not collected. */
  source: string | null;
  window: { start: string; end: string; seconds: number } | null;
  reconciliation: Reconciliation | null;
  /** Why there is no reconciliation, when there is none. */
  note: string | null;
}

export interface LabMetricsOptions {
  namespaces: string[];
  /** The scrape job of the agents. */
  job?: string;
  /** How long to wait for the scrape that follows the window's last flow. */
  scrapeTimeoutMs?: number;
  signal?: AbortSignal;
}

export function notCollected(reason: string): MetricsSection {
  return { source: null, window: null, reconciliation: null, note: `metrics were not collected: ${reason}` };
}

/**
 * Resolves once every agent target was scraped after `after` (so its counters include the window's last flow), with
 * the time of the latest of those scrapes: reading the counters at it adds as little as possible after the window.
 */
export async function waitForScrape(prom: PrometheusClient, after: Date, opts: { job: string; timeoutMs: number; signal?: AbortSignal }): Promise<Date> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const targets = (await prom.targets()).filter((t) => t.job === opts.job);
    if (targets.length > 0 && targets.every((t) => t.health === 'up' && Date.parse(t.lastScrape) > after.getTime())) {
      return new Date(Math.max(...targets.map((t) => Date.parse(t.lastScrape))) + 1);
    }
    if (Date.now() > deadline) {
      const late = targets.filter((t) => !(Date.parse(t.lastScrape) > after.getTime())).map((t) => t.labels['instance'] ?? t.scrapeUrl);
      throw new Error(`no scrape of ${late.join(', ') || `job ${opts.job}`} after ${after.toISOString()} within ${opts.timeoutMs / 1000}s`);
    }
    if (opts.signal?.aborted) throw new Error('interrupted');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The flows' window [first flow, last flow] read from metrics and reconciled. A failure to read metrics is not the
 * run's failure: the section says what went wrong instead.
 */
export async function labMetricsSection(
  url: string,
  fromFlows: Analysis,
  opts: LabMetricsOptions,
): Promise<{ section: MetricsSection; fromMetrics?: Analysis }> {
  const { start, end } = fromFlows.window;
  if (!start || !end) return { section: { source: url, window: null, reconciliation: null, note: 'no flows in the run: nothing to reconcile' } };
  const window = { start: new Date(Date.parse(start)), end: new Date(Date.parse(end)) };
  const prom = new PrometheusClient(url, { timeoutMs: 15_000 });
  try {
    const scraped = await waitForScrape(prom, window.end, {
      job: opts.job ?? 'hubble-metrics',
      timeoutMs: opts.scrapeTimeoutMs ?? 30_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    // Counters are read at the scrapes around the window: the last one before its first flow, the first after its last.
    const readAt = { start: window.start, end: scraped };
    const { analysis } = await analyzeFromMetrics(prom, readAt, { namespaces: opts.namespaces });
    return {
      section: {
        source: url,
        window: { start: readAt.start.toISOString(), end: readAt.end.toISOString(), seconds: (readAt.end.getTime() - readAt.start.getTime()) / 1000 },
        reconciliation: reconcile(fromFlows, analysis),
        note: null,
      },
      fromMetrics: analysis,
    };
  } catch (err) {
    return { section: { source: url, window: null, reconciliation: null, note: `metrics could not be read from ${url}: ${(err as Error).message}` } };
  }
}

/**
 * The lab's analyze step: the metrics section for the report and the verdict with a reconciliation mismatch as a
 * completeness warning. No state (the deploy-monitoring step did not run): metrics were not collected.
 */
export async function labMetrics(
  state: MetricsState | undefined,
  fromFlows: Analysis,
  compliance: Compliance,
  opts: LabMetricsOptions,
): Promise<{ metrics: MetricsSection; compliance: Compliance }> {
  if (!state) return { metrics: notCollected('the deploy-monitoring step did not run'), compliance };
  if (!state.collected || !state.url) return { metrics: notCollected(state.reason ?? 'no Prometheus in this run'), compliance };
  const { section } = await labMetricsSection(state.url, fromFlows, opts);
  return { metrics: section, compliance: section.reconciliation ? withMismatchWarning(compliance, section.reconciliation) : compliance };
}
