// Port-forwarding a Service's port to 127.0.0.1 through the API server (client-node's PortForward, WebSocket).
import { createServer, type Server, type Socket } from 'node:net';
import { CoreV1Api, PortForward, type KubeConfig, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { InfraError } from '../errors.ts';
import { callApi } from './errors.ts';

export interface Forward {
  /** host:port to dial locally. */
  address: string;
  localPort: number;
  podName: string;
  remotePort: number;
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
}

function podReady(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
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

export async function forwardService(kc: KubeConfig, opts: ForwardServiceOptions): Promise<Forward> {
  const core = kc.makeApiClient(CoreV1Api);
  const { namespace, service } = opts;
  const svc = await callApi(`read Service ${namespace}/${service}`, () => core.readNamespacedService({ namespace, name: service }));
  const selector = Object.entries(svc.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  if (!selector) throw new InfraError(`service ${namespace}/${service} has no selector to find a pod by`);
  const pods = await callApi(`list pods of service ${namespace}/${service}`, () => core.listNamespacedPod({ namespace, labelSelector: selector }));
  const pod = pods.items.find(podReady);
  if (!pod) {
    throw new InfraError(`no ready pod behind service ${namespace}/${service}`, {
      hint: `check \`kubectl -n ${namespace} get pods -l ${selector}\``,
    });
  }
  const podName = pod.metadata!.name!;
  const remotePort = resolveTargetPort(svc, opts.servicePort, pod);
  const forwarder = new PortForward(kc, true);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    forwarder
      .portForward(namespace, podName, [remotePort], socket, null, socket)
      .then((ws) => {
        const close = () => {
          const w = typeof ws === 'function' ? ws() : ws;
          w?.close();
        };
        // A client that hung up while the WebSocket was being opened (a TCP probe, say) has no 'close' left to
        // come: left open, that WebSocket would keep the process alive after the forward is closed.
        if (socket.destroyed) close();
        else socket.on('close', close);
      })
      .catch(() => socket.destroy());
  });
  const localPort = await listenOnFreePort(server, opts.localPort, opts.tries ?? 20);
  return {
    address: `127.0.0.1:${localPort}`,
    localPort,
    podName,
    remotePort,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
