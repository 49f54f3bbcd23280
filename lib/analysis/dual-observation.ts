// Pairs the two sightings of one L7 exchange (client's egress proxy and server's ingress proxy) so it counts once.

/** Which proxy saw it: EGRESS is the client's side (Hubble's reporter=client), INGRESS the server's. */
export type ProxySide = 'EGRESS' | 'INGRESS' | 'UNKNOWN';

interface Pending<T> {
  key: string;
  side: ProxySide;
  timeMs: number;
  payload: T;
  done: boolean;
}

export interface DualObservationOptions<T> {
  /** How far apart in time the two sightings of one exchange may be. */
  windowMs: number;
  /** Called once per exchange seen at both proxies, with the server-side (INGRESS) sighting first. */
  onPair(server: T, client: T): void;
  /** Called once per exchange seen at one proxy only, when its partner can no longer arrive. */
  onSingle(only: T): void;
  /** Bound on sightings waiting for a partner; the oldest is settled as single beyond it. */
  maxPending?: number;
}

/**
 * One exchange seen at both proxies yields two flows with the same edge, method, path (and status, for
 * responses) a few milliseconds apart, one EGRESS and one INGRESS. A sighting waits up to `windowMs` (of flow
 * time) for its partner from the other side; pairing is first-come within a key, which keeps counts exact
 * whenever an edge is observed at both proxies or at one. Memory is bounded by the exchanges in one window.
 */
export class DualObservationMatcher<T> {
  private readonly byKey = new Map<string, Pending<T>[]>();
  private readonly queue: Pending<T>[] = [];
  private head = 0;
  private latestMs = -Infinity;
  private readonly maxPending: number;
  /** Sightings that were the second of a pair. */
  paired = 0;

  constructor(private readonly opts: DualObservationOptions<T>) {
    this.maxPending = opts.maxPending ?? 200_000;
  }

  /** Returns true when this sighting is the partner of one already seen (so it must not be counted again). */
  observe(key: string, side: ProxySide, timeMs: number | undefined, payload: T): boolean {
    const t = timeMs ?? (this.latestMs === -Infinity ? 0 : this.latestMs);
    if (t > this.latestMs) {
      this.latestMs = t;
      this.expire();
    }
    if (side === 'UNKNOWN') {
      this.opts.onSingle(payload);
      return false;
    }
    const list = this.byKey.get(key);
    if (list) {
      for (let i = 0; i < list.length; i++) {
        const p = list[i]!;
        if (p.side !== side && Math.abs(p.timeMs - t) <= this.opts.windowMs) {
          p.done = true;
          list.splice(i, 1);
          if (list.length === 0) this.byKey.delete(key);
          this.paired++;
          if (side === 'INGRESS') this.opts.onPair(payload, p.payload);
          else this.opts.onPair(p.payload, payload);
          return true;
        }
      }
    }
    if (t < this.latestMs - this.opts.windowMs) {
      // Too late for any partner still waiting: the partner, if any, has already been settled.
      this.opts.onSingle(payload);
      return false;
    }
    const entry: Pending<T> = { key, side, timeMs: t, payload, done: false };
    if (list) list.push(entry);
    else this.byKey.set(key, [entry]);
    this.queue.push(entry);
    if (this.queue.length - this.head > this.maxPending) this.settleOldest();
    return false;
  }

  /** Settles every waiting sighting as single: call at the end of the stream. */
  flush(): void {
    while (this.head < this.queue.length) this.settleOldest();
  }

  private expire(): void {
    const horizon = this.latestMs - this.opts.windowMs;
    while (this.head < this.queue.length) {
      const p = this.queue[this.head]!;
      if (!p.done && p.timeMs >= horizon) break;
      this.settleOldest();
    }
  }

  private settleOldest(): void {
    const p = this.queue[this.head]!;
    this.queue[this.head] = undefined as unknown as Pending<T>;
    this.head++;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (p.done) return;
    p.done = true;
    const list = this.byKey.get(p.key);
    if (list) {
      const i = list.indexOf(p);
      if (i !== -1) list.splice(i, 1);
      if (list.length === 0) this.byKey.delete(p.key);
    }
    this.opts.onSingle(p.payload);
  }
}
