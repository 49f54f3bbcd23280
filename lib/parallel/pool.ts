// Work on worker threads with results in submission order: the reader of a file split into ranges sees the ranges'
// results exactly as one thread reading the file would have produced them.
import { Worker, parentPort, workerData } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { OptionSpec } from '../args.ts';
import { UsageError } from '../errors.ts';

/** A task's result and the buffers to move (not copy) to the main thread. */
export interface Reply<R> {
  result: R;
  transfer?: ArrayBuffer[];
}

type Message<T> = { id: number; task: T };
type Answer<R> = { id: number; result: R } | { id: number; error: { name: string; message: string; stack?: string } };

/** The default thread count: the cores this process may use. */
export function defaultJobs(): number {
  return availableParallelism();
}

/** The --jobs flag of the commands that read a large file on several threads. */
export const jobsOption: OptionSpec = {
  name: 'jobs',
  type: 'string',
  valueName: 'N',
  description: 'threads that read a plain flows file (default: the cores available, for files over 256 MiB); 1 reads it on one thread',
};

/** The value of a --jobs flag: a whole number from 1 to 64; undefined when the flag is absent. */
export function parseJobs(value: string | undefined, command: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64) {
    throw new UsageError(`${command}: --jobs needs a whole number from 1 to 64, not "${value}"`, {
      hint: `e.g. --jobs ${defaultJobs()} (the cores available)`,
    });
  }
  return n;
}

export interface PoolOptions {
  /** The worker module (see serveTasks); a .ts module is started through worker-entry.mjs. */
  module: URL;
  /** Handed to every worker as its `setup()`. */
  setup: unknown;
  jobs: number;
  /** At most this many tasks are handed out beyond the oldest one whose result has not been taken. */
  ahead: number;
}

/**
 * Runs every task on `jobs` worker threads and yields the results in the tasks' order. Leaving the loop early, an
 * error in a worker or in `tasks` stops the workers. A worker's error is rethrown here with its message.
 */
export async function* inOrder<T, R>(tasks: AsyncIterable<T>, opts: PoolOptions): AsyncGenerator<R> {
  const fromSource = opts.module.pathname.endsWith('.ts');
  /** Tasks handed to each worker and not answered yet: a worker holds the next task while it works on one. */
  const busy = new Map<Worker, number>();
  const done = new Map<number, R>();
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const source = tasks[Symbol.asyncIterator]();
  let submitted = 0;
  let exhausted = false;
  let next = 0;

  const start = () => {
    const worker = fromSource
      ? new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: { module: opts.module.href, setup: opts.setup } })
      : new Worker(opts.module, { workerData: { setup: opts.setup } });
    worker.on('message', (answer: Answer<R>) => {
      if ('error' in answer) failure ??= Object.assign(new Error(answer.error.message), { name: answer.error.name, stack: answer.error.stack });
      else done.set(answer.id, answer.result);
      busy.set(worker, busy.get(worker)! - 1);
      notify();
    });
    worker.on('error', (err) => {
      failure ??= err;
      notify();
    });
    worker.on('exit', (code) => {
      if (code !== 0) failure ??= new Error(`a worker thread stopped with exit code ${code}`);
      notify();
    });
    busy.set(worker, 0);
  };
  /** The least busy worker that can take another task, if any. */
  const free = (): Worker | undefined => {
    let best: Worker | undefined;
    for (const [w, n] of busy) if (n < QUEUE_PER_WORKER && (best === undefined || n < busy.get(best)!)) best = w;
    return best;
  };

  try {
    for (let i = 0; i < Math.max(1, opts.jobs); i++) start();
    for (;;) {
      if (failure) throw failure;
      for (let worker = free(); worker && !exhausted && submitted - next < opts.ahead; worker = free()) {
        const item = await source.next();
        if (item.done) {
          exhausted = true;
          break;
        }
        busy.set(worker, busy.get(worker)! + 1);
        worker.postMessage({ id: submitted++, task: item.value } satisfies Message<T>);
      }
      if (done.has(next)) {
        const result = done.get(next)!;
        done.delete(next);
        next++;
        yield result;
        continue;
      }
      if (exhausted && next === submitted) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    await source.return?.();
    await Promise.all([...busy.keys()].map((w) => w.terminate()));
  }
}

/** Tasks a worker holds at once: the one it works on and the next, so that it never waits for the main thread. */
const QUEUE_PER_WORKER = 2;

/** In a worker module: the setup the pool was given. */
export function setup<S>(): S {
  return (workerData as { setup: S }).setup;
}

/** In a worker module: answers each task with `handle`, one at a time, in the order they came. */
export function serveTasks<T, R>(handle: (task: T) => Promise<Reply<R>>): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks runs in a worker thread');
  // Tasks that arrive while one runs wait their turn: one task's memory at a time.
  let queue = Promise.resolve();
  port.on('message', ({ id, task }: Message<T>) => {
    queue = queue.then(async () => {
      try {
        const { result, transfer } = await handle(task);
        port.postMessage({ id, result } satisfies Answer<R>, transfer ?? []);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        port.postMessage({ id, error: { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) } } satisfies Answer<R>);
      }
    });
  });
}
