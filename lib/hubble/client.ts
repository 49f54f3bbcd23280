// Client for a Hubble Observer (node agent or Relay): GetFlows as an async iterator with backpressure,
// ServerStatus, GetNodes, GetNamespaces and the gRPC health check, with errors that tell the user what to do.
import { connect as tcpConnect } from 'node:net';
import type { GetFlowsRequest, GetFlowsResponse } from '../flows/types.ts';
import { InfraError } from '../errors.ts';
import { openH2Channel } from './grpc/h2-client.ts';
import { GrpcStatusError, Status as GrpcStatus, statusName } from './grpc/status.ts';
import type { HealthStatus, Namespace, Node, ServerStatus } from './grpc/messages.ts';
import { healthService, observerService, type Method } from './grpc/services.ts';

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

function callError(what: string, address: string, rpc: string, err: unknown, timeoutMs?: number): InfraError {
  if (err instanceof InfraError) return err;
  const { code, details } = err instanceof GrpcStatusError ? err : { code: -1, details: (err as Error).message };
  switch (code) {
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new InfraError(`${what} at ${address} did not answer ${rpc} within ${timeoutMs} ms (request timeout)`, {
        hint: 'the server may be overloaded; retry, or raise the request timeout',
        cause: err,
      });
    case GrpcStatus.UNAVAILABLE:
      return new InfraError(`lost connection to ${what} at ${address} during ${rpc}: ${details || 'unavailable'}`, {
        hint: 'check that the server and any port-forward to it are still running (`hubble-lab port-forward`)',
        cause: err,
      });
    case GrpcStatus.UNIMPLEMENTED:
      return new InfraError(`${what} at ${address} does not implement ${rpc}`, {
        hint: 'is this address a Hubble server? Relay listens on 4245, agents on 4244',
        cause: err,
      });
    default:
      return new InfraError(`${what} at ${address} rejected ${rpc}: ${details || statusName(code)}`, { cause: err });
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
  await probeTcp(target, dialTimeoutMs, what);
  const channel = await openH2Channel(target, { dialTimeoutMs, what });

  async function unary<Req, Res>(m: Method<Req, Res>, request: Req): Promise<Res> {
    const rpc = m.path.slice(m.path.lastIndexOf('/') + 1);
    try {
      return await channel.unary(m.path, m.requestCodec.encode(request), m.responseCodec.decodeRange, { deadline: Date.now() + requestTimeoutMs });
    } catch (err) {
      throw callError(what, target, rpc, err, requestTimeoutMs);
    }
  }

  async function* getFlows(req: GetFlowsRequest, o: { signal?: AbortSignal } = {}): AsyncGenerator<GetFlowsResponse> {
    try {
      const m = observerService.GetFlows;
      yield* channel.serverStream(m.path, m.requestCodec.encode(req), m.responseCodec.decodeRange, {
        signal: o.signal,
        highWater: HIGH_WATER,
      });
    } catch (err) {
      throw callError(what, target, 'GetFlows', err);
    }
  }

  const empty = {};
  return {
    address: target,
    getFlows,
    serverStatus: () => unary(observerService.ServerStatus, empty),
    getNodes: async () => (await unary(observerService.GetNodes, empty)).nodes ?? [],
    getNamespaces: async () => (await unary(observerService.GetNamespaces, empty)).namespaces ?? [],
    health: async (service = '') => (await unary(healthService.Check, { service })).status ?? 'UNKNOWN',
    close: () => channel.close(),
  };
}
