// A mergeable latency sketch (logarithmic buckets, DDSketch-style) whose percentiles are within 0.5% of the exact value.

/** Relative accuracy of every reported percentile: |estimate − exact| ≤ α · exact. */
export const RELATIVE_ACCURACY = 0.005;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
/** Values at or below this (in the sketch's unit) share one bucket: they are zero for any report. */
const ZERO_THRESHOLD = 1e-9;

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/** Rounds to 6 significant digits: far below the sketch's error, and keeps reports readable. */
function round6(v: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(6));
}

export class LatencySketch {
  count = 0;
  min = Infinity;
  max = -Infinity;
  private zeroCount = 0;
  /** counts[i] is the bucket with index offset + i, holding values in (γ^(k−1), γ^k]. */
  private counts: number[] = [];
  private offset = 0;

  add(value: number, times = 1): void {
    if (!(value >= 0) || times <= 0) return;
    this.count += times;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (value <= ZERO_THRESHOLD) {
      this.zeroCount += times;
      return;
    }
    this.addToBucket(Math.ceil(Math.log(value) / LOG_GAMMA), times);
  }

  private addToBucket(index: number, times: number): void {
    if (this.counts.length === 0) {
      this.offset = index;
      this.counts.push(times);
      return;
    }
    if (index < this.offset) {
      const grow = this.offset - index;
      this.counts = new Array<number>(grow).fill(0).concat(this.counts);
      this.offset = index;
    } else if (index >= this.offset + this.counts.length) {
      const grow = index - this.offset - this.counts.length + 1;
      for (let i = 0; i < grow; i++) this.counts.push(0);
    }
    this.counts[index - this.offset]! += times;
  }

  /** Adds everything another sketch saw: the result equals a sketch fed both streams. */
  merge(other: LatencySketch): void {
    if (other.count === 0) return;
    this.count += other.count;
    this.zeroCount += other.zeroCount;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    other.counts.forEach((n, i) => {
      if (n > 0) this.addToBucket(other.offset + i, n);
    });
  }

  /**
   * The nearest-rank q-quantile (the smallest value with at least q·count values at or below it), as the
   * bucket's midpoint in relative terms, clamped to the exact min and max.
   */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    // The epsilon keeps 0.95 × 100 = 95.00000000000001 from moving the rank to 96.
    const rank = Math.min(this.count, Math.max(1, Math.ceil(q * this.count - 1e-9)));
    // The extremes are tracked exactly.
    if (rank === this.count) return this.max;
    if (rank === 1) return this.min;
    let seen = this.zeroCount;
    if (seen >= rank) return 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const estimate = (2 * Math.pow(GAMMA, this.offset + i)) / (GAMMA + 1);
        return Math.min(this.max, Math.max(this.min, estimate));
      }
    }
    return this.max;
  }

  summary(): LatencySummary | null {
    if (this.count === 0) return null;
    return {
      count: this.count,
      p50: round6(this.quantile(0.5)!),
      p90: round6(this.quantile(0.9)!),
      p95: round6(this.quantile(0.95)!),
      p99: round6(this.quantile(0.99)!),
      max: round6(this.max),
    };
  }
}
