// Byte pipes between sockets: a pod port in front of an in-process server's real port, and a local port whose
// connections go out through a dial function (the sim's datapath), so gRPC clients can ride on either.
import net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';

/** Pipes both ways; when either side closes or fails, the other is destroyed. */
export function joinSockets(a: Duplex, b: Duplex): void {
  const close = () => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.on('error', close);
    s.on('close', close);
  }
  a.pipe(b);
  b.pipe(a);
}

/**
 * A server that carries every connection it accepts to the socket `connect()` opens; a connection whose target
 * cannot be opened is reset. Tracks open sockets so close() can end them.
 */
export function pipeServer(connect: () => Promise<Duplex>): net.Server & { destroyConnections(): void } {
  const open = new Set<Duplex>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    connect().then(
      (target) => {
        if (socket.destroyed) {
          target.destroy();
          return;
        }
        open.add(target);
        target.once('close', () => open.delete(target));
        joinSockets(socket, target);
      },
      () => socket.resetAndDestroy(),
    );
  });
  return Object.assign(server, {
    destroyConnections() {
      for (const s of [...open]) s.destroy();
    },
  });
}

/** Connects to a real TCP port on 127.0.0.1. */
export async function connectLocal(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  await once(socket, 'connect');
  return socket;
}

export interface LocalForward {
  /** 127.0.0.1:port to point a client at. */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on a free 127.0.0.1 port; each connection to it is carried over a new `dial()`. */
export async function localForward(dial: () => Promise<Duplex>): Promise<LocalForward> {
  const server = pipeServer(dial);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    address: `127.0.0.1:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.destroyConnections();
      });
      return closing;
    },
  };
}

/** What serving on a pod port needs from the pod's network. */
export interface PodPorts {
  listen(server: net.Server, port: number, opts?: { loopback?: boolean }): Promise<number>;
  expose(port: number, realPort: number): () => void;
}

/**
 * Makes a server already listening on 127.0.0.1:realPort reachable as the pod's `port`: registered as is, or, for a
 * port only the pod itself may reach, behind a pipe. Resolves with the function that withdraws it.
 */
export async function servePodPort(pod: PodPorts, port: number, realPort: number, opts: { loopback?: boolean } = {}): Promise<() => Promise<void>> {
  if (!opts.loopback) {
    const withdraw = pod.expose(port, realPort);
    return async () => withdraw();
  }
  const front = pipeServer(() => connectLocal(realPort));
  await pod.listen(front, port, { loopback: true });
  return () =>
    new Promise<void>((resolve) => {
      front.close(() => resolve());
      front.destroyConnections();
    });
}
