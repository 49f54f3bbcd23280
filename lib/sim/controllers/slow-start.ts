// Creating many pods the way Kubernetes controllers do: in batches of 1, 2, 4 … that stop at the first failure.

/** The first batch; each next one doubles (controller.SlowStartInitialBatchSize). */
const SLOW_START_INITIAL_BATCH = 1;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs `fn` `count` times in batches of 1, 2, 4 … as upstream's slowStartBatch does: a batch with a failure ends
 * the run, so a create that cannot succeed (quota, a namespace being deleted) is tried a few times, not thousands.
 * `proceed` is asked before each batch, so a sync stops early when its ReplicaSet changed under it. Returns the
 * number of successes and the first error.
 */
export async function slowStartBatch(count: number, fn: () => Promise<void>, proceed: () => boolean): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let size = Math.min(remaining, SLOW_START_INITIAL_BATCH); size > 0; size = Math.min(2 * size, remaining)) {
    if (!proceed()) break;
    const results = await Promise.allSettled(Array.from({ length: size }, fn));
    successes += results.filter((r) => r.status === 'fulfilled').length;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) return { successes, error: failed.reason };
    remaining -= size;
    // The API server's own requests (and SIGINT) get their turn between batches.
    await yieldToLoop();
  }
  return { successes };
}
