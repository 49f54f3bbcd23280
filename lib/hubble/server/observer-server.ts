// A gRPC server speaking observer.Observer and grpc.health.v1.Health over any ObserverSource, started on a
// host:port and stopped cleanly: node agents, Relay (sim) and `hubble-lab relay` all run one of these.
import type { GetFlowsRequest, GetFlowsResponse } from '../../flows/types.ts';
import { InfraError } from '../../errors.ts';
import type { HealthStatus } from '../grpc/messages.ts';
import { healthService, observerService, type Encoded } from '../grpc/services.ts';
import { startGrpcServer, streamMethod, unaryMethod, type GrpcServer } from '../grpc/h2-server.ts';
import { GrpcStatusError, Status } from '../grpc/status.ts';
import { exposureWarning } from './exposure.ts';
import { checkFilterBounds } from './request-filters.ts';
import { ObserverError, type ObserverSource } from './source.ts';

export interface RunningServer {
  /** host:port actually bound (port 0 resolved). */
  address: string;
  port: number;
  /** Ends every open stream, then stops the server. */
  close(): Promise<void>;
}

export interface ObserverServerOptions {
  /** Short name for error messages, e.g. 'Hubble Relay'. */
  what?: string;
  /** More methods on the same port (a node agent also serves peer.Peer there). */
  methods?: Parameters<typeof startGrpcServer>[1];
  /** Told when the server is bound beyond loopback, where other machines can read its flows. */
  warn?(line: string): void;
}

const statusCodes: Record<ObserverError['code'], number> = {
  INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
  FAILED_PRECONDITION: Status.FAILED_PRECONDITION,
  UNAVAILABLE: Status.UNAVAILABLE,
  INTERNAL: Status.INTERNAL,
};

/** A source's rejection as the gRPC status the client receives. */
function asStatus(err: unknown): unknown {
  return err instanceof ObserverError ? new GrpcStatusError(statusCodes[err.code], err.message) : err;
}

function rethrowing<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw asStatus(err);
    }
  };
}

/**
 * Services answered as SERVING by Check: the whole server (""), the gRPC service, and the name `hubble status`
 * asks for (Cilium's pkg/hubble/api/v1 ObserverServiceName).
 */
export const HEALTH_SERVICE_NAMES = ['', 'observer.Observer', 'hubble.server.Observer'];
const healthyServices = new Set(HEALTH_SERVICE_NAMES);

export async function startObserverServer(listen: string, source: ObserverSource, opts: ObserverServerOptions = {}): Promise<RunningServer> {
  const what = opts.what ?? 'Hubble observer';
  let server: GrpcServer;
  try {
    server = await startGrpcServer(listen, [
      streamMethod<GetFlowsRequest, GetFlowsResponse | Encoded>(
        observerService.GetFlows,
        // Bounds first: Relay would otherwise hand an oversized request to every node.
        rethrowing((req, out, ctx) => {
          checkFilterBounds(req);
          return source.getFlows(req, out, ctx.signal);
        }),
      ),
      unaryMethod(
        observerService.ServerStatus,
        rethrowing(() => source.serverStatus()),
      ),
      unaryMethod(
        observerService.GetNodes,
        rethrowing(async () => ({ nodes: await source.getNodes() })),
      ),
      unaryMethod(
        observerService.GetNamespaces,
        rethrowing(async () => ({ namespaces: await source.getNamespaces() })),
      ),
      unaryMethod(healthService.Check, ({ service = '' }) => {
        if (!healthyServices.has(service)) throw new GrpcStatusError(Status.NOT_FOUND, `unknown service ${service}`);
        return { status: 'SERVING' as HealthStatus };
      }),
      streamMethod(healthService.Watch, async ({ service = '' }, out, ctx) => {
        out.send({ status: healthyServices.has(service) ? 'SERVING' : 'SERVICE_UNKNOWN' });
        // Status never changes while we run; the stream stays open until the client leaves or we stop.
        await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
      }),
      ...(opts.methods ?? []),
    ]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'EADDRINUSE'
        ? 'address already in use'
        : code === 'EADDRNOTAVAIL' || code === 'EACCES'
          ? 'address not available on this machine'
          : (err as Error).message;
    throw new InfraError(`cannot start ${what} on ${listen}: ${reason}`, {
      hint: 'pick another address with --listen (e.g. 127.0.0.1:0 for any free port), or stop what is using it',
      cause: err,
    });
  }
  const exposed = exposureWarning(what, server.boundHost, server.port);
  if (exposed) opts.warn?.(exposed);
  return server;
}
