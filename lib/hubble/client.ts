// Client for a Hubble Observer (node agent or Relay): GetFlows as an async iterator with backpressure,
// ServerStatus, GetNodes, GetNamespaces and the gRPC health check, with errors that tell the user what to do.
import * as grpc from '@grpc/grpc-js';
import { connect as tcpConnect } from 'node:net';
import type { GetFlowsRequest, GetFlowsResponse } from '../flows/types.ts';
import { InfraError } from '../errors.ts';
import type { HealthStatus, Namespace, Node, ServerStatus } from './grpc/messages.ts';
import { healthService, observerService } from './grpc/services.ts';

export type { HealthStatus, Namespace, Node, ServerStatus } from './grpc/messages.ts';

export interface ConnectOptions {
  /** Time to open the TCP connection and complete the HTTP/2 handshake. Default 5000 ms. */
  dialTimeoutMs?: number;
  /** Deadline of each unary call (ServerStatus, GetNodes, GetNamespaces, health). Default 10000 ms. */
  requestTimeoutMs?: number;
  /** What the address is, for messages: 'Hubble Relay' (default), 'Hubble agent on kind-worker', … */
  what?: string;
}

export interface ObserverClient {
  readonly address: string;
  /**
   * Streams GetFlows responses. The server is paused while the consumer is slow (HTTP/2 flow control); breaking
   * out of the loop or aborting the signal cancels the call and ends the iteration without an error.
   */
  getFlows(req: GetFlowsRequest, opts?: { signal?: AbortSignal }): AsyncIterable<GetFlowsResponse>;
  serverStatus(): Promise<ServerStatus>;
  getNodes(): Promise<Node[]>;
  getNamespaces(): Promise<Namespace[]>;
  /** grpc.health.v1 Check; `hubble status` asks for service "hubble.server.Observer". */
  health(service?: string): Promise<HealthStatus>;
  close(): void;
}

const DEFAULT_PORT = 4245;

/** Responses buffered in the client before the call is paused. */
const HIGH_WATER = 512;

/** host:port with the Hubble Relay port added when missing; IPv6 literals in brackets. */
export function normalizeAddress(address: string): string {
  const a = address.replace(/^(dns:\/{0,3}|ipv4:|ipv6:)/, '');
  if (/^\[.*\]:\d+$/.test(a) || /^[^:]+:\d+$/.test(a)) return a;
  if (/^\[.*\]$/.test(a) || !a.includes(':')) return `${a}:${DEFAULT_PORT}`;
  return `[${a}]:${DEFAULT_PORT}`;
}

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

const socketReasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
};

function unreachable(what: string, address: string, reason: string, cause?: unknown): InfraError {
  return new InfraError(`cannot reach ${what} at ${address}: ${reason} — is a port-forward running?`, {
    hint: 'start one with `hubble-lab port-forward` (or `cilium hubble port-forward`), or point --server at a running relay',
    cause,
  });
}

/** Opens (and closes) a TCP connection first: it tells "refused" from "no answer" far better than gRPC does. */
function probeTcp(address: string, timeoutMs: number, what: string): Promise<void> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(unreachable(what, address, `no answer within ${timeoutMs} ms (dial timeout)`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(unreachable(what, address, socketReasons[err.code ?? ''] ?? err.message, err));
    });
  });
}

const ObserverGrpcClient = grpc.makeGenericClientConstructor(observerService, 'Observer');
const HealthGrpcClient = grpc.makeGenericClientConstructor(healthService, 'Health');

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
type UnaryFn<Req, Res> = (req: Req, metadata: grpc.Metadata, options: grpc.CallOptions, cb: Callback<Res>) => grpc.ClientUnaryCall;

function callError(what: string, address: string, rpc: string, err: grpc.ServiceError, timeoutMs?: number): InfraError {
  switch (err.code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return new InfraError(`${what} at ${address} did not answer ${rpc} within ${timeoutMs} ms (request timeout)`, {
        hint: 'the server may be overloaded; retry, or raise the request timeout',
        cause: err,
      });
    case grpc.status.UNAVAILABLE:
      return new InfraError(`lost connection to ${what} at ${address} during ${rpc}: ${err.details || 'unavailable'}`, {
        hint: 'check that the server and any port-forward to it are still running (`hubble-lab port-forward`)',
        cause: err,
      });
    case grpc.status.UNIMPLEMENTED:
      return new InfraError(`${what} at ${address} does not implement ${rpc}`, {
        hint: 'is this address a Hubble server? Relay listens on 4245, agents on 4244',
        cause: err,
      });
    default:
      return new InfraError(`${what} at ${address} rejected ${rpc}: ${err.details || grpc.status[err.code]}`, { cause: err });
  }
}

/**
 * Connects to an Observer and checks it answers HTTP/2 within the dial timeout. Rejects with an InfraError
 * that says what to do when nothing listens there or it does not answer.
 */
export async function connectObserver(address: string, opts: ConnectOptions = {}): Promise<ObserverClient> {
  const what = opts.what ?? 'Hubble Relay';
  const dialTimeoutMs = opts.dialTimeoutMs ?? 5000;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
  const target = normalizeAddress(address);
  const started = Date.now();
  await probeTcp(target, dialTimeoutMs, what);

  const channelOptions: grpc.ChannelOptions = {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    // A 2 MiB HTTP/2 window (default 64 KiB) lets a GetFlows stream run without stalling on window updates;
    // a client that stops reading still stops the server once it is full.
    'grpc-node.flow_control_window': 2 * 1024 * 1024,
    // Loopback port-forwards are cheap to redial; do not let a failed dial wait out the default backoff.
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2000,
  };
  const observer = new ObserverGrpcClient(target, grpc.credentials.createInsecure(), channelOptions);
  const health = new HealthGrpcClient(target, grpc.credentials.createInsecure(), { channelOverride: observer.getChannel() });
  const remaining = Math.max(1, dialTimeoutMs - (Date.now() - started));
  try {
    await new Promise<void>((resolve, reject) => {
      observer.waitForReady(Date.now() + remaining, (err) => (err ? reject(err) : resolve()));
    });
  } catch (err) {
    observer.close();
    throw new InfraError(`cannot reach ${what} at ${target}: connected, but no gRPC handshake within ${dialTimeoutMs} ms (dial timeout)`, {
      hint: 'is this a Hubble gRPC port (Relay 4245, agents 4244) and is TLS off? hubble-lab speaks plaintext gRPC',
      cause: err,
    });
  }

  function unary<Res>(client: grpc.Client, rpc: string, request: unknown): Promise<Res> {
    const fn = (client as unknown as Record<string, UnaryFn<unknown, Res>>)[rpc]!.bind(client);
    return new Promise<Res>((resolve, reject) => {
      fn(request, new grpc.Metadata(), { deadline: Date.now() + requestTimeoutMs }, (err, value) => {
        if (err) reject(callError(what, target, rpc, err, requestTimeoutMs));
        else resolve(value as Res);
      });
    });
  }

  async function* getFlows(req: GetFlowsRequest, o: { signal?: AbortSignal } = {}): AsyncGenerator<GetFlowsResponse> {
    if (o.signal?.aborted) return;
    const call = (observer as unknown as { GetFlows(req: GetFlowsRequest): grpc.ClientReadableStream<GetFlowsResponse> }).GetFlows(req);
    // Responses queue here while the consumer is busy; past HIGH the call is paused, so grpc-js stops reading
    // and HTTP/2 flow control makes the server wait. 'data' events cost less per message than the Readable's
    // own async iterator.
    const queue: GetFlowsResponse[] = [];
    let head = 0;
    let ended = false;
    let failure: grpc.ServiceError | undefined;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    call.on('data', (r: GetFlowsResponse) => {
      queue.push(r);
      if (queue.length - head >= HIGH_WATER) call.pause();
      notify();
    });
    call.on('end', () => {
      ended = true;
      notify();
    });
    call.on('error', (err: grpc.ServiceError) => {
      failure = err;
      ended = true;
      notify();
    });
    const cancel = () => call.cancel();
    o.signal?.addEventListener('abort', cancel, { once: true });
    try {
      for (;;) {
        if (head < queue.length) {
          const r = queue[head++]!;
          if (head === queue.length) {
            queue.length = 0;
            head = 0;
            if (!ended) call.resume();
          }
          yield r;
          continue;
        }
        if (ended) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      if (failure) {
        if (failure.code === grpc.status.CANCELLED && o.signal?.aborted) return;
        throw callError(what, target, 'GetFlows', failure);
      }
    } finally {
      o.signal?.removeEventListener('abort', cancel);
      call.cancel();
    }
  }

  return {
    address: target,
    getFlows,
    serverStatus: () => unary<ServerStatus>(observer, 'ServerStatus', {}),
    getNodes: async () => (await unary<{ nodes?: Node[] }>(observer, 'GetNodes', {})).nodes ?? [],
    getNamespaces: async () => (await unary<{ namespaces?: Namespace[] }>(observer, 'GetNamespaces', {})).namespaces ?? [],
    health: async (service = '') => (await unary<{ status?: HealthStatus }>(health, 'Check', { service })).status ?? 'UNKNOWN',
    // The health client rides on the observer's channel; closing that closes both.
    close: () => observer.close(),
  };
}
