// Runs the sim's controllers: each watches store changes, queues keys, and reconciles them one at a time off the write path.
import type { Registry } from '../apiserver/registry.ts';
import type { ResourceInfo } from '../apiserver/resources.ts';
import type { Store, StoreEvent } from '../apiserver/store.ts';
import { ApiError } from '../apiserver/errors.ts';
import type { EventRecorder } from './events.ts';

export interface ControllerContext {
  store: Store;
  registry: Registry;
  events: EventRecorder;
}

export interface Controller {
  name: string;
  /** Keys to reconcile after a change; `ns/name` of the object the controller owns. */
  keysFor(ev: StoreEvent): string[];
  /** Brings one key to its desired state; may return a delay (ms) after which to look again. */
  reconcile(key: string): number | void | Promise<number | void>;
  /** Keys to reconcile at start (objects that exist already). */
  initialKeys?(): string[];
  /** Receives the function that queues a key, for controllers woken by things other than store changes. */
  attach?(enqueue: (key: string) => void): void;
  stop?(): void | Promise<void>;
}

/** `ns/name` of an object. */
export function keyOf(obj: { metadata: { namespace?: string; name?: string } }): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** Keys of the controlling owners of kind `kind` of the event's object (and of its previous version). */
export function ownerKeys(ev: StoreEvent, kind: string): string[] {
  const keys = new Set<string>();
  for (const obj of [ev.object, ev.old]) {
    for (const ref of obj?.metadata.ownerReferences ?? []) {
      if (ref.kind === kind && ref.controller) keys.add(`${obj!.metadata.namespace ?? ''}/${ref.name}`);
    }
  }
  return [...keys];
}

export function is(ev: StoreEvent, res: ResourceInfo): boolean {
  return ev.res === res;
}

/**
 * How long a queue may run reconciles back to back before it lets the event loop serve others (API requests,
 * signals): reconciles are mostly synchronous, and awaiting them alone only yields to microtasks.
 */
const SLICE_MS = 10;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

class Queue {
  private readonly pending = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private running = false;
  private scheduled = false;
  stopped = false;

  constructor(private readonly ctrl: Controller) {}

  add(key: string): void {
    if (this.stopped) return;
    this.pending.add(key);
    this.schedule();
  }

  addAfter(key: string, ms: number): void {
    if (this.stopped || this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    t.unref?.();
    this.timers.set(key, t);
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      let sliceStart = Date.now();
      while (this.pending.size && !this.stopped) {
        if (Date.now() - sliceStart >= SLICE_MS) {
          await yieldToLoop();
          sliceStart = Date.now();
          continue;
        }
        const key = this.pending.values().next().value as string;
        this.pending.delete(key);
        try {
          const again = await this.ctrl.reconcile(key);
          if (typeof again === 'number') this.addAfter(key, again);
        } catch (err) {
          // Conflicts and races with other writers resolve on the next pass.
          const race = err instanceof ApiError && (err.code === 409 || err.code === 404);
          if (!race) process.emitWarning(`sim controller ${this.ctrl.name} failed on ${key}: ${err instanceof Error ? err.stack : String(err)}`);
          this.addAfter(key, race ? 200 : 5000);
        }
      }
    } finally {
      this.running = false;
      if (this.pending.size && !this.stopped) this.schedule();
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.pending.clear();
  }
}

export class ControllerManager {
  private readonly queues: Queue[] = [];
  private unsubscribe: (() => void) | undefined;
  private readonly controllers: Controller[] = [];

  constructor(private readonly store: Store) {}

  add(ctrl: Controller): void {
    this.controllers.push(ctrl);
  }

  start(): void {
    const pairs = this.controllers.map((c) => [c, new Queue(c)] as const);
    this.queues.push(...pairs.map(([, q]) => q));
    this.unsubscribe = this.store.subscribe((ev) => {
      for (const [c, q] of pairs) for (const k of c.keysFor(ev)) q.add(k);
    });
    for (const [c, q] of pairs) c.attach?.((k) => q.add(k));
    for (const [c, q] of pairs) for (const k of c.initialKeys?.() ?? []) q.add(k);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    for (const q of this.queues) q.stop();
    for (const c of this.controllers) await c.stop?.();
  }
}
