// Method definitions (paths and codecs) of observer.Observer, grpc.health.v1.Health and peer.Peer, built on our
// codecs so clients receive jsonpb objects and servers may send either jsonpb objects or bytes they encoded once.
// They have grpc-js' shape (written out here: grpc-js is only a test and bench peer, so lib/ must not need its
// types), so our HTTP/2 transports and a grpc-js peer use the same definitions; test/hubble/grpc/services.test.ts
// checks that grpc-js accepts them.
import type { GetFlowsRequest, GetFlowsResponse } from '../../flows/types.ts';
import {
  changeNotificationCodec,
  emptyRequestCodec,
  getFlowsRequestCodec,
  getFlowsResponseCodec,
  getNamespacesResponseCodec,
  getNodesResponseCodec,
  healthCheckRequestCodec,
  healthCheckResponseCodec,
  serverStatusResponseCodec,
  type ChangeNotification,
  type HealthStatus,
  type Namespace,
  type Node,
  type ServerStatus,
  type WireCodec,
} from './messages.ts';

/** A response the server has already encoded (e.g. a ring-buffer record shared by every reader). */
export type Encoded = Uint8Array;

/** grpc-js' MethodDefinition, field for field. */
export interface MethodDefinition<Req, Res> {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(bytes: Buffer): Req;
  responseSerialize(value: Res): Buffer;
  responseDeserialize(bytes: Buffer): Res;
  originalName?: string;
}

/** A method in grpc-js' shape, plus its codecs for our HTTP/2 client (which decodes in place). */
export type Method<Req, Res> = MethodDefinition<Req, Res | Encoded> & { requestCodec: WireCodec<Req>; responseCodec: WireCodec<Res> };

/** grpc-js' ServiceDefinition: methods by name. */
type ServiceDefinition = Readonly<Record<string, MethodDefinition<any, any>>>;

function method<Req, Res>(path: string, req: WireCodec<Req>, res: WireCodec<Res>, responseStream: boolean): Method<Req, Res> {
  return {
    requestCodec: req,
    responseCodec: res,
    path,
    requestStream: false,
    responseStream,
    requestSerialize: (v: Req) => req.encode(v),
    requestDeserialize: (b: Buffer) => req.decode(b),
    responseSerialize: (v: Res | Encoded) => (v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : res.encode(v)),
    responseDeserialize: (b: Buffer) => res.decode(b),
    originalName: path.slice(path.lastIndexOf('/') + 1),
  };
}

type Empty = Record<string, never>;

export const observerService = {
  GetFlows: method<GetFlowsRequest, GetFlowsResponse>('/observer.Observer/GetFlows', getFlowsRequestCodec, getFlowsResponseCodec, true),
  ServerStatus: method<Empty, ServerStatus>('/observer.Observer/ServerStatus', emptyRequestCodec, serverStatusResponseCodec, false),
  GetNodes: method<Empty, { nodes?: Node[] }>('/observer.Observer/GetNodes', emptyRequestCodec, getNodesResponseCodec, false),
  GetNamespaces: method<Empty, { namespaces?: Namespace[] }>('/observer.Observer/GetNamespaces', emptyRequestCodec, getNamespacesResponseCodec, false),
} satisfies ServiceDefinition;

export const healthService = {
  Check: method<{ service?: string }, { status?: HealthStatus }>('/grpc.health.v1.Health/Check', healthCheckRequestCodec, healthCheckResponseCodec, false),
  Watch: method<{ service?: string }, { status?: HealthStatus }>('/grpc.health.v1.Health/Watch', healthCheckRequestCodec, healthCheckResponseCodec, true),
} satisfies ServiceDefinition;

export const peerService = {
  Notify: method<Empty, ChangeNotification>('/peer.Peer/Notify', emptyRequestCodec, changeNotificationCodec, true),
} satisfies ServiceDefinition;
