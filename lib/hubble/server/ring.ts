// The Hubble ring buffer: the last `capacity` GetFlowsResponse records of one observer, addressed by a write
// sequence number so readers can tell how far behind they are; followers wait here for new records.
import type { GetFlowsResponse } from '../../flows/types.ts';
import { encodeGetFlowsResponse } from '../grpc/messages.ts';
import { parseTimestamp } from '../grpc/timestamp.ts';

/** One stored record, with what readers need precomputed. */
export interface RingEntry {
  readonly response: GetFlowsResponse;
  /** Seconds and nanos of the record's time (response.time, else flow.time); NaN when it has none. */
  readonly seconds: number;
  readonly nanos: number;
  /** Wire bytes, encoded on first send and shared by every reader. */
  bytes: Uint8Array | undefined;
  /** Set once the record was found too large to send, so that it is reported once, not to every reader. */
  /** Set once the record was found unservable (over 4 MiB, or not encodable) and noted. */
  oversize?: true;
}

/**
 * The largest message a Hubble client takes: gRPC's default receive limit, which the hubble CLI and Relay keep.
 * A larger GetFlowsResponse would end the client's stream (RESOURCE_EXHAUSTED), losing everything after it.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Hubble only accepts 2^n − 1 (hubble-event-buffer-capacity); so do we. */
export function isValidCapacity(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 2 ** 30 - 1 && ((n + 1) & n) === 0;
}

export function entryBytes(entry: RingEntry): Uint8Array {
  return (entry.bytes ??= encodeGetFlowsResponse(entry.response));
}

/** Orders a record's time against (seconds, nanos): negative when earlier. */
export function compareTime(entry: RingEntry, seconds: number, nanos: number): number {
  return entry.seconds !== seconds ? entry.seconds - seconds : entry.nanos - nanos;
}

export class FlowRing {
  readonly capacity: number;
  private readonly slots: (RingEntry | undefined)[];
  private readonly mask: number;
  private writes = 0;
  private flowsInRing = 0;
  private flowsSeen = 0;
  private waiters: (() => void)[] = [];
  // Flows written per wall-clock second over the last minute, for ServerStatus.flows_rate.
  private readonly rateBuckets = new Float64Array(60);
  private rateSecond = 0;

  constructor(capacity: number) {
    if (!isValidCapacity(capacity)) {
      throw new RangeError(`ring capacity must be one less than a power of two (e.g. 4095, 65535), not ${capacity}`);
    }
    this.capacity = capacity;
    // One spare slot, as in Hubble's ring: capacity + 1 is the power of two we index with a mask.
    this.slots = new Array<RingEntry | undefined>(capacity + 1);
    this.mask = capacity;
  }

  /** Sequence number the next write gets; also the number of records ever written. */
  get written(): number {
    return this.writes;
  }

  /** Sequence number of the oldest record still held. */
  get oldest(): number {
    return Math.max(0, this.writes - this.capacity);
  }

  /** Flow records currently held (num_flows). */
  get numFlows(): number {
    return this.flowsInRing;
  }

  /** Flow records ever written (seen_flows). */
  get seenFlows(): number {
    return this.flowsSeen;
  }

  write(response: GetFlowsResponse): void {
    const time = response.time ?? response.flow?.time;
    const t = time === undefined ? undefined : parseTimestamp(time);
    const slot = this.writes & this.mask;
    const evicted = this.writes >= this.capacity ? this.slots[(this.writes - this.capacity) & this.mask] : undefined;
    if (evicted?.response.flow) this.flowsInRing--;
    this.slots[slot] = { response, seconds: t ? t.seconds : NaN, nanos: t ? t.nanos : NaN, bytes: undefined };
    // Drop the record that just left the readable window so it can be collected now, not a lap later.
    this.slots[(this.writes + 1) & this.mask] = undefined;
    this.writes++;
    if (response.flow) {
      this.flowsInRing++;
      this.flowsSeen++;
      this.advanceRate(Date.now());
      this.rateBuckets[this.rateSecond % 60]!++;
    }
    if (this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Flows per second written over the last minute of wall-clock time. */
  flowsRate(nowMs = Date.now()): number {
    this.advanceRate(nowMs);
    let sum = 0;
    for (const n of this.rateBuckets) sum += n;
    return sum / 60;
  }

  private advanceRate(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    if (second === this.rateSecond) return;
    if (second - this.rateSecond >= 60) this.rateBuckets.fill(0);
    else for (let s = this.rateSecond + 1; s <= second; s++) this.rateBuckets[s % 60] = 0;
    this.rateSecond = second;
  }

  /** The record with this sequence number, or undefined when it was overwritten or not written yet. */
  at(seq: number): RingEntry | undefined {
    if (seq < this.oldest || seq >= this.writes) return undefined;
    return this.slots[seq & this.mask];
  }

  /** Resolves at the next write, or when the signal aborts. */
  nextWrite(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
