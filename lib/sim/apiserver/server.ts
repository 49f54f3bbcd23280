// The sim's API server process part: an HTTP server on 127.0.0.1 serving the handler, and port-forward upgrades.
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { authorized, handle, parseResourcePath, type HandlerContext } from './handler.ts';
import { sendError, statusOf } from './http.ts';
import { badRequest, pathNotFound, unauthorized } from './errors.ts';
import type { Registry } from './registry.ts';
import type { Stats } from './stats.ts';
import type { KObject, Store } from './store.ts';
import type { PodLogSource } from './logs.ts';
import { selfSignedCert, type ServingCert } from './tls.ts';
import { handlePortForward } from './portforward.ts';
import { handleExec } from './exec.ts';
import { handleAttach } from './attach.ts';
import type { RunningPod } from '../runtime/types.ts';

/** Opens a stream to a pod's port as the pod sees it; the kubelet resolves the pod. */
export type PodDialer = (namespace: string, name: string, port: number) => Promise<Duplex>;

export type PortForwardHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, dial: (port: number) => Promise<Duplex>) => void;

export interface ApiServerOptions {
  store: Store;
  registry: Registry;
  stats: Stats;
  token: string;
  port?: number;
  logs: PodLogSource;
  dial: PodDialer;
  /** Speaks the port-forward protocols over an upgraded connection (the sim's own by default). */
  portForward?: PortForwardHandler;
}

export interface ApiServer {
  url: string;
  /** PEM of the serving certificate, which clients trust as their CA. */
  caPem: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** The running pod an exec or attach goes to, refused with the kubelet's messages when its container cannot take it. */
function streamTarget(pod: KObject, verb: 'exec' | 'attach', container: string | null, source: PodLogSource): RunningPod {
  const name = pod.metadata.name!;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed')
    throw badRequest(`cannot ${verb === 'exec' ? 'exec into' : 'attach to'} a container in a completed pod; current phase is ${phase}`);
  if (phase !== 'Running') throw badRequest(`pod ${name} does not have a host assigned or is not running`);
  const names: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
  const chosen = container || names[0];
  if (!chosen || !names.includes(chosen)) throw badRequest(`container ${chosen} is not valid for pod ${name}`);
  const state = (pod.status?.containerStatuses ?? []).find((c: { name: string }) => c.name === chosen)?.state;
  const running = source(pod.metadata.namespace ?? '', name, pod.metadata.uid ?? '');
  if (!state?.running || !running) throw badRequest(`unable to upgrade connection: container not found ("${chosen}")`);
  return running;
}

function refuseUpgrade(socket: Duplex, err: unknown): void {
  const status = statusOf(err);
  const body = JSON.stringify(status);
  socket.end(
    `HTTP/1.1 ${status.code} ${status.reason ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  let url = '';
  const ctx: HandlerContext = {
    store: opts.store,
    registry: opts.registry,
    stats: opts.stats,
    token: opts.token,
    address: () => url.replace(/^https?:\/\//, ''),
    logs: opts.logs,
  };
  const tls: ServingCert = selfSignedCert();
  const server = createServer({ key: tls.key, cert: tls.cert, keepAliveTimeout: 30_000 }, (req, res) => {
    handle(req, res, ctx).catch((err) => sendError(res, err));
  });
  // Upgraded connections (port-forwards) leave the HTTP server's bookkeeping, and a connection still in its TLS
  // handshake has not entered it yet: close() ends every socket itself, or it could wait on them forever.
  const sockets = new Set<Duplex>();
  server.on('connection', (socket: Duplex) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    socket.on('error', () => socket.destroy());
    try {
      opts.stats.count('create', false);
      if (!authorized(req, opts.token)) throw unauthorized();
      const url = new URL(req.url ?? '/', 'http://localhost');
      const r = parseResourcePath(url.pathname);
      if (!r || r === 'unknown' || !['portforward', 'exec', 'attach'].includes(r.subresource) || !r.name) throw pathNotFound();
      const pod = opts.registry.get(r.info, r.namespace, r.name);
      if (r.subresource !== 'portforward') {
        const running = streamTarget(pod, r.subresource === 'exec' ? 'exec' : 'attach', url.searchParams.get('container'), opts.logs);
        if (r.subresource === 'exec') handleExec(req, socket, head, running);
        else handleAttach(req, socket, head, running, pod.spec ?? {});
        return;
      }
      if (pod.status?.phase !== 'Running') throw badRequest(`pod ${r.name} does not have a host assigned or is not running`);
      (opts.portForward ?? handlePortForward)(req, socket, head, (port) => opts.dial(r.namespace, r.name, port));
    } catch (err) {
      refuseUpgrade(socket, err);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  url = `https://127.0.0.1:${port}`;
  return {
    url,
    caPem: tls.cert,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
        for (const socket of sockets) socket.destroy();
      }),
  };
}
