// A counter of distinct keys with a fixed capacity: exact for the first keys seen, the rest summed as "other".

export interface CountEntry {
  key: string;
  count: number;
}

export class CappedCounter {
  private readonly counts = new Map<string, number>();
  /** Occurrences of keys that arrived after the counter was full. */
  other = 0;
  total = 0;

  constructor(readonly capacity: number) {}

  add(key: string, n = 1): void {
    this.total += n;
    const current = this.counts.get(key);
    if (current !== undefined) this.counts.set(key, current + n);
    else if (this.counts.size < this.capacity) this.counts.set(key, n);
    else this.other += n;
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  get size(): number {
    return this.counts.size;
  }

  /** Entries by count, largest first; ties by key so reports are stable. */
  top(limit = Infinity): CountEntry[] {
    const entries = [...this.counts].map(([key, count]) => ({ key, count }));
    entries.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return entries.slice(0, limit);
  }

  /** All counts as a plain object, keys in sorted order. */
  toObject(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const key of [...this.counts.keys()].sort()) out[key] = this.counts.get(key)!;
    return out;
  }

  merge(other: CappedCounter): void {
    for (const [key, n] of other.counts) this.add(key, n);
    this.other += other.other;
    this.total += other.other;
  }
}
