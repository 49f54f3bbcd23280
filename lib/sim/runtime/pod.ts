// A running pod: its network attachment, files, init and app containers, probes, statuses and logs.
import { join } from 'node:path';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import type { Datapath, PodNetwork } from '../net/datapath.ts';
import { clusterDnsIP, clusterDomain } from '../net/addresses.ts';
import type { ContainerStatusUpdate, ExecStreams, LogOptions, PodSpecForRuntime, RunningPod, RuntimeClusterView } from './types.ts';
import { ContainerLogError, ContainerRunner, type BackoffOptions, type RestartPolicy } from './container.ts';
import { containerEnv } from './env.ts';
import { containerArgv, givenArgv } from './command.ts';
import type { Instance } from './program.ts';
import { runsCommand, startProcess, type ShellContext } from './shell.ts';
import { lineSplitter } from './container-log.ts';
import { materializeVolumes, mountVolumes, hostPath, VolumeMountError } from './volumes.ts';
import { startProbes } from './probes.ts';
import type { ImageRegistry, ImageRun } from './images.ts';

export interface PodDeps {
  datapath: Datapath;
  images: ImageRegistry;
  /** Directory under which the pod keeps its files. */
  rootDir: string;
  backoff: BackoffOptions;
  serviceAccountToken(namespace: string, serviceAccount: string): string;
}

const basePath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** ENV of the images, as their Dockerfiles set it (and HOME, which the runtime adds for root). */
function imageEnv(run: ImageRun): Record<string, string> {
  if (run.kind === 'node') return { PATH: basePath, NODE_VERSION: process.versions.node, YARN_VERSION: '1.22.22', HOME: '/root' };
  return { PATH: basePath, HOME: '/root' };
}

/** An instance that only ends when stopped: an image the sim runs without emulating it. */
function idleInstance(stop?: () => Promise<void> | void, exited?: Promise<number>): Instance {
  let end!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (end = resolve));
  const done = exited ? Promise.race([exited, stopped]) : stopped;
  return {
    exited: done.then((exitCode) => ({ exitCode })),
    async stop() {
      await stop?.();
      end(0);
      await done;
    },
  };
}

export class SimPod implements RunningPod {
  private readonly net: PodNetwork;
  private readonly dir: string;
  private readonly containers: ContainerRunner[];
  private readonly inits: ContainerRunner[];
  private readonly listeners = new Set<(statuses: ContainerStatusUpdate[]) => void>();
  private readonly probeStops: (() => void)[] = [];
  /** What each container's running instance execs with: its files, environment and the image's commands. */
  private readonly shells = new Map<string, ShellContext>();
  private readonly execs = new Set<Instance>();
  private volumes?: Promise<Map<string, string>>;
  private stopping?: Promise<void>;

  constructor(
    readonly spec: PodSpecForRuntime,
    private readonly cluster: RuntimeClusterView,
    private readonly deps: PodDeps,
  ) {
    const pod = spec.pod;
    this.net = deps.datapath.attachPod({
      ip: spec.podIP,
      namespace: spec.namespace,
      name: spec.name,
      uid: spec.uid,
      nodeName: spec.nodeName,
      labels: spec.labels,
      ...(pod.status?.hostIP ? { hostIP: pod.status.hostIP } : {}),
      ...(pod.spec?.hostNetwork ? { hostNetwork: true } : {}),
    });
    this.dir = join(deps.rootDir, `${spec.namespace}_${spec.name}_${spec.uid}`);
    const policy: RestartPolicy = pod.spec?.restartPolicy === 'Never' || pod.spec?.restartPolicy === 'OnFailure' ? pod.spec.restartPolicy : 'Always';
    const initSpecs = (pod.spec?.initContainers ?? []) as Record<string, any>[];
    // Init containers run to completion; with restartPolicy Always a failed one is retried like OnFailure.
    this.inits = initSpecs.map((c) => this.runner(c, policy === 'Always' ? 'OnFailure' : policy, undefined));
    this.containers = ((pod.spec?.containers ?? []) as Record<string, any>[]).map((c) =>
      this.runner(c, policy, initSpecs.length ? 'PodInitializing' : undefined),
    );
    void this.start();
  }

  private runner(c: Record<string, any>, restartPolicy: RestartPolicy, initialReason: string | undefined): ContainerRunner {
    const run = this.deps.images.resolve(String(c.image ?? ''));
    const runner: ContainerRunner = new ContainerRunner(
      {
        name: String(c.name),
        image: String(c.image ?? ''),
        podRef: `${this.spec.name}_${this.spec.namespace}(${this.spec.uid})`,
        podName: this.spec.name,
        restartPolicy,
        backoff: this.deps.backoff,
        ...(run.kind === 'unavailable' ? { pullError: run.message } : {}),
        ...(initialReason ? { initialReason } : {}),
        launch: (log) => this.launch(c, run, log),
        onChange: () => this.changed(),
      },
      Boolean(c.readinessProbe),
    );
    return runner;
  }

  private async start(): Promise<void> {
    for (const init of this.inits) {
      init.start();
      await init.finished();
      const s = init.status().state;
      if (this.stopping || s.state !== 'terminated' || s.exitCode !== 0) return;
    }
    if (this.stopping) return;
    for (const c of this.containers) {
      c.start();
      const spec = ((this.spec.pod.spec?.containers ?? []) as Record<string, any>[]).find((x) => x.name === c.name) ?? {};
      if (spec.readinessProbe || spec.livenessProbe) {
        this.probeStops.push(
          startProbes({
            net: this.net,
            container: spec,
            running: () => c.running,
            setReady: (ready) => c.setReady(ready),
            onLivenessFailure: () => void c.kill((this.spec.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000),
          }),
        );
      }
    }
  }

  /** The pod's volumes, written once and shared by its containers; retried while a source is missing. */
  private podVolumes(): Promise<Map<string, string>> {
    this.volumes ??= materializeVolumes(this.dir, this.spec, this.cluster, { serviceAccountToken: this.deps.serviceAccountToken });
    return this.volumes.catch((err) => {
      this.volumes = undefined;
      throw err instanceof VolumeMountError ? new VolumeMountError(`MountVolume.SetUp failed: ${err.message}`) : err;
    });
  }

  private async launch(c: Record<string, any>, run: ImageRun, log: (line: string) => void): Promise<Instance> {
    const volumes = await this.podVolumes();
    const rootfs = join(this.dir, 'containers', String(c.name), 'rootfs');
    const mounts = await mountVolumes(rootfs, c, volumes);
    await this.skeleton(rootfs);
    const env = containerEnv({ spec: this.spec, container: c, cluster: this.cluster, services: this.deps.datapath.services.list(), imageEnv: imageEnv(run) });
    const shell: ShellContext = {
      env,
      net: this.net,
      rootfs,
      mounts,
      node: run.kind === 'node',
      ...(c.workingDir ? { workingDir: String(c.workingDir) } : {}),
    };
    this.shells.set(String(c.name), shell);
    if (run.kind === 'node') return this.startMain(c, shell, containerArgv(c, env), log);
    const given = givenArgv(c, env);
    if (run.kind === 'handler' && !(given.length && run.options.execs?.(given))) {
      const abort = new AbortController();
      try {
        const proc = await run.handler({
          pod: this.spec,
          container: c,
          env,
          net: this.net,
          cluster: this.cluster,
          path: (p) => hostPath(rootfs, mounts, p),
          log,
          signal: abort.signal,
        });
        if (proc.commands) this.shells.set(String(c.name), { ...shell, commands: proc.commands });
        return idleInstance(async () => {
          abort.abort();
          await proc.stop();
        }, proc.exited);
      } catch (err) {
        log(String((err as Error)?.message ?? err));
        return { exited: Promise.resolve({ exitCode: 1 }), stop: async () => {} };
      }
    }
    // Images the sim does not emulate run the shell commands they are told to; anything else (their own binaries)
    // idles, as a server would.
    if (given.length && runsCommand(given[0]!)) return this.startMain(c, shell, given, log);
    return idleInstance();
  }

  /** What every image's filesystem has and the kubelet writes: /tmp, and /etc's hostname, hosts and resolv.conf. */
  private async skeleton(rootfs: string): Promise<void> {
    const ns = this.spec.namespace;
    await mkdir(join(rootfs, 'tmp'), { recursive: true });
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    const hostname = String(this.spec.pod.spec?.hostname ?? this.spec.name);
    await writeFile(join(rootfs, 'etc', 'hostname'), `${hostname}\n`);
    await writeFile(join(rootfs, 'etc', 'hosts'), `127.0.0.1\tlocalhost\n${this.spec.podIP}\t${hostname}\n`);
    await writeFile(
      join(rootfs, 'etc', 'resolv.conf'),
      `search ${ns}.svc.${clusterDomain} svc.${clusterDomain} ${clusterDomain}\nnameserver ${clusterDnsIP}\noptions ndots:5\n`,
    );
  }

  /** The container's own process: its output in the container log, its stdin open for attach when the spec asks. */
  private startMain(c: Record<string, any>, shell: ShellContext, argv: string[], log: (line: string) => void): Instance {
    const out = lineSplitter(log);
    const err = lineSplitter(log);
    const sink = (s: { write(chunk: Buffer | string): void; end(): void }) =>
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          s.write(chunk);
          cb();
        },
        final(cb) {
          s.end();
          cb();
        },
      });
    const stdout = sink(out);
    const stderr = sink(err);
    const stdin = c.stdin ? new PassThrough() : undefined;
    const instance = startProcess(shell, argv, { stdout, stderr, ...(stdin ? { stdin } : {}) });
    const exited = instance.exited.then((status) => {
      stdout.end();
      stderr.end();
      return status;
    });
    return { exited, stop: (grace) => instance.stop(grace), ...(stdin ? { stdin } : {}) };
  }

  private containerNamed(container: string | undefined): ContainerRunner {
    const name = container ?? this.containers[0]?.name;
    const runner = [...this.containers, ...this.inits].find((r) => r.name === name);
    if (!runner) throw new ContainerLogError(400, `container ${name} is not valid for pod ${this.spec.name}`);
    return runner;
  }

  async exec(container: string | undefined, command: string[], io: ExecStreams): Promise<number> {
    const runner = this.containerNamed(container);
    const shell = this.shells.get(runner.name);
    if (!runner.running || !shell || this.stopping) throw new ContainerLogError(400, `unable to upgrade connection: container not found ("${runner.name}")`);
    const instance = startProcess({ ...shell, exec: true }, command, io);
    this.execs.add(instance);
    const stop = () => void instance.stop(0);
    io.signal?.addEventListener('abort', stop, { once: true });
    try {
      return (await instance.exited).exitCode;
    } finally {
      io.signal?.removeEventListener('abort', stop);
      this.execs.delete(instance);
    }
  }

  async attach(container: string | undefined, io: ExecStreams, opts: { stdinOnce: boolean }): Promise<void> {
    const runner = this.containerNamed(container);
    const abort = new AbortController();
    const stop = () => abort.abort();
    io.signal?.addEventListener('abort', stop, { once: true });
    const target = runner.attach(abort.signal);
    if (!target) throw new ContainerLogError(400, `unable to upgrade connection: container ${runner.name} not found in pod ${this.spec.name}`);
    const input = target.stdin;
    if (io.stdin && input) {
      io.stdin.on('data', (chunk: Buffer) => input.write(chunk));
      // With stdinOnce the process sees the end of its stdin when the first client closes it.
      io.stdin.on('end', () => {
        if (opts.stdinOnce) input.end();
      });
    }
    try {
      // On a terminal (kubectl run -it, attach -t) lines end as a pty ends them.
      const end = io.tty ? '\r\n' : '\n';
      for await (const line of target.output) io.stdout.write(`${line}${end}`);
    } finally {
      io.signal?.removeEventListener('abort', stop);
    }
  }

  private changed(): void {
    const statuses = this.containerStatuses();
    for (const l of this.listeners) l(statuses);
  }

  containerStatuses(): ContainerStatusUpdate[] {
    return this.containers.map((c) => c.status());
  }

  initContainerStatuses(): ContainerStatusUpdate[] {
    return this.inits.map((c) => c.status());
  }

  onStatus(listener: (statuses: ContainerStatusUpdate[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  logs(opts: LogOptions): AsyncIterable<string> {
    const all = [...this.containers, ...this.inits];
    const name = opts.container ?? (this.containers.length === 1 ? this.containers[0]!.name : undefined);
    if (name === undefined) {
      const names = this.containers.map((c) => c.name).join(' ');
      return failing(new ContainerLogError(400, `a container name must be specified for pod ${this.spec.name}, choose one of: [${names}]`));
    }
    const runner = all.find((c) => c.name === name);
    if (!runner) return failing(new ContainerLogError(400, `container ${name} is not valid for pod ${this.spec.name}`));
    return runner.logs(opts);
  }

  dial(port: number): Promise<Duplex> {
    return this.net.dial(port);
  }

  stop(gracePeriodSeconds?: number): Promise<void> {
    this.stopping ??= (async () => {
      for (const stop of this.probeStops) stop();
      await Promise.all([...this.execs].map((e) => e.stop(0)));
      const graceMs = (gracePeriodSeconds ?? this.spec.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
      await Promise.all([...this.containers, ...this.inits].map((c) => c.stop(graceMs)));
      this.net.close();
      await rm(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

async function* failing(err: Error): AsyncGenerator<string> {
  throw err;
}
