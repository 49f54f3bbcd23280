// `hubble-lab analyze --prometheus URL`: the flags it takes (a window and namespaces; the other flow filters need
// flows) and the analysis it reads from Prometheus, Thanos Query or Mimir for the report and the gate.
import type { Analysis } from '../analysis/aggregate.ts';
import { optionString, optionValues, type ParsedArgs } from '../args.ts';
import { UsageError } from '../errors.ts';
import { parseHubbleTime } from '../hubble/filter/time.ts';
import { analyzeFromMetrics } from './analysis.ts';
import { parsePrometheusUrl, PrometheusClient } from './prometheus.ts';

/** The flags analyze accepts with --prometheus: the window, namespaces, and the report and gate flags. */
const windowFlags = new Set(['since', 'until', 'namespace']);
const outputFlags = new Set(['out', 'format', 'json', 'expect', 'gate']);
export const DEFAULT_SINCE = '15m';

function instant(text: string, flag: string, now: Date): Date {
  const t = parseHubbleTime(text, now);
  if (!t)
    throw new UsageError(`analyze: --${flag}: cannot read "${text}" as a time`, {
      hint: 'a duration back from now (30s, 15m, 1h) or a date (RFC 3339, 2024-05-01T12:00:00Z)',
    });
  return new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6));
}

export interface PrometheusAnalysis {
  analysis: Analysis;
  /** The API's base URL, for the report's input. */
  source: string;
  /** The window and namespace flags as given. */
  filters: string[];
  queries: number;
}

/**
 * Reads the report's analysis from metrics. The report and gate flags apply as with flows; any other flag (a flow
 * selector or filter, --policy, --traffic-summary) is refused by name, since metrics cannot serve it.
 */
export async function analysisFromPrometheus(args: ParsedArgs, now: Date): Promise<PrometheusAnalysis> {
  const url = parsePrometheusUrl(optionString(args, 'prometheus')!);
  for (const o of args.ordered) {
    if (o.name === 'prometheus' || outputFlags.has(o.name) || windowFlags.has(o.name)) continue;
    if (o.name === 'input' || o.name === 'server') throw new UsageError(`analyze: --prometheus and --${o.name} cannot be used together`);
    throw new UsageError(`analyze: --${o.name} is not available with --prometheus: metrics carry no such detail`, {
      hint: 'with --prometheus use --since, --until, --namespace and the report flags (--out, --format, --json, --expect, --gate); for the rest analyze flows (--input or --server)',
    });
  }
  const start = instant(optionString(args, 'since') ?? DEFAULT_SINCE, 'since', now);
  const untilText = optionString(args, 'until');
  const end = untilText === undefined ? now : instant(untilText, 'until', now);
  if (end.getTime() <= start.getTime()) throw new UsageError(`analyze: --until (${end.toISOString()}) is not after --since (${start.toISOString()})`);
  const namespaces = optionValues(args, 'namespace');
  const prom = new PrometheusClient(url);
  const { analysis, queries } = await analyzeFromMetrics(prom, { start, end }, { namespaces });
  const filters = args.ordered.filter((o) => windowFlags.has(o.name)).flatMap((o) => [`--${o.name}`, String(o.value)]);
  return { analysis, source: prom.base, filters, queries };
}
