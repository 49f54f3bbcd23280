// Wire codecs for the Observer, Health and Peer messages, in the jsonpb shape of lib/flows/types.ts, plus the
// jsonpb-shaped types of the non-flow messages (ServerStatus, Node, Namespace, ChangeNotification).
import protobuf from 'protobufjs';
import type { GetFlowsRequest, GetFlowsResponse, NodeState } from '../../flows/types.ts';
import { messageType } from './protos.ts';
import { fromJsonpbConverter } from './convert.ts';
import { decoderFor } from './decode.ts';
import { encoderFor, NotFastPath } from './encode.ts';

/** observer.ServerStatusResponse as jsonpb: 64-bit counters are strings, UInt32Value wrappers bare numbers. */
export interface ServerStatus {
  num_flows?: string;
  max_flows?: string;
  seen_flows?: string;
  uptime_ns?: string;
  num_connected_nodes?: number;
  num_unavailable_nodes?: number;
  unavailable_nodes?: string[];
  version?: string;
  flows_rate?: number;
}

/** observer.Node as jsonpb. */
export interface Node {
  name?: string;
  version?: string;
  address?: string;
  state?: NodeState;
  tls?: { enabled?: boolean; server_name?: string };
  uptime_ns?: string;
  num_flows?: string;
  max_flows?: string;
  seen_flows?: string;
}

export interface Namespace {
  cluster?: string;
  namespace?: string;
}

export type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export type PeerChangeType = 'UNKNOWN' | 'PEER_ADDED' | 'PEER_DELETED' | 'PEER_UPDATED';

/** peer.ChangeNotification as jsonpb. */
export interface ChangeNotification {
  name?: string;
  address?: string;
  type?: PeerChangeType;
  tls?: { server_name?: string };
}

export interface WireCodec<T> {
  type: protobuf.Type;
  encode(value: T): Buffer;
  decode(bytes: Uint8Array): T;
  /** Decodes the message in buf[start, end), e.g. in place inside a received HTTP/2 DATA chunk. */
  decodeRange(buf: Uint8Array, start: number, end: number): T;
}

/** Encoder and decoder of one message type between wire bytes and its jsonpb object. */
export function wireCodec<T>(typeName: string): WireCodec<T> {
  const type = messageType(typeName);
  const decode = decoderFor(type);
  const encode = encoderFor(type);
  const fromJsonpb = fromJsonpbConverter(type);
  return {
    type,
    encode(value: T): Buffer {
      let bytes: Uint8Array;
      try {
        if (typeof value !== 'object' || value === null) throw new NotFastPath();
        const w = protobuf.Writer.create();
        encode(value as Record<string, unknown>, w);
        bytes = w.finish();
      } catch (err) {
        if (!(err instanceof NotFastPath)) throw err;
        // Looser protojson forms (numbers as strings, …) and errors that name the field.
        bytes = type.encode(fromJsonpb(value)).finish();
      }
      return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    decode(bytes: Uint8Array): T {
      return decode(protobuf.Reader.create(bytes), bytes.length) as T;
    },
    decodeRange(buf: Uint8Array, start: number, end: number): T {
      const r = protobuf.Reader.create(buf);
      r.pos = start;
      // Reads past the message's end fail as they would at the end of a buffer of its own.
      r.len = end;
      return decode(r, end) as T;
    },
  };
}

export const getFlowsResponseCodec = wireCodec<GetFlowsResponse>('observer.GetFlowsResponse');
export const serverStatusResponseCodec = wireCodec<ServerStatus>('observer.ServerStatusResponse');
export const getNodesResponseCodec = wireCodec<{ nodes?: Node[] }>('observer.GetNodesResponse');
export const getNamespacesResponseCodec = wireCodec<{ namespaces?: Namespace[] }>('observer.GetNamespacesResponse');
export const emptyRequestCodec = wireCodec<Record<string, never>>('observer.ServerStatusRequest');
export const healthCheckRequestCodec = wireCodec<{ service?: string }>('grpc.health.v1.HealthCheckRequest');
export const healthCheckResponseCodec = wireCodec<{ status?: HealthStatus }>('grpc.health.v1.HealthCheckResponse');
export const changeNotificationCodec = wireCodec<ChangeNotification>('peer.ChangeNotification');

/** The request as jsonpb has it on the wire (number as a 64-bit string). */
interface WireGetFlowsRequest extends Omit<GetFlowsRequest, 'number'> {
  number?: string;
}
const rawGetFlowsRequestCodec = wireCodec<WireGetFlowsRequest>('observer.GetFlowsRequest');

/** GetFlowsRequest with `number` as a JS number (hubble's `--all` sends 2^64−1, which stays "everything"). */
export const getFlowsRequestCodec: WireCodec<GetFlowsRequest> = {
  type: rawGetFlowsRequestCodec.type,
  encode(req: GetFlowsRequest): Buffer {
    const { number, ...rest } = req;
    const wire: WireGetFlowsRequest = rest;
    if (number !== undefined && number !== 0) {
      if (!Number.isInteger(number) || number < 0) throw new RangeError(`GetFlowsRequest.number must be a whole number ≥ 0, not ${number}`);
      wire.number = BigInt(number) > 0xffff_ffff_ffff_ffffn ? '18446744073709551615' : BigInt(number).toString();
    }
    return rawGetFlowsRequestCodec.encode(wire);
  },
  decode(bytes: Uint8Array): GetFlowsRequest {
    return getFlowsRequestCodec.decodeRange(bytes, 0, bytes.length);
  },
  decodeRange(buf: Uint8Array, start: number, end: number): GetFlowsRequest {
    const { number, ...rest } = rawGetFlowsRequestCodec.decodeRange(buf, start, end);
    const req: GetFlowsRequest = rest;
    if (number !== undefined) req.number = Number(number);
    return req;
  },
};

/** A decoded GetFlowsResponse straight from wire bytes: the client's hot path. */
export function decodeGetFlowsResponse(bytes: Uint8Array): GetFlowsResponse {
  return getFlowsResponseCodec.decode(bytes);
}

export function encodeGetFlowsResponse(response: GetFlowsResponse): Buffer {
  return getFlowsResponseCodec.encode(response);
}
