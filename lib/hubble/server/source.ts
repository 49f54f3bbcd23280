// What an Observer server serves from: the pluggable source behind GetFlows, ServerStatus, GetNodes and
// GetNamespaces (a ring buffer for a node agent or a replayed file, a merge of agents for Relay).
import type { GetFlowsRequest, GetFlowsResponse } from '../../flows/types.ts';
import type { Namespace, Node, ServerStatus } from '../grpc/messages.ts';

/** Where a GetFlows stream writes: a record, or bytes already encoded as a GetFlowsResponse. */
export interface FlowStreamSink {
  /** Queues one record; false means the client is slow: await drained() before sending more. */
  send(record: GetFlowsResponse | Uint8Array): boolean;
  /** Resolves when the client has caught up (or the stream ended). */
  drained(): Promise<void>;
}

export interface ObserverSource {
  /**
   * Streams the records the request asks for into the sink, returning when the request is complete
   * (never, for follow, until the signal aborts). Throws ObserverError for requests it rejects.
   */
  getFlows(req: GetFlowsRequest, sink: FlowStreamSink, signal: AbortSignal): Promise<void>;
  serverStatus(): ServerStatus | Promise<ServerStatus>;
  getNodes(): Node[] | Promise<Node[]>;
  getNamespaces(): Namespace[] | Promise<Namespace[]>;
}

/** A request the source rejects, with the gRPC status it maps to. */
export class ObserverError extends Error {
  readonly code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' | 'UNAVAILABLE' | 'INTERNAL';
  constructor(code: ObserverError['code'], message: string) {
    super(message);
    this.name = 'ObserverError';
    this.code = code;
  }
}
