// Rates over time: flows, requests, errors and drops per bucket, at most 120 buckets, with bursts flagged.

export const MAX_BUCKETS = 120;

/** Bucket widths in ms; each divides the next, so coarsening merges whole buckets and stays exact. */
const WIDTHS_MS = [
  10, 50, 100, 500, 1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000,
];

type Series = 'flows' | 'requests' | 'errors' | 'drops';
const SERIES: Series[] = ['flows', 'requests', 'errors', 'drops'];

export interface TimelineBucket {
  /** RFC 3339 start of the bucket. */
  start: string;
  flows: number;
  requests: number;
  errors: number;
  drops: number;
  /** The counts divided by the bucket width: flows/s, requests/s, errors/s, drops/s. */
  perSecond: { flows: number; requests: number; errors: number; drops: number };
  /** Series whose count in this bucket is a burst. */
  bursts: Series[];
}

export interface Burst {
  start: string;
  series: Series;
  count: number;
  /** The series' median per bucket, for comparison. */
  median: number;
}

export interface TimelineSummary {
  bucketSeconds: number;
  buckets: TimelineBucket[];
  bursts: Burst[];
}

/** Counts [flows, requests, errors, drops] by bucket index. */
export class Timeline {
  private widthIndex = 0;
  private readonly buckets = new Map<number, number[]>();
  private minIndex = Infinity;
  private maxIndex = -Infinity;

  get widthMs(): number {
    return widthAt(this.widthIndex);
  }

  /** Counts one flow at its time, and whether it was a new request, a new error response, a drop. */
  add(timeMs: number, request: boolean, error: boolean, drop: boolean): void {
    let index = Math.floor(timeMs / this.widthMs);
    if (index < this.minIndex || index > this.maxIndex) {
      const lo = Math.min(this.minIndex, index);
      const hi = Math.max(this.maxIndex, index);
      if (hi - lo + 1 > MAX_BUCKETS) {
        this.coarsen(timeMs);
        index = Math.floor(timeMs / this.widthMs);
      }
      if (index < this.minIndex) this.minIndex = index;
      if (index > this.maxIndex) this.maxIndex = index;
    }
    let counts = this.buckets.get(index);
    if (!counts) {
      counts = [0, 0, 0, 0];
      this.buckets.set(index, counts);
    }
    counts[0]!++;
    if (request) counts[1]!++;
    if (error) counts[2]!++;
    if (drop) counts[3]!++;
  }

  /** Moves to the narrowest width that fits the span including `includeMs` in MAX_BUCKETS, merging buckets. */
  private coarsen(includeMs: number): void {
    const lo = Math.min(this.minIndex * this.widthMs, includeMs);
    const hi = Math.max((this.maxIndex + 1) * this.widthMs - 1, includeMs);
    let next = this.widthIndex;
    while (Math.floor(hi / widthAt(next)) - Math.floor(lo / widthAt(next)) + 1 > MAX_BUCKETS) next++;
    const newWidth = widthAt(next);
    const old = [...this.buckets];
    this.buckets.clear();
    this.minIndex = Infinity;
    this.maxIndex = -Infinity;
    for (const [index, counts] of old) {
      const ni = Math.floor((index * this.widthMs) / newWidth);
      const target = this.buckets.get(ni);
      if (target) for (let i = 0; i < 4; i++) target[i]! += counts[i]!;
      else this.buckets.set(ni, counts);
      if (ni < this.minIndex) this.minIndex = ni;
      if (ni > this.maxIndex) this.maxIndex = ni;
    }
    this.widthIndex = next;
  }

  summary(): TimelineSummary {
    const width = this.widthMs;
    const buckets: TimelineBucket[] = [];
    if (this.buckets.size === 0) return { bucketSeconds: width / 1000, buckets, bursts: [] };
    for (let i = this.minIndex; i <= this.maxIndex; i++) {
      const c = this.buckets.get(i) ?? [0, 0, 0, 0];
      const rate = (n: number) => Math.round((n / width) * 1e6) / 1e3;
      buckets.push({
        start: new Date(i * width).toISOString(),
        flows: c[0]!,
        requests: c[1]!,
        errors: c[2]!,
        drops: c[3]!,
        perSecond: { flows: rate(c[0]!), requests: rate(c[1]!), errors: rate(c[2]!), drops: rate(c[3]!) },
        bursts: [],
      });
    }
    const bursts = findBursts(buckets);
    return { bucketSeconds: width / 1000, buckets, bursts };
  }
}

function widthAt(i: number): number {
  const last = WIDTHS_MS.length - 1;
  return i <= last ? WIDTHS_MS[i]! : WIDTHS_MS[last]! * 2 ** (i - last);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Smallest count that can be a burst: a handful of events in one bucket is noise. */
const MIN_BURST = 10;

/**
 * A bucket bursts in a series when its count is at least three times the series' median, and above the median by
 * more than five robust standard deviations (1.4826 · MAD), and at least MIN_BURST. Needs five buckets.
 */
function findBursts(buckets: TimelineBucket[]): Burst[] {
  const bursts: Burst[] = [];
  if (buckets.length < 5) return bursts;
  for (const series of SERIES) {
    const values = buckets.map((b) => b[series]);
    const med = median(values);
    const mad = median(values.map((v) => Math.abs(v - med)));
    const threshold = Math.max(3 * med, med + 5 * 1.4826 * mad, MIN_BURST);
    buckets.forEach((b) => {
      if (b[series] >= threshold && b[series] > med) {
        b.bursts.push(series);
        bursts.push({ start: b.start, series, count: b[series], median: med });
      }
    });
  }
  bursts.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return bursts;
}
