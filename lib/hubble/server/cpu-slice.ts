// Time slices for long loops in a server: one request's work gives the event loop back every few milliseconds,
// so other calls (ServerStatus, other streams), deadlines and cancellations are served while it runs.

/** How long a loop may hold the event loop before it yields. */
export const SLICE_MS = 5;


const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Returns a function to call once per iteration: it returns a promise (to await) when the slice is used up, and
 * undefined otherwise, so the common case costs no microtask. The clock is read every `checkEvery` calls
 * (reading it costs more than a cheap iteration); 1 for iterations that may each take milliseconds.
 */
export function cpuSlicer(opts: { sliceMs?: number; checkEvery?: number } = {}): () => Promise<void> | undefined {
  const sliceMs = opts.sliceMs ?? SLICE_MS;
  const checkEvery = opts.checkEvery ?? 64;
  let count = 0;
  let sliceStart = performance.now();
  return () => {
    if (++count % checkEvery !== 0) return undefined;
    if (performance.now() - sliceStart < sliceMs) return undefined;
    return nextTurn().then(() => {
      sliceStart = performance.now();
    });
  };
}
