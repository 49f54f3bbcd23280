// A client-side token bucket, as client-go's flowcontrol gives each kube-controller-manager client (--kube-api-qps 20,
// --kube-api-burst 30): it paces a controller's writes, so a huge spec cannot flood the store.
import { setTimeout as sleep } from 'node:timers/promises';

export const CONTROLLER_QPS = 20;
export const CONTROLLER_BURST = 30;

export class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(
    private readonly qps = CONTROLLER_QPS,
    private readonly burst = CONTROLLER_BURST,
  ) {
    this.tokens = burst;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
  }

  /**
   * Takes a token, waiting until it is due when the bucket is empty. Each caller reserves its own token (the
   * balance goes negative), so waiters are served in order with one timer each. Rejects when the signal aborts.
   */
  async take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.refill();
    this.tokens -= 1;
    if (this.tokens >= 0) return;
    try {
      await sleep(Math.ceil((-this.tokens / this.qps) * 1000), undefined, signal ? { signal } : {});
    } catch (err) {
      // A wait given up returns its token, so the writes still wanted are not held back by it.
      this.tokens += 1;
      throw err;
    }
  }
}
