// The sim's pod runtime: starts pods on the datapath, runs their containers by image, and stops them all on shutdown.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatapath, type Datapath } from '../net/datapath.ts';
import type { PodRuntime, PodSpecForRuntime, RunningPod, RuntimeClusterView } from './types.ts';
import { ImageRegistry, type HandlerOptions, type ImageHandler } from './images.ts';
import { SimPod } from './pod.ts';
import { nginxImage } from './images/nginx.ts';
import { corednsImage } from './images/coredns.ts';

export type { ContainerContext, ContainerProcess, HandlerOptions, ImageHandler } from './images.ts';
export type { ImageCommand, ImageCommandIO } from './shell.ts';
export { ContainerLogError } from './container.ts';
export type * from './types.ts';

export interface PodRuntimeOptions {
  /** The datapath pods attach to; one is created (and closed by shutdown) when absent. */
  datapath?: Datapath;
  /** Where pods keep their files (volumes, working directories); a fresh temporary directory by default. */
  rootDir?: string;
  /** Container restart back-off after the first immediate restart (kubelet: 10 s), doubling up to the maximum (5 min). */
  restartBackoffMs?: number;
  maxRestartBackoffMs?: number;
  /** How often a container waiting on a missing ConfigMap or Secret is retried (default 2 s). */
  retryMs?: number;
  /** Grace period shutdown() gives every pod before SIGKILL (default 2 s). */
  shutdownGraceMs?: number;
  /** The token written into serviceAccountToken projections. */
  serviceAccountToken?(namespace: string, serviceAccount: string): string;
}

export interface SimPodRuntime extends PodRuntime {
  readonly datapath: Datapath;
  /**
   * Runs images matching `pattern` in process: a repository (`quay.io/cilium/hubble-relay`, any tag) or a path ending
   * in / (`quay.io/cilium/`); the most specific pattern wins over the built-in ones.
   */
  registerImageHandler(pattern: string, handler: ImageHandler, options?: HandlerOptions): void;
  /** The pods started and not yet stopped. */
  pods(): RunningPod[];
}

export async function createPodRuntime(opts: PodRuntimeOptions = {}): Promise<SimPodRuntime> {
  const ownDatapath = !opts.datapath;
  const datapath = opts.datapath ?? (await createDatapath());
  const ownRoot = !opts.rootDir;
  const rootDir = opts.rootDir ?? (await mkdtemp(join(tmpdir(), 'hubble-lab-sim-pods-')));
  const images = new ImageRegistry();
  // nginx's /docker-entrypoint.sh execs any command line that does not start nginx.
  images.register('nginx', nginxImage, { execs: (argv) => !/^nginx(-debug)?$/.test(argv[0]!.slice(argv[0]!.lastIndexOf('/') + 1)) });
  images.register('registry.k8s.io/coredns/coredns', corednsImage(datapath));
  const running = new Map<string, SimPod>();
  const deps = {
    datapath,
    images,
    rootDir,
    backoff: { baseMs: opts.restartBackoffMs ?? 10_000, maxMs: opts.maxRestartBackoffMs ?? 300_000, retryMs: opts.retryMs ?? 2_000 },
    serviceAccountToken: opts.serviceAccountToken ?? (() => 'hubble-lab-sim-serviceaccount-token'),
  };
  let closed: Promise<void> | undefined;

  return {
    datapath,
    registerImageHandler: (pattern, handler, options) => images.register(pattern, handler, options),
    pods: () => [...running.values()],
    start(spec: PodSpecForRuntime, cluster: RuntimeClusterView): RunningPod {
      if (closed) throw new Error('the pod runtime is shut down');
      const existing = running.get(spec.uid);
      if (existing) return existing;
      const pod = new SimPod(spec, cluster, deps);
      running.set(spec.uid, pod);
      const stop = pod.stop.bind(pod);
      pod.stop = (grace?: number) => stop(grace).finally(() => running.delete(spec.uid));
      return pod;
    },
    shutdown() {
      closed ??= (async () => {
        const graceSeconds = (opts.shutdownGraceMs ?? 2000) / 1000;
        await Promise.all([...running.values()].map((p) => p.stop(graceSeconds)));
        if (ownDatapath) await datapath.close();
        if (ownRoot) await rm(rootDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
