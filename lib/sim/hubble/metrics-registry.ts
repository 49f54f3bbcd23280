// Counters and histograms with labels, written in Prometheus' text exposition format (0.0.4) or OpenMetrics 1.0 (with
// exemplars), ordered as client_golang writes them: families by name, label pairs by name, series by label values.

export const textContentType = 'text/plain; version=0.0.4; charset=utf-8';
export const openMetricsContentType = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** client_golang's DefBuckets, which Hubble's HTTP duration histogram uses. */
export const defaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Exemplar {
  labels: Record<string, string>;
  value: number;
  /** Seconds since the epoch. */
  time: number;
}

interface CounterSeries {
  values: string[];
  value: number;
  exemplar?: Exemplar;
}

interface HistogramSeries {
  values: string[];
  counts: number[];
  sum: number;
  count: number;
  exemplars: (Exemplar | undefined)[];
}

function escapeValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function labelText(pairs: [string, string][]): string {
  return pairs.length ? `{${pairs.map(([k, v]) => `${k}="${escapeValue(v)}"`).join(',')}}` : '';
}

function exemplarText(e: Exemplar | undefined): string {
  if (!e) return '';
  const labels = Object.entries(e.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return ` # ${labelText(labels)} ${formatNumber(e.value)} ${e.time.toFixed(3)}`;
}

abstract class Family<S extends { values: string[] }> {
  protected readonly series = new Map<string, S>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: string[],
  ) {}

  protected get(values: string[], make: () => S): S {
    if (values.length !== this.labelNames.length) {
      throw new Error(`${this.name}: ${values.length} label values for ${this.labelNames.length} labels`);
    }
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = make()));
    return s;
  }

  /** Series sorted by their label pairs in name order, as client_golang sorts them. */
  protected sorted(): { s: S; pairs: [string, string][] }[] {
    const order = this.labelNames.map((n, i) => [n, i] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const rows = [...this.series.values()].map((s) => ({ s, pairs: order.map(([n, i]) => [n, s.values[i]!] as [string, string]) }));
    rows.sort((a, b) => {
      for (let i = 0; i < a.pairs.length; i++) {
        const x = a.pairs[i]![1];
        const y = b.pairs[i]![1];
        if (x !== y) return x < y ? -1 : 1;
      }
      return 0;
    });
    return rows;
  }

  abstract write(lines: string[], openMetrics: boolean): void;
}

export class CounterVec extends Family<CounterSeries> {
  inc(values: string[], exemplar?: Record<string, string>): void {
    const s = this.get(values, () => ({ values: [...values], value: 0 }));
    s.value++;
    if (exemplar) s.exemplar = { labels: exemplar, value: 1, time: Date.now() / 1000 };
  }

  /** The counter's value for these label values (0 when the series does not exist). */
  value(values: string[]): number {
    return this.series.get(values.join('\u0000'))?.value ?? 0;
  }

  write(lines: string[], openMetrics: boolean): void {
    // OpenMetrics names the counter family without its _total suffix; the samples keep it.
    const family = openMetrics ? this.name.replace(/_total$/, '') : this.name;
    lines.push(`# HELP ${family} ${this.help}`, `# TYPE ${family} counter`);
    for (const { s, pairs } of this.sorted()) {
      lines.push(`${this.name}${labelText(pairs)} ${formatNumber(s.value)}${openMetrics ? exemplarText(s.exemplar) : ''}`);
    }
  }
}

export class HistogramVec extends Family<HistogramSeries> {
  constructor(
    name: string,
    help: string,
    labelNames: string[],
    readonly buckets: number[] = defaultBuckets,
  ) {
    super(name, help, labelNames);
  }

  observe(values: string[], v: number, exemplar?: Record<string, string>): void {
    const s = this.get(values, () => ({
      values: [...values],
      counts: this.buckets.map(() => 0),
      sum: 0,
      count: 0,
      exemplars: this.buckets.map(() => undefined),
    }));
    const i = this.buckets.findIndex((le) => v <= le);
    if (i >= 0) {
      s.counts[i]!++;
      if (exemplar) s.exemplars[i] = { labels: exemplar, value: v, time: Date.now() / 1000 };
    }
    s.sum += v;
    s.count++;
  }

  write(lines: string[], openMetrics: boolean): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const { s, pairs } of this.sorted()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        const withLe = [...pairs, ['le', formatNumber(le)] as [string, string]];
        lines.push(`${this.name}_bucket${labelText(withLe)} ${cumulative}${openMetrics ? exemplarText(s.exemplars[i]) : ''}`);
      });
      lines.push(`${this.name}_bucket${labelText([...pairs, ['le', '+Inf']])} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(pairs)} ${formatNumber(s.sum)}`);
      lines.push(`${this.name}_count${labelText(pairs)} ${s.count}`);
    }
  }
}

export class MetricsRegistry {
  private readonly families: (CounterVec | HistogramVec)[] = [];

  counter(name: string, help: string, labelNames: string[]): CounterVec {
    return this.add(new CounterVec(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: string[]): HistogramVec {
    return this.add(new HistogramVec(name, help, labelNames));
  }

  private add<F extends CounterVec | HistogramVec>(f: F): F {
    if (this.families.some((x) => x.name === f.name)) throw new Error(`duplicate metrics collector registration attempted: ${f.name}`);
    this.families.push(f);
    return f;
  }

  /** The exposition; OpenMetrics ends with `# EOF`. */
  render(openMetrics: boolean): string {
    const lines: string[] = [];
    for (const f of [...this.families].sort((a, b) => (a.name < b.name ? -1 : 1))) f.write(lines, openMetrics);
    if (openMetrics) lines.push('# EOF');
    return lines.join('\n') + '\n';
  }
}
