// Port-forwarding a Service's port to 127.0.0.1 through the API server (client-node's PortForward, WebSocket),
// following the Service's ready pods: when the pod goes away, new connections go to its replacement.
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { CoreV1Api, PortForward, Watch, type KubeConfig, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { InfraError } from '../errors.ts';
import { apiError, callApi } from './errors.ts';

export interface Forward {
  /** host:port to dial locally. */
  address: string;
  localPort: number;
  /** The pod connections go to (the last one, while there is none to go to). */
  readonly podName: string;
  readonly remotePort: number;
  close(): Promise<void>;
}

export interface ForwardServiceOptions {
  namespace: string;
  service: string;
  /** The Service port to forward (e.g. 80 for hubble-relay). */
  servicePort: number;
  /** Preferred local port; the next free one is taken when it is in use. */
  localPort: number;
  /** How many ports after localPort to try. */
  tries?: number;
  /** One line each time the forward loses its pod, switches to another, or cannot find one (with the next retry). */
  onEvent?: (line: string) => void;
  /** Wait between attempts to find a pod (or reach the API server): the first, doubled up to the last. */
  retryMs?: { first: number; max: number };
  /** How long a new local connection waits for a pod before it is closed. */
  connectWaitMs?: number;
}

const defaultRetry = { first: 1000, max: 16_000 };

/** A watch that went quiet without ending (a proxy in between, say) must not hide a pod's going for long: list again this often. */
const relistMs = 60_000;

function podReady(pod: V1Pod): boolean {
  return (
    !pod.metadata?.deletionTimestamp && pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** The Service port's target port number on a given pod (named target ports resolve against the pod's containers). */
export function resolveTargetPort(svc: V1Service, servicePort: number, pod: V1Pod): number {
  const port = svc.spec?.ports?.find((p) => p.port === servicePort);
  if (!port) throw new InfraError(`service ${svc.metadata?.namespace}/${svc.metadata?.name} has no port ${servicePort}`);
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? []) {
    const named = c.ports?.find((p) => p.name === target);
    if (named) return named.containerPort;
  }
  throw new InfraError(`pod ${pod.metadata?.name} has no container port named "${target}"`);
}

async function listenOnFreePort(server: Server, first: number, tries: number): Promise<number> {
  for (let port = first; port < first + tries; port++) {
    const ok = await new Promise<boolean>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        server.off('listening', onListening);
        if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
        else reject(err);
      };
      const onListening = () => {
        server.off('error', onError);
        resolve(true);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, '127.0.0.1');
    });
    if (ok) return port;
  }
  throw new InfraError(`no free local port in ${first}–${first + tries - 1}`, { hint: 'stop whatever holds those ports or pick another port' });
}

interface Backend {
  pod: string;
  port: number;
}

/** A ready pod behind the Service, or why there is none. */
type Lookup = { backend: Backend; resourceVersion: string | undefined } | { problem: string; resourceVersion?: string };

const seconds = (ms: number) => `${ms % 1000 === 0 ? ms / 1000 : (ms / 1000).toFixed(1)}s`;

/**
 * Which pod the Service's connections go to. Lists the Service's pods, then watches them: the pod going away (deleted,
 * terminating, not ready) moves new connections to another ready pod at once. With none ready, or no API server, it
 * lists again after a wait that doubles each time, and says so each time.
 */
class ServiceBackends {
  private current: Backend | undefined;
  private last: Backend;
  private closed = false;
  private readonly waiters = new Set<() => void>();
  private watchAbort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly core: CoreV1Api;
  private readonly name: string;
  private readonly retry: { first: number; max: number };

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: ForwardServiceOptions,
    private readonly onGone: (pod: string) => void,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.name = `${opts.namespace}/${opts.service}`;
    this.retry = opts.retryMs ?? defaultRetry;
    this.last = { pod: '', port: 0 };
  }

  get podName(): string {
    return (this.current ?? this.last).pod;
  }

  get remotePort(): number {
    return (this.current ?? this.last).port;
  }

  private log(line: string): void {
    this.opts.onEvent?.(`port-forward ${this.name}: ${line}`);
  }

  /** The first lookup: a missing Service or no ready pod is an error the caller reports. */
  async start(): Promise<void> {
    const { namespace, service } = this.opts;
    const svc = await callApi(`read Service ${this.name}`, () => this.core.readNamespacedService({ namespace, name: service }));
    const found = await this.lookup(svc);
    if ('problem' in found) {
      const selector = Object.entries(svc.spec?.selector ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      throw new InfraError(found.problem, { hint: selector ? `check \`kubectl -n ${namespace} get pods -l ${selector}\`` : undefined });
    }
    this.current = this.last = found.backend;
    this.loop = this.follow(found.resourceVersion);
  }

  private async lookup(known?: V1Service): Promise<Lookup> {
    const { namespace, service } = this.opts;
    let svc = known;
    try {
      svc ??= await this.core.readNamespacedService({ namespace, name: service });
    } catch (err) {
      return { problem: apiError(`read Service ${this.name}`, err).message };
    }
    const selector = Object.entries(svc.spec?.selector ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    if (!selector) return { problem: `service ${this.name} has no selector to find a pod by` };
    let pods;
    try {
      pods = await this.core.listNamespacedPod({ namespace, labelSelector: selector });
    } catch (err) {
      return { problem: apiError(`list pods of service ${this.name}`, err).message };
    }
    const rv = pods.metadata?.resourceVersion;
    const ready = pods.items.filter(podReady).sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
    // Stay on the current pod while it is ready: a relisting must not move connections around.
    const pod = ready.find((p) => p.metadata?.name === this.current?.pod) ?? ready[0];
    if (!pod) return { problem: `no ready pod behind service ${this.name}`, resourceVersion: rv };
    try {
      return { backend: { pod: pod.metadata!.name!, port: resolveTargetPort(svc, this.opts.servicePort, pod) }, resourceVersion: rv };
    } catch (err) {
      return { problem: (err as Error).message, resourceVersion: rv };
    }
  }

  private adopt(next: Backend): void {
    const was = (this.current ?? this.last).pod;
    this.current = this.last = next;
    if (was !== next.pod) this.log(`switched to pod ${next.pod} (was ${was})`);
    for (const w of this.waiters) w();
    this.waiters.clear();
  }

  private drop(why: string): void {
    if (!this.current) return;
    const gone = this.current.pod;
    this.current = undefined;
    this.log(`pod ${gone} ${why}; looking for another ready pod`);
    this.onGone(gone);
  }

  /** Lists, then watches until the watch ends (with no pod, until the retry wait is over; else a minute); again until closed. */
  private async follow(resourceVersion: string | undefined): Promise<void> {
    let wait = this.retry.first;
    let rv = resourceVersion;
    let listed = true;
    while (!this.closed) {
      if (!listed) {
        const found = await this.lookup();
        if (this.closed) return;
        if ('backend' in found) {
          this.adopt(found.backend);
          wait = this.retry.first;
        } else {
          this.drop('cannot be used any more');
          this.log(`${found.problem}; retrying in ${seconds(wait)}`);
        }
        rv = found.resourceVersion;
      }
      listed = false;
      const noPod = !this.current;
      const started = Date.now();
      await this.watchPods(rv, noPod ? wait : relistMs);
      if (noPod && !this.current) wait = Math.min(wait * 2, this.retry.max);
      // A watch the server ends at once (an old resourceVersion, a refusal) must not turn into a busy loop.
      else if (!noPod && Date.now() - started < 1000) await this.pause(this.retry.first);
    }
  }

  /** Follows pod events until the watch ends, `limitMs` passes, the pod changes, or recheck(). */
  private async watchPods(resourceVersion: string | undefined, limitMs: number | undefined): Promise<void> {
    const { namespace } = this.opts;
    let svc: V1Service;
    try {
      svc = await this.core.readNamespacedService({ namespace, name: this.opts.service });
    } catch {
      await this.pause(this.current ? this.retry.first : (limitMs ?? this.retry.first));
      return;
    }
    if (this.closed) return;
    const selector = Object.entries(svc.spec?.selector ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    if (!selector || resourceVersion === undefined) {
      await this.pause(this.current ? this.retry.first : (limitMs ?? this.retry.first));
      return;
    }
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let controller: AbortController | undefined;
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        if (this.wake === finish) this.wake = undefined;
        controller?.abort();
        resolve();
      };
      this.wake = finish;
      if (limitMs !== undefined) timer = setTimeout(finish, limitMs);
      const onEvent = (type: string, pod: V1Pod) => {
        const name = pod.metadata?.name;
        if (!name || finished) return;
        if (this.current?.pod === name) {
          if (type === 'DELETED') this.drop('was deleted');
          else if (pod.metadata?.deletionTimestamp) this.drop('is terminating');
          else if (!podReady(pod)) this.drop('is not ready');
          if (!this.current) finish();
        } else if (!this.current && type !== 'DELETED' && podReady(pod)) {
          try {
            this.adopt({ pod: name, port: resolveTargetPort(svc, this.opts.servicePort, pod) });
          } catch {
            return;
          }
          finish();
        }
      };
      new Watch(this.kc)
        .watch(`/api/v1/namespaces/${namespace}/pods`, { labelSelector: selector, resourceVersion }, onEvent, () => finish())
        .then((c) => {
          controller = c;
          // Finished before the watch was open: left alone, its connection would keep the process alive.
          if (finished) c.abort();
        })
        .catch(() => finish());
    });
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        if (this.wake === wake) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wake = wake;
    });
  }

  /** A connection to `pod` failed: list again now, in case the pod is gone and the watch has not said so yet. */
  recheck(pod: string): void {
    if (this.current?.pod === pod) this.wake?.();
  }

  /** The pod to open a connection to; waits up to `ms` while there is none. */
  async backend(ms: number): Promise<Backend | undefined> {
    if (this.current || this.closed) return this.current;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.add(done);
    });
    return this.current;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    for (const w of this.waiters) w();
    this.waiters.clear();
    // An API call to a cluster that no longer answers may take long to fail: closing does not wait for it.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((r) => (timer = setTimeout(r, 2000).unref()))]);
    clearTimeout(timer);
  }
}

export async function forwardService(kc: KubeConfig, opts: ForwardServiceOptions): Promise<Forward> {
  const { namespace } = opts;
  const forwarder = new PortForward(kc, true);
  const sockets = new Map<Socket, string>();
  const backends = new ServiceBackends(kc, opts, (gone) => {
    // Connections to a pod that is gone would hang (client-node leaves a local socket open when its WebSocket ends).
    for (const [socket, pod] of sockets) if (pod === gone) socket.destroy();
  });
  await backends.start();
  const connectWaitMs = opts.connectWaitMs ?? 30_000;

  async function serve(socket: Socket): Promise<void> {
    sockets.set(socket, '');
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const backend = await backends.backend(connectWaitMs);
    if (!backend || socket.destroyed) {
      socket.destroy();
      return;
    }
    sockets.set(socket, backend.pod);
    // The kubelet writes to the error channel only when it cannot reach the pod's port: the connection is over.
    const errors = new Writable({
      write(chunk: Buffer, _enc, done) {
        if (chunk.length > 0) {
          socket.destroy();
          backends.recheck(backend.pod);
        }
        done();
      },
    });
    try {
      const ws = await forwarder.portForward(namespace, backend.pod, [backend.port], socket, errors, socket);
      const w = typeof ws === 'function' ? ws() : ws;
      // A client that hung up while the WebSocket was being opened (a TCP probe, say) has no 'close' left to
      // come: left open, that WebSocket would keep the process alive after the forward is closed.
      if (socket.destroyed) w?.close();
      else {
        socket.on('close', () => w?.close());
        // The pod (or the API server) ended the stream: so does the local connection, or its client would wait forever.
        w?.addEventListener('close', () => socket.destroy());
      }
    } catch {
      socket.destroy();
      backends.recheck(backend.pod);
    }
  }

  const server = createServer((socket) => void serve(socket));
  let localPort: number;
  try {
    localPort = await listenOnFreePort(server, opts.localPort, opts.tries ?? 20);
  } catch (err) {
    await backends.close();
    throw err;
  }
  return {
    address: `127.0.0.1:${localPort}`,
    localPort,
    get podName() {
      return backends.podName;
    },
    get remotePort() {
      return backends.remotePort;
    },
    close: async () => {
      await backends.close();
      await new Promise<void>((resolve) => {
        for (const s of sockets.keys()) s.destroy();
        server.close(() => resolve());
      });
    },
  };
}
