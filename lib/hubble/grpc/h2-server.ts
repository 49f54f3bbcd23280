// A plaintext gRPC server transport (gRPC over HTTP/2, h2c) on node:http2, for unary and server-streaming
// methods: what Hubble's Observer, Health and Peer services need.
//
// Why not grpc-js here: grpc-js writes each response message to the HTTP/2 stream on its own, waiting for one
// write to complete before the next, after copying it into a framed Buffer. A GetFlows stream sends tens of
// thousands of small messages a second, most of them already encoded in the ring buffer; this transport frames
// what a handler sends in one go into a single buffer and writes that (bench/grpc.bench.ts measures the
// relay's CPU per flow). Protocol: grpc/grpc doc/PROTOCOL-HTTP2.md — POST with content-type application/grpc,
// grpc-timeout, 5-byte message prefix, status in trailers, or a trailers-only response for errors.
import http2 from 'node:http2';
import { GrpcStatusError, Status } from './status.ts';

/** A method as services.ts defines it. */
export interface MethodDefinition<Req, Res> {
  path: string;
  responseStream: boolean;
  requestDeserialize(bytes: Buffer): Req;
  responseSerialize(value: Res): Buffer;
}

export interface CallContext {
  /** Aborts when the client cancels, the deadline passes, the connection drops or the server stops. */
  signal: AbortSignal;
}

/** Where a server-streaming handler writes its responses. */
export interface ResponseStream<Res> {
  /** Queues one response; false means the client is slow: await drained() before sending more. */
  send(message: Res): boolean;
  /** Resolves when the client has caught up, or the call ended. */
  drained(): Promise<void>;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Res | Promise<Res>;
/** Streams responses; resolving ends the call with OK, throwing a GrpcStatusError ends it with that status. */
export type StreamHandler<Req, Res> = (request: Req, out: ResponseStream<Res>, ctx: CallContext) => Promise<void>;

interface Route {
  method: MethodDefinition<unknown, unknown>;
  unary?: UnaryHandler<unknown, unknown>;
  stream?: StreamHandler<unknown, unknown>;
}

/** Binds a handler to its method, checking at compile time that the two agree. */
export function unaryMethod<Req, Res>(method: MethodDefinition<Req, Res>, handle: UnaryHandler<Req, Res>): Route {
  return { method: method as MethodDefinition<unknown, unknown>, unary: handle as UnaryHandler<unknown, unknown> };
}
export function streamMethod<Req, Res>(method: MethodDefinition<Req, Res>, handle: StreamHandler<Req, Res>): Route {
  return { method: method as MethodDefinition<unknown, unknown>, stream: handle as StreamHandler<unknown, unknown> };
}

export interface GrpcServer {
  /** host:port actually bound (port 0 resolved). */
  address: string;
  port: number;
  /** The IP address the socket is bound to (a host name resolved; '::' or '0.0.0.0' for every interface). */
  boundHost: string;
  /** Ends every open call (streams end with OK), then stops listening and closes the connections. */
  close(): Promise<void>;
}

const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** Framed bytes collected before they are written without waiting for the end of the handler's turn. */
const FLUSH_BYTES = 64 * 1024;
/** Bytes buffered in the HTTP/2 stream past which send() asks the handler to wait. */
const HIGH_WATER_BYTES = 1024 * 1024;

/**
 * Characters of a status message sent in grpc-message. The message travels in a header, and peers refuse
 * header blocks past their limit (a connection error such as FRAME_SIZE_ERROR, where the client would learn
 * nothing): a longer message is cut, saying so and how long it was.
 */
export const MAX_STATUS_MESSAGE_CHARS = 1024;

export function capStatusMessage(text: string): string {
  if (text.length <= MAX_STATUS_MESSAGE_CHARS) return text;
  return `${text.slice(0, MAX_STATUS_MESSAGE_CHARS)}… (${text.length} characters in all)`;
}

/** grpc-message is percent-encoded: bytes outside printable ASCII, and '%' itself. */
function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(capStatusMessage(text), 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** grpc-timeout → milliseconds ("1S", "250m", "10000u", …); undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(Array.isArray(value) ? (value[0] ?? '') : (value ?? ''));
  if (!m) return undefined;
  const perUnitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
  return Number(m[1]) * perUnitMs[m[2]!]!;
}

/** A handler's error as the status sent: a plain error is UNKNOWN with its message, as grpc-go and grpc-js send it. */
function statusOf(err: unknown): { code: number; details: string } {
  if (err instanceof GrpcStatusError) return { code: err.code, details: err.details };
  return { code: Status.UNKNOWN, details: err instanceof Error ? err.message : String(err) };
}

/** One call on one HTTP/2 stream. */
class ServerCall<Res> implements ResponseStream<Res> {
  readonly controller = new AbortController();
  private headersSent = false;
  private finished = false;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushQueued = false;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly serialize: (value: Res) => Buffer,
  ) {
    stream.on('close', () => this.controller.abort());
    stream.on('error', () => this.controller.abort());
  }

  get done(): boolean {
    return this.finished || this.stream.closed || this.stream.destroyed;
  }

  private sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': 'identity' }, { waitForTrailers: true });
  }

  send(message: Res): boolean {
    if (this.done) return false;
    this.sendHeaders();
    const bytes = this.serialize(message);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length + 5;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.flushQueued) {
      // Whatever the handler sends in this turn goes out as one write.
      this.flushQueued = true;
      process.nextTick(() => this.flush());
    }
    return this.stream.writableLength + this.pendingBytes < HIGH_WATER_BYTES;
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.pendingBytes === 0 || this.stream.closed || this.stream.destroyed) return;
    const out = Buffer.allocUnsafe(this.pendingBytes);
    let pos = 0;
    for (const m of this.pending) {
      out[pos] = 0;
      out.writeUInt32BE(m.length, pos + 1);
      out.set(m, pos + 5);
      pos += 5 + m.length;
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.stream.write(out);
  }

  drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.done || this.stream.writableLength + this.pendingBytes < HIGH_WATER_BYTES) return resolve();
      const signal = this.controller.signal;
      const finish = () => {
        this.stream.off('drain', finish);
        signal.removeEventListener('abort', finish);
        resolve();
      };
      this.stream.once('drain', finish);
      signal.addEventListener('abort', finish, { once: true });
    });
  }

  /** Ends the call with a status: in trailers after a response, or as a trailers-only response. */
  end(code: number, details = ''): void {
    if (this.done) return;
    this.finished = true;
    const status: http2.OutgoingHttpHeaders = { 'grpc-status': String(code) };
    if (details) status['grpc-message'] = encodeGrpcMessage(details);
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...status }, { endStream: true });
      return;
    }
    this.flush();
    this.stream.once('wantTrailers', () => this.stream.sendTrailers(status));
    this.stream.end();
  }
}

/** Reads the one request message of a call from its DATA frames. */
function readRequest(stream: http2.ServerHttp2Stream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES + 5) {
        reject(new GrpcStatusError(Status.RESOURCE_EXHAUSTED, `request larger than ${MAX_REQUEST_BYTES} bytes`));
        stream.pause();
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => {
      const body = Buffer.concat(chunks, size);
      if (body.length < 5) return reject(new GrpcStatusError(Status.INTERNAL, 'no request message'));
      if (body[0] !== 0) return reject(new GrpcStatusError(Status.UNIMPLEMENTED, 'compressed requests are not supported (grpc-accept-encoding: identity)'));
      const len = body.readUInt32BE(1);
      if (body.length !== 5 + len) {
        return reject(new GrpcStatusError(Status.INTERNAL, body.length < 5 + len ? 'request message cut short' : 'more than one request message'));
      }
      resolve(body.subarray(5));
    });
    stream.on('error', reject);
    // A client that cancels before its request is complete: nothing more will come.
    stream.on('close', () => reject(new GrpcStatusError(Status.CANCELLED, 'the client closed the stream before its request was complete')));
  });
}

/** Starts a gRPC server on host:port (port 0: any free port) serving the given methods. */
export async function startGrpcServer(listen: string, routes: Route[]): Promise<GrpcServer> {
  const byPath = new Map(routes.map((r) => [r.method.path, r]));
  const calls = new Set<AbortController>();
  const sessions = new Set<http2.ServerHttp2Session>();
  let stopping = false;

  const server = http2.createServer();
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.on('sessionError', () => {});

  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    if (headers[':method'] !== 'POST') {
      stream.respond({ ':status': 405, allow: 'POST' }, { endStream: true });
      return;
    }
    if (!String(headers['content-type'] ?? '').startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const route = byPath.get(String(headers[':path']));
    const call = new ServerCall(stream, (route?.method.responseSerialize ?? (() => Buffer.alloc(0))) as (v: unknown) => Buffer);
    if (!route) {
      call.end(Status.UNIMPLEMENTED, `unknown method ${String(headers[':path'])}`);
      return;
    }
    if (stopping) {
      call.end(Status.UNAVAILABLE, 'server is shutting down');
      return;
    }
    calls.add(call.controller);
    const timeoutMs = parseGrpcTimeout(headers['grpc-timeout']);
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            call.end(Status.DEADLINE_EXCEEDED, 'deadline exceeded');
            call.controller.abort();
          }, timeoutMs);
    const ctx: CallContext = { signal: call.controller.signal };
    void (async () => {
      try {
        const body = await readRequest(stream);
        let request: unknown;
        try {
          request = route.method.requestDeserialize(body);
        } catch (err) {
          throw new GrpcStatusError(Status.INTERNAL, `cannot parse the request: ${(err as Error).message}`);
        }
        if (route.unary) call.send(await route.unary(request, ctx));
        else await route.stream!(request, call, ctx);
        call.end(Status.OK);
      } catch (err) {
        const { code, details } = statusOf(err);
        call.end(code, details);
      } finally {
        if (timer) clearTimeout(timer);
        calls.delete(call.controller);
      }
    })();
  });

  const [host, portText] = [listen.slice(0, listen.lastIndexOf(':')).replace(/^\[|\]$/g, ''), listen.slice(listen.lastIndexOf(':') + 1)];
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portText), host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address: boundHost } = server.address() as { port: number; address: string };

  let closing: Promise<void> | undefined;
  return {
    address: `${listen.slice(0, listen.lastIndexOf(':'))}:${port}`,
    port,
    boundHost,
    close() {
      closing ??= new Promise<void>((resolve) => {
        stopping = true;
        for (const c of [...calls]) c.abort();
        // Streams still open after a grace period (a client that stopped reading) are cut.
        const force = setTimeout(() => {
          for (const s of sessions) s.destroy();
        }, 2000);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        // Idle connections hold server.close() open: end them now (GOAWAY, after the streams in flight).
        for (const s of sessions) s.close();
      });
      return closing;
    },
  };
}
