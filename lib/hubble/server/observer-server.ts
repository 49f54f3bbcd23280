// A grpc-js server speaking observer.Observer and grpc.health.v1.Health over any ObserverSource, started on a
// host:port and stopped cleanly: node agents, Relay (sim) and `hubble-lab relay` all run one of these.
import * as grpc from '@grpc/grpc-js';
import type { GetFlowsRequest, GetFlowsResponse } from '../../flows/types.ts';
import { InfraError } from '../../errors.ts';
import type { HealthStatus } from '../grpc/messages.ts';
import { healthService, observerService, type Encoded } from '../grpc/services.ts';
import { ObserverError, type FlowStreamSink, type ObserverSource } from './source.ts';

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
  /** More services on the same port (a node agent also serves peer.Peer there). */
  services?: { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }[];
}

const statusCodes: Record<ObserverError['code'], grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  INTERNAL: grpc.status.INTERNAL,
};

function toStatus(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof ObserverError) return { code: statusCodes[err.code], details: err.message };
  return { code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}

function unary<Res>(get: () => Res | Promise<Res>): grpc.handleUnaryCall<unknown, Res> {
  return (_call, callback) => {
    Promise.resolve()
      .then(get)
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(toStatus(err)),
      );
  };
}

const QUEUED_MESSAGES = 256;

/**
 * Services answered as SERVING by Check: the whole server (""), the gRPC service, and the name `hubble status`
 * asks for (Cilium's pkg/hubble/api/v1 ObserverServiceName).
 */
export const HEALTH_SERVICE_NAMES = ['', 'observer.Observer', 'hubble.server.Observer'];
const healthyServices = new Set(HEALTH_SERVICE_NAMES);

export async function startObserverServer(
  listen: string,
  source: ObserverSource,
  opts: ObserverServerOptions = {},
): Promise<RunningServer> {
  const what = opts.what ?? 'Hubble observer';
  const server = new grpc.Server();
  const open = new Set<AbortController>();

  const getFlows = (call: grpc.ServerWritableStream<GetFlowsRequest, GetFlowsResponse | Encoded>) => {
    const stop = new AbortController();
    open.add(stop);
    const abort = () => stop.abort();
    call.on('cancelled', abort);
    call.on('error', abort);
    const sink: FlowStreamSink = {
      // Past grpc-js' 16-message mark, keep queueing up to a few hundred: fewer drain round trips, and HTTP/2
      // flow control still stops a client that is not reading.
      send: (record) => call.write(record) || call.writableLength < QUEUED_MESSAGES,
      drained: () =>
        new Promise<void>((resolve) => {
          if (stop.signal.aborted) return resolve();
          const done = () => {
            call.off('drain', done);
            stop.signal.removeEventListener('abort', done);
            resolve();
          };
          call.once('drain', done);
          stop.signal.addEventListener('abort', done, { once: true });
        }),
    };
    source.getFlows(call.request, sink, stop.signal).then(
      () => {
        open.delete(stop);
        if (!call.cancelled) call.end();
      },
      (err: unknown) => {
        open.delete(stop);
        if (!call.cancelled) call.emit('error', toStatus(err));
      },
    );
  };

  server.addService(observerService, {
    GetFlows: getFlows,
    ServerStatus: unary(() => source.serverStatus()),
    GetNodes: unary(async () => ({ nodes: await source.getNodes() })),
    GetNamespaces: unary(async () => ({ namespaces: await source.getNamespaces() })),
  });

  for (const extra of opts.services ?? []) server.addService(extra.definition, extra.implementation);

  server.addService(healthService, {
    Check: ((call, callback) => {
      const service = call.request.service ?? '';
      if (healthyServices.has(service)) callback(null, { status: 'SERVING' as HealthStatus });
      else callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${service}` });
    }) satisfies grpc.handleUnaryCall<{ service?: string }, { status?: HealthStatus }>,
    Watch: ((call) => {
      const service = call.request.service ?? '';
      call.write({ status: healthyServices.has(service) ? 'SERVING' : 'SERVICE_UNKNOWN' });
      // Status never changes while we run; the stream stays open until the client leaves or we stop.
      const stop = new AbortController();
      open.add(stop);
      stop.signal.addEventListener('abort', () => {
        open.delete(stop);
        if (!call.cancelled) call.end();
      });
      call.on('cancelled', () => stop.abort());
    }) satisfies grpc.handleServerStreamingCall<{ service?: string }, { status?: HealthStatus }>,
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (err, boundPort) => {
      if (err) {
        const reason = /EADDRINUSE|address already in use/i.test(err.message)
          ? 'address already in use'
          : /EADDRNOTAVAIL|EACCES/i.test(err.message)
            ? 'address not available on this machine'
            : err.message;
        reject(
          new InfraError(`cannot start ${what} on ${listen}: ${reason}`, {
            hint: 'pick another address with --listen (e.g. 127.0.0.1:0 for any free port), or stop what is using it',
            cause: err,
          }),
        );
      } else {
        resolve(boundPort);
      }
    });
  });

  const host = listen.slice(0, listen.lastIndexOf(':'));
  let closing: Promise<void> | undefined;
  return {
    address: `${host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const stop of [...open]) stop.abort();
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closing;
    },
  };
}
