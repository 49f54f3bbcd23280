// Flow timestamps for the sim: wall-clock time with nanosecond resolution that never goes backwards.
import { formatTimestamp } from '../../hubble/grpc/timestamp.ts';

const startWallNs = BigInt(Date.now()) * 1_000_000n;
const startHr = process.hrtime.bigint();
let lastNs = 0n;

/** Nanoseconds since the epoch, strictly increasing within the process. */
export function nowNanos(): bigint {
  let ns = startWallNs + (process.hrtime.bigint() - startHr);
  if (ns <= lastNs) ns = lastNs + 1n;
  lastNs = ns;
  return ns;
}

export function formatNanos(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  return formatTimestamp(Number(seconds), Number(ns - seconds * 1_000_000_000n));
}

export function nowTimestamp(): string {
  return formatNanos(nowNanos());
}
