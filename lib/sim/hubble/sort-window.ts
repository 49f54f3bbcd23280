// Relay's sort buffer: records from every node go through a bounded priority queue ordered by time; the oldest
// leaves when the queue is full, and in follow mode records older than the drain window leave on a timer.
import type { GetFlowsResponse } from '../../flows/types.ts';
import { parseTimestamp } from '../../hubble/grpc/timestamp.ts';
import type { FlowStreamSink } from '../../hubble/server/source.ts';

interface Entry {
  record: GetFlowsResponse;
  /** The record's time: seconds and nanos since the epoch. */
  s: number;
  n: number;
  /** Arrival order, so records with the same time leave in the order they came. */
  seq: number;
}

/** A record's time; records without one count as arriving now. */
function recordTime(r: GetFlowsResponse): { s: number; n: number } {
  const text = r.time ?? r.flow?.time;
  const ts = text === undefined ? undefined : parseTimestamp(text);
  if (ts) return { s: ts.seconds, n: ts.nanos };
  const ms = Date.now();
  return { s: Math.floor(ms / 1000), n: (ms % 1000) * 1e6 };
}

function before(a: Entry, b: Entry): boolean {
  if (a.s !== b.s) return a.s < b.s;
  return a.n !== b.n ? a.n < b.n : a.seq < b.seq;
}

export interface SortWindowOptions {
  /** Records held for sorting before the oldest must leave (relay --sort-buffer-len-max, default 100). */
  maxLen: number;
  /** Follow mode: records older than this leave even when the queue is not full (--sort-buffer-drain-timeout). */
  drainMs?: number;
}

/** A min-heap of records by time in front of a stream sink; push waits while the client is slow. */
export class SortWindow {
  private readonly heap: Entry[] = [];
  private seq = 0;
  private readonly timer: NodeJS.Timeout | undefined;
  private blocked: Promise<void> | undefined;

  constructor(
    private readonly sink: FlowStreamSink,
    private readonly opts: SortWindowOptions,
  ) {
    const drainMs = opts.drainMs;
    if (drainMs !== undefined) this.timer = setInterval(() => this.drainOlderThan(Date.now() - drainMs), drainMs);
  }

  get size(): number {
    return this.heap.length;
  }

  /** Adds a record; sends the oldest when the window is full, and resolves once the client can take more. */
  async push(record: GetFlowsResponse): Promise<void> {
    this.insert({ record, ...recordTime(record), seq: this.seq++ });
    while (this.heap.length > this.opts.maxLen) this.send(this.pop()!);
    while (this.blocked) await this.blocked;
  }

  /** Sends everything held, oldest first. */
  async flush(): Promise<void> {
    while (this.heap.length > 0) {
      this.send(this.pop()!);
      while (this.blocked) await this.blocked;
    }
  }

  /** Stops the drain timer; records still held are dropped. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private drainOlderThan(ms: number): void {
    if (this.blocked) return;
    const s = Math.floor(ms / 1000);
    const n = (ms - s * 1000) * 1e6;
    for (let top = this.heap[0]; top && (top.s < s || (top.s === s && top.n < n)); top = this.heap[0]) {
      this.send(this.pop()!);
      if (this.blocked) return;
    }
  }

  private send(entry: Entry): void {
    if (this.sink.send(entry.record) || this.blocked) return;
    this.blocked = this.sink.drained().then(() => {
      this.blocked = undefined;
    });
  }

  private insert(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
