// Reads Prometheus' text exposition format (and OpenMetrics' samples): the metric families a scrape declares and
// its samples, for checks that compare what an endpoint serves with what a query or a dashboard asks for.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  /** Family name → declared type (counter, histogram, gauge, …), from `# TYPE` lines. */
  families: Map<string, string>;
  samples: Sample[];
}

/** Thrown for a line the format does not allow; names the line. */
export class ExpositionError extends Error {}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new ExpositionError(`line ${line}: bad label set {${text}}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    at = re.lastIndex;
  }
  return labels;
}

function parseValue(text: string, line: number): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new ExpositionError(`line ${line}: bad sample value ${JSON.stringify(text)}`);
  return n;
}

export function parseExposition(text: string): Scrape {
  const families = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const n = i + 1;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (m) families.set(m[1]!, m[2]!);
      return;
    }
    // An exemplar (` # {…} v t`) follows the sample in OpenMetrics.
    const body = line.replace(/\s+#\s+\{.*$/, '');
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/.exec(body);
    if (!m) throw new ExpositionError(`line ${n}: not a sample: ${raw}`);
    samples.push({ name: m[1]!, labels: m[3] ? parseLabels(m[3], n) : {}, value: parseValue(m[4]!, n) });
  });
  return { families, samples };
}

/** The family a sample belongs to: the name itself, or its histogram/summary/OpenMetrics-counter family. */
export function familyOf(name: string, families: Map<string, string>): string | undefined {
  if (families.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    if (name.endsWith(suffix) && families.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length);
  }
  return undefined;
}

/** Every series name a scrape can answer a query for (samples and declared families, with their suffixes). */
export function seriesNames(scrape: Scrape): Set<string> {
  const names = new Set(scrape.samples.map((s) => s.name));
  for (const [family, type] of scrape.families) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix);
    else names.add(family);
  }
  return names;
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sumSamples(scrape: Scrape, name: string, match: Record<string, string> = {}): number {
  return scrape.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}
