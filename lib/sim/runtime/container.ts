// One container's life as the kubelet drives it: create, run, restart by restartPolicy with CrashLoopBackOff
// back-off, image pull errors, and the status and logs the API shows for it.
import type { ContainerState, ContainerStatusUpdate, LogOptions } from './types.ts';
import { ContainerLog } from './container-log.ts';
import { ContainerConfigError } from './env.ts';
import { VolumeMountError } from './volumes.ts';
import type { ExitStatus, Instance } from './program.ts';

/** Why logs cannot be read, with the status code and message the API server returns for it. */
export class ContainerLogError extends Error {
  constructor(
    readonly code: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface BackoffOptions {
  /** First restart delay after the immediate one (kubelet: 10 s), doubling up to maxMs (5 min). */
  baseMs: number;
  maxMs: number;
  /** How often a container waiting on a missing ConfigMap/Secret is retried. */
  retryMs: number;
}

export interface ContainerRunnerOptions {
  name: string;
  image: string;
  /** "<pod>_<namespace>(<uid>)", as the kubelet names the pod in messages. */
  podRef: string;
  podName: string;
  restartPolicy: RestartPolicy;
  backoff: BackoffOptions;
  /** Why the image cannot be pulled; the container then never starts. */
  pullError?: string;
  /** The waiting reason before the first start (PodInitializing while init containers run). */
  initialReason?: string;
  /** Starts one instance writing to log; throws ContainerConfigError/VolumeMountError to wait and retry. */
  launch(log: (line: string) => void): Promise<Instance>;
  onChange(): void;
}

/** Times in container statuses have second precision, as the API serialises them. */
function apiTime(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Go's time.Duration formatting, as the kubelet prints back-off delays. */
function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60}s`;
  return `${Math.floor(m / 60)}h${m % 60}m${s % 60}s`;
}

export class ContainerRunner {
  private state: ContainerState = { state: 'waiting', reason: 'ContainerCreating' };
  private restarts = 0;
  private probeReady: boolean;
  private current?: ContainerLog;
  private previous?: ContainerLog;
  private instance?: Instance;
  /** The running instance was attached to already: later attaches see only what it writes from then on. */
  private attached = false;
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;

  constructor(
    private readonly opts: ContainerRunnerOptions,
    private readonly hasReadinessProbe: boolean,
  ) {
    this.probeReady = !hasReadinessProbe;
    if (opts.initialReason) this.state = { state: 'waiting', reason: opts.initialReason };
  }

  get name(): string {
    return this.opts.name;
  }

  status(): ContainerStatusUpdate {
    return {
      name: this.opts.name,
      image: this.opts.image,
      ready: this.state.state === 'running' && this.probeReady,
      restartCount: this.restarts,
      state: this.state,
    };
  }

  get running(): boolean {
    return this.state.state === 'running';
  }

  /** Resolves when the container has terminated for good (no restart coming). */
  finished(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  start(): void {
    if (this.state.state === 'waiting' && this.state.reason === 'PodInitializing') this.state = { state: 'waiting', reason: 'ContainerCreating' };
    this.loop ??= this.run();
  }

  setReady(ready: boolean): void {
    if (this.probeReady === ready) return;
    this.probeReady = ready;
    this.opts.onChange();
  }

  /** Kills the running instance (a failed liveness probe); the restart policy decides what happens next. */
  async kill(graceMs: number): Promise<void> {
    await this.instance?.stop(graceMs);
  }

  async stop(graceMs: number): Promise<void> {
    this.stopping.abort();
    await this.instance?.stop(graceMs);
    await this.loop;
  }

  /**
   * The running instance for `kubectl attach`: its output from its start for the first attach (so a short command
   * started with `kubectl run -i` is not missed), else from now; undefined when it is not running.
   */
  attach(signal: AbortSignal): { output: AsyncIterable<string>; stdin?: Instance['stdin'] } | undefined {
    const log = this.current;
    const instance = this.instance;
    if (!log || !instance || this.state.state !== 'running') return undefined;
    const first = !this.attached;
    this.attached = true;
    return { output: log.read({ follow: true, signal, ...(first ? {} : { tailLines: 0 }) }), ...(instance.stdin ? { stdin: instance.stdin } : {}) };
  }

  async *logs(opts: LogOptions): AsyncGenerator<string> {
    const log = opts.previous ? this.previous : this.current;
    if (!log) {
      if (opts.previous) throw new ContainerLogError(400, `previous terminated container "${this.opts.name}" in pod "${this.opts.podName}" not found`);
      const s = this.state;
      const why =
        s.state === 'waiting' && (s.reason === 'ErrImagePull' || s.reason === 'ImagePullBackOff')
          ? 'trying and failing to pull image'
          : s.state === 'waiting'
            ? s.reason
            : 'ContainerCreating';
      throw new ContainerLogError(400, `container "${this.opts.name}" in pod "${this.opts.podName}" is waiting to start: ${why}`);
    }
    yield* log.read(opts);
  }

  private set(state: ContainerState): void {
    this.state = state;
    this.opts.onChange();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping.signal.aborted) return resolve();
      const timer = Number.isFinite(ms) ? setTimeout(resolve, ms) : undefined;
      this.stopping.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }

  private shouldRestart(exitCode: number): boolean {
    const policy = this.opts.restartPolicy;
    return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
  }

  private async run(): Promise<void> {
    const { opts } = this;
    const signal = this.stopping.signal;
    if (opts.pullError) {
      this.set({ state: 'waiting', reason: 'ErrImagePull', message: opts.pullError });
      await this.sleep(opts.backoff.baseMs);
      if (!signal.aborted) this.set({ state: 'waiting', reason: 'ImagePullBackOff', message: `Back-off pulling image "${opts.image}"` });
      await this.sleep(Infinity);
      return;
    }
    let backoff = 0;
    while (!signal.aborted) {
      const log = new ContainerLog();
      let instance: Instance;
      try {
        instance = await opts.launch((line) => log.append(line));
      } catch (err) {
        if (err instanceof ContainerConfigError || err instanceof VolumeMountError) {
          const reason = err instanceof ContainerConfigError ? 'CreateContainerConfigError' : 'ContainerCreating';
          this.set({ state: 'waiting', reason, message: err.message });
          await this.sleep(opts.backoff.retryMs);
          continue;
        }
        throw err;
      }
      this.instance = instance;
      this.attached = false;
      // Stopped while the container was being created: stop() found no instance to stop, so stop it here.
      if (signal.aborted) void instance.stop(0);
      if (this.current) this.previous = this.current;
      this.current = log;
      const startedAt = apiTime();
      const ranSince = Date.now();
      // A new instance is not ready until its readiness probe says so.
      this.probeReady = !this.hasReadinessProbe;
      this.set({ state: 'running', startedAt });
      const exit: ExitStatus = await instance.exited;
      this.instance = undefined;
      log.close();
      const finishedAt = apiTime();
      const reason = exit.message ? 'StartError' : exit.exitCode === 0 ? 'Completed' : 'Error';
      this.set({ state: 'terminated', exitCode: exit.exitCode, reason, ...(exit.message ? { message: exit.message } : {}), startedAt, finishedAt });
      if (signal.aborted || !this.shouldRestart(exit.exitCode)) return;
      // The kubelet restarts at once the first time, then backs off 10 s, 20 s, … 5 min, and forgets the back-off
      // after a container ran for twice the maximum.
      if (Date.now() - ranSince > 2 * opts.backoff.maxMs) backoff = 0;
      if (backoff > 0) {
        this.set({
          state: 'waiting',
          reason: 'CrashLoopBackOff',
          message: `back-off ${goDuration(backoff)} restarting failed container=${opts.name} pod=${opts.podRef}`,
        });
        await this.sleep(backoff);
        if (signal.aborted) return;
      }
      backoff = backoff ? Math.min(backoff * 2, opts.backoff.maxMs) : opts.backoff.baseMs;
      this.restarts++;
    }
  }
}
