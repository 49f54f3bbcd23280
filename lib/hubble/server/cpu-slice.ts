// Time slices for long loops in a server: one request's work gives the event loop back every few milliseconds,
// so other calls (ServerStatus, other streams), deadlines and cancellations are served while it runs.

/** How long a loop may hold the event loop before it yields. */
export const SLICE_MS = 5;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Call once per iteration; `resumed()` after the loop awaited something else (new records, a drained client). */
export interface CpuSlicer {
  /** A promise to await when the slice is used up; undefined otherwise, so the common case costs no microtask. */
  (): Promise<void> | undefined;
  /** The loop gave the event loop back on its own: its next slice starts now. */
  resumed(): void;
}

/**
 * A slicer for one loop. The clock is read every `checkEvery` calls (reading it costs more than a cheap
 * iteration); 1 for iterations that may each take milliseconds.
 */
export function cpuSlicer(opts: { sliceMs?: number; checkEvery?: number } = {}): CpuSlicer {
  const sliceMs = opts.sliceMs ?? SLICE_MS;
  const checkEvery = opts.checkEvery ?? 64;
  let count = 0;
  let sliceStart = performance.now();
  const restart = () => {
    sliceStart = performance.now();
  };
  const slice = () => {
    if (++count % checkEvery !== 0) return undefined;
    if (performance.now() - sliceStart < sliceMs) return undefined;
    return nextTurn().then(restart);
  };
  return Object.assign(slice, { resumed: restart });
}
