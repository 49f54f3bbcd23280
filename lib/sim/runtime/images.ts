// Which images the sim can run and how: node:* as real Node processes, registered handlers in process (nginx,
// cluster DNS, and the Cilium/Hubble images lib/sim/hubble plugs in), known public images idle, anything else unpullable.
import type { PodNetwork } from '../net/datapath.ts';
import type { PodSpecForRuntime, RuntimeClusterView } from './types.ts';
import type { ImageCommand } from './shell.ts';

/** What an in-process image gets to work with. */
export interface ContainerContext {
  readonly pod: PodSpecForRuntime;
  /** The container's spec (name, image, command, args, ports, env …). */
  readonly container: Record<string, any>;
  /** The container's resolved environment. */
  readonly env: Record<string, string>;
  /** The pod's network: listen on its ports, connect through the datapath. */
  readonly net: PodNetwork;
  /** ConfigMaps and Secrets as they are when the container starts (e.g. cilium-config for an agent). */
  readonly cluster: RuntimeClusterView;
  /** The real path of a path inside the container (through its volume mounts). */
  path(containerPath: string): string;
  /** Appends a line to the container's log (`kubectl logs`). */
  log(line: string): void;
  /** Aborted when the container is being stopped. */
  readonly signal: AbortSignal;
}

/** A running in-process container. */
export interface ContainerProcess {
  /** Resolves with the exit code when the container ends by itself; leave out for a server that runs until stopped. */
  readonly exited?: Promise<number>;
  /** Stops it (release its ports); resolves when stopped. */
  stop(): Promise<void> | void;
  /** Executables the image adds for `kubectl exec` (the agent's `cilium status`), beyond the common ones. */
  readonly commands?: Record<string, ImageCommand>;
}

export interface HandlerOptions {
  /**
   * The container's command line (command + args) is one the image's entrypoint execs instead of running its
   * server (nginx's /docker-entrypoint.sh runs `curl …` as given).
   */
  execs?(argv: string[]): boolean;
}

export type ImageHandler = (ctx: ContainerContext) => ContainerProcess | Promise<ContainerProcess>;

export type ImageRun =
  | { kind: 'node' }
  | { kind: 'handler'; handler: ImageHandler; options: HandlerOptions }
  /** A real image the sim does not emulate: Running, nothing listening. */
  | { kind: 'idle' }
  | { kind: 'unavailable'; message: string };

/** Public images the sim accepts without emulating them (they run idle). Entries ending in / cover a registry path. */
const knownImages = [
  'busybox',
  'alpine',
  'ubuntu',
  'debian',
  'fedora',
  'centos',
  'python',
  'golang',
  'ruby',
  'perl',
  'php',
  'openjdk',
  'eclipse-temurin',
  'redis',
  'postgres',
  'mysql',
  'mariadb',
  'mongo',
  'memcached',
  'rabbitmq',
  'httpd',
  'traefik',
  'caddy',
  'haproxy',
  'curlimages/curl',
  'nicolaka/netshoot',
  'grafana/grafana',
  'prom/prometheus',
  'registry.k8s.io/',
  'k8s.gcr.io/',
  'quay.io/cilium/',
  'docker.io/cilium/',
];

/** The image reference without docker.io defaults, and its repository (no tag or digest). */
export function parseImage(image: string): { ref: string; repository: string } {
  let ref = image.trim();
  for (const prefix of ['docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'index.docker.io/']) {
    if (ref.startsWith(prefix)) {
      ref = ref.slice(prefix.length);
      break;
    }
  }
  const at = ref.indexOf('@');
  let repository = at >= 0 ? ref.slice(0, at) : ref;
  const colon = repository.lastIndexOf(':');
  if (colon > repository.lastIndexOf('/')) repository = repository.slice(0, colon);
  return { ref, repository };
}

function matches(pattern: string, repository: string): boolean {
  return pattern.endsWith('/') ? repository.startsWith(pattern) : repository === pattern;
}

export class ImageRegistry {
  private readonly handlers = new Map<string, { handler: ImageHandler; options: HandlerOptions }>();

  /**
   * Runs images matching `pattern` with `handler`: a repository (`nginx`, `quay.io/cilium/hubble-relay`, any tag)
   * or a path ending in / (`quay.io/cilium/`). The most specific pattern wins; registering again replaces.
   */
  register(pattern: string, handler: ImageHandler, options: HandlerOptions = {}): void {
    this.handlers.set(pattern.endsWith('/') ? parseImage(pattern).ref : parseImage(pattern).repository, { handler, options });
  }

  resolve(image: string): ImageRun {
    const { repository } = parseImage(image);
    let best: [string, { handler: ImageHandler; options: HandlerOptions }] | undefined;
    for (const [pattern, entry] of this.handlers) {
      if (matches(pattern, repository) && (!best || pattern.length > best[0].length)) best = [pattern, entry];
    }
    if (best) return { kind: 'handler', ...best[1] };
    if (repository === 'node') return { kind: 'node' };
    if (knownImages.some((k) => matches(k, repository))) return { kind: 'idle' };
    return {
      kind: 'unavailable',
      message: `failed to pull and unpack image "${image}": the simulated cluster has no such image (it runs node:*, nginx:*, Cilium and well-known public images)`,
    };
  }
}
