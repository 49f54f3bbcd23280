// The contract between the sim's control plane (kubelet-like controllers) and the pod runtime that runs containers.
import type { Duplex, Readable, Writable } from 'node:stream';

/** What the runtime needs to know about a pod; taken from the Pod object by the kubelet controller. */
export interface PodSpecForRuntime {
  namespace: string;
  name: string;
  uid: string;
  nodeName: string;
  /** The pod's virtual IP, 127.244.<node>.<n>. */
  podIP: string;
  labels: Record<string, string>;
  /** The full Pod object as stored (containers, volumes, env, command, args, restartPolicy …). */
  pod: Record<string, any>;
}

/** Lookups the runtime makes into cluster state while starting a pod. */
export interface RuntimeClusterView {
  /** data of a ConfigMap, or undefined when it does not exist. */
  configMap(namespace: string, name: string): Record<string, string> | undefined;
  /** data of a Secret (already base64-decoded), or undefined. */
  secret(namespace: string, name: string): Record<string, string> | undefined;
}

export type ContainerState =
  | { state: 'waiting'; reason: string; message?: string }
  | { state: 'running'; startedAt: string }
  | { state: 'terminated'; exitCode: number; reason: string; message?: string; startedAt?: string; finishedAt: string };

export interface ContainerStatusUpdate {
  name: string;
  image: string;
  ready: boolean;
  restartCount: number;
  state: ContainerState;
}

export interface LogOptions {
  container?: string;
  follow?: boolean;
  tailLines?: number;
  /** Prefix each line with its RFC 3339 time and a space, as `kubectl logs --timestamps`. */
  timestamps?: boolean;
  /** The log of the container's previous (terminated) instance. */
  previous?: boolean;
  sinceSeconds?: number;
  /** RFC 3339; lines written at or after it. */
  sinceTime?: string;
  /** Ends a follow. */
  signal?: AbortSignal;
}

/** The streams of `kubectl exec` and `kubectl attach`. */
export interface ExecStreams {
  /** Absent when the client sends no stdin. */
  stdin?: Readable;
  stdout: Writable;
  /** With a TTY, stderr goes to stdout. */
  stderr: Writable;
  /** The client asked for a terminal (-t). */
  tty?: boolean;
  /** Ends the command (the client went away). */
  signal?: AbortSignal;
}

export interface RunningPod {
  readonly spec: PodSpecForRuntime;
  /** Current status of every container, in spec order. */
  containerStatuses(): ContainerStatusUpdate[];
  /** Status of the init containers, in spec order (empty when the pod has none). */
  initContainerStatuses?(): ContainerStatusUpdate[];
  /** Called whenever a container's status changes. */
  onStatus(listener: (statuses: ContainerStatusUpdate[]) => void): () => void;
  /**
   * The container's log (stdout+stderr), as lines without their newline; follow keeps the iterator open until the
   * container ends or signal aborts. Throws a ContainerLogError (with the Kubernetes message) when the container
   * does not exist or has not started.
   */
  logs(opts: LogOptions): AsyncIterable<string>;
  /** Opens a TCP stream to the pod's port as the pod sees it (for port-forward); rejects with ECONNREFUSED when nothing listens. */
  dial(port: number): Promise<Duplex>;
  /**
   * Runs a command in a running container (`kubectl exec`), in the pod's network and with the container's files and
   * environment; resolves with its exit code. Throws a ContainerLogError with the kubelet's message when the
   * container is not running.
   */
  exec?(container: string | undefined, command: string[], io: ExecStreams): Promise<number>;
  /** Connects to the container's running process (`kubectl attach`) until it ends or signal aborts. */
  attach?(container: string | undefined, io: ExecStreams, opts: { stdinOnce: boolean }): Promise<void>;
  /** Stops every container (SIGTERM, then SIGKILL after the grace period) and releases its ports. */
  stop(gracePeriodSeconds?: number): Promise<void>;
}

export interface PodRuntime {
  start(spec: PodSpecForRuntime, cluster: RuntimeClusterView): RunningPod;
  /** Stops every pod: no process may outlive the sim. */
  shutdown(): Promise<void>;
}
