// Starts the embedded cluster: store, API server, controllers and pod runtime, with the initial state of kind + Cilium, and its kubeconfig.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { InfraError, UsageError } from '../errors.ts';
import { Registry } from './apiserver/registry.ts';
import { startApiServer } from './apiserver/server.ts';
import { Stats } from './apiserver/stats.ts';
import { Store } from './apiserver/store.ts';
import { startCilium, type SimCilium } from './cilium/index.ts';
import { startControllers } from './controllers/index.ts';
import type { Kubelet } from './controllers/kubelet.ts';
import { seedCluster } from './initial-state.ts';
import { createPodRuntime } from './runtime/index.ts';
import type { PodRuntime } from './runtime/types.ts';

export const SIM_CONTEXT = 'hubble-lab-sim';

// Addresses: every sim uses kind's layout moved into loopback — nodes 127.18.0.<2+i>, pods 127.244.<node>.0/24,
// Services 127.96.0.0/16. They are virtual (the datapath maps them; nothing binds them), so several sims share the
// ranges without colliding; what must differ between sims — the API server port and token — always does.

/** A stop never hangs the caller: past this, what is left is reported and abandoned. */
const SHUTDOWN_BOUND_MS = 15_000;

async function bounded(p: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), ms)));
  if (await Promise.race([p.then(() => false), late])) process.emitWarning(`hubble-lab sim: ${what} within ${ms / 1000}s`);
  clearTimeout(timer);
}

export interface SimClusterOptions {
  nodes?: number;
  /** Where to write the kubeconfig; a temporary file (removed on stop) when absent. */
  kubeconfigPath?: string;
  /** API server port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  /** The pod runtime; the sim's own when absent. */
  runtime?: PodRuntime;
}

export interface SimCluster {
  /** The kubeconfig file (0600) a client reads: lib/kube/config.ts loads it as client-node's KubeConfig. */
  kubeconfigPath: string;
  apiServerUrl: string;
  /** The API server's CA certificate (PEM), as the kubeconfig carries it. */
  caPem: string;
  token: string;
  stats(): Record<string, unknown>;
  stop(): Promise<void>;
  /** For the parts of the sim built on the control plane (datapath, DNS, Hubble). */
  internals: { store: Store; registry: Registry; kubelet: Kubelet; statsRegistry: Stats; runtime: PodRuntime; cilium: SimCilium };
}

export function kubeconfigYaml(server: string, caPem: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    'current-context': SIM_CONTEXT,
    clusters: [{ name: SIM_CONTEXT, cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: SIM_CONTEXT, user: { token } }],
    contexts: [{ name: SIM_CONTEXT, context: { cluster: SIM_CONTEXT, user: SIM_CONTEXT } }],
  });
}

/**
 * Writes the kubeconfig (it holds the token) through a new 0600 file renamed over the old one: writing into an
 * existing file would keep its mode, 0644 say, and let every local user read the token.
 */
async function writePrivate(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Refuses to overwrite a kubeconfig that is not one of ours (a user's ~/.kube/config, say). */
async function checkWritable(path: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return;
  }
  if (text.trim() === '') return;
  // Loaded here only: the sim itself never needs client-node, and loading it is most of the sim's import time.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch {
    throw new UsageError(`${path} exists and is not a kubeconfig written by the sim`, { hint: 'name a new file with --kubeconfig' });
  }
  if (kc.getContexts().some((c) => c.name !== SIM_CONTEXT) || kc.getClusters().some((c) => c.name !== SIM_CONTEXT)) {
    throw new UsageError(`${path} holds other clusters; the sim will not overwrite it`, { hint: 'name a new file with --kubeconfig' });
  }
}

export async function startSimCluster(opts: SimClusterOptions = {}): Promise<SimCluster> {
  const nodes = opts.nodes ?? 3;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 200) throw new UsageError(`--nodes must be between 1 and 200, not ${nodes}`);
  if (opts.kubeconfigPath) await checkWritable(opts.kubeconfigPath);
  const runtime = opts.runtime ?? (await createPodRuntime());
  const store = new Store();
  const registry = new Registry(store);
  const statsRegistry = new Stats();
  const token = randomBytes(32).toString('hex');
  seedCluster(registry, nodes);
  const cilium = startCilium({ store, runtime, statsRegistry });
  let controllers: ReturnType<typeof startControllers> | undefined;
  let server;
  try {
    server = await startApiServer({
      store,
      registry,
      stats: statsRegistry,
      token,
      port: opts.port ?? 0,
      logs: (ns, name, uid) => controllers?.kubelet.running(ns, name, uid),
      dial: (ns, name, port) => controllers!.kubelet.dial(ns, name, port),
    });
  } catch (err) {
    await runtime.shutdown();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new InfraError(`port ${opts.port} on 127.0.0.1 is already in use`, { hint: 'pick another --port, or leave it out to use a free one' });
    if (code === 'EACCES') throw new InfraError(`port ${opts.port} needs privileges the sim does not use`, { hint: 'use a port above 1024' });
    throw err;
  }
  controllers = startControllers(registry, runtime, server.caPem);

  let tempDir: string | undefined;
  let kubeconfigPath = opts.kubeconfigPath;
  if (!kubeconfigPath) {
    tempDir = await mkdtemp(join(tmpdir(), 'hubble-lab-sim-'));
    kubeconfigPath = join(tempDir, 'kubeconfig');
  } else await mkdir(dirname(kubeconfigPath), { recursive: true });
  const text = kubeconfigYaml(server.url, server.caPem, token);
  await writePrivate(kubeconfigPath, text);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await server.close();
      await controllers!.stop();
      await bounded(runtime.shutdown(), SHUTDOWN_BOUND_MS, 'the pod runtime did not shut down');
      cilium.stop();
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
      else await rm(kubeconfigPath!, { force: true });
    })());
  return {
    kubeconfigPath,
    apiServerUrl: server.url,
    caPem: server.caPem,
    token,
    stats: () => statsRegistry.snapshot(),
    stop,
    internals: { store, registry, kubelet: controllers.kubelet, statsRegistry, runtime, cilium },
  };
}
