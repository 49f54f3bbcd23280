// One run of a container's process, as the container runner drives it: how it ends and how it is stopped.
import type { Writable } from 'node:stream';

export interface ExitStatus {
  exitCode: number;
  /** Set when the container could not start at all (the kubelet's StartError). */
  message?: string;
}

/** One run of a container; the runtime restarts by starting a new one. */
export interface Instance {
  readonly exited: Promise<ExitStatus>;
  /** The process's stdin, for `kubectl attach -i` (containers with stdin: true). */
  readonly stdin?: Writable;
  /** SIGTERM, then SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs: number): Promise<void>;
}
