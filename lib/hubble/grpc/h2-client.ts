// A plaintext gRPC client transport (gRPC over HTTP/2, h2c) on node:http2, for unary and server-streaming calls.
//
// Why not grpc-js here: a GetFlows stream is tens of thousands of small messages a second, and grpc-js copies
// each message into its own Buffer and passes it through several stream layers and a microtask before our
// decoder sees it (bench/grpc.bench.ts: about 3 µs of the client's 11 µs per flow). This transport parses the
// length-prefixed messages straight out of the HTTP/2 DATA chunks and decodes them in place. The protocol is
// the one in grpc/grpc doc/PROTOCOL-HTTP2.md: request headers with `te: trailers` and `grpc-timeout`,
// 5-byte message prefix, status in trailers or in a trailers-only response, HTTP status mapped to gRPC codes.
import http2 from 'node:http2';
import { InfraError } from '../../errors.ts';
import { GrpcStatusError, Status } from './status.ts';

/** Decodes one message from buf[start, end). */
export type RangeDecoder<T> = (buf: Buffer, start: number, end: number) => T;

export interface StreamOptions {
  signal?: AbortSignal;
  /** Deadline (ms since the epoch): sent as grpc-timeout and enforced here. */
  deadline?: number;
  /** Messages decoded but not yet consumed before the stream is paused (HTTP/2 flow control then stops the server). */
  highWater?: number;
}

export interface H2Channel {
  readonly target: string;
  /** Server-streaming call: messages as they arrive; breaking out or aborting cancels the call. */
  serverStream<T>(path: string, request: Uint8Array, decode: RangeDecoder<T>, opts?: StreamOptions): AsyncGenerator<T>;
  /** Unary call: exactly one response message. */
  unary<T>(path: string, request: Uint8Array, decode: RangeDecoder<T>, opts?: StreamOptions): Promise<T>;
  close(): void;
}

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
// A 2 MiB window per stream and for the connection (HTTP/2's default is 64 KiB) lets a GetFlows stream run
// without stalling on window updates; a consumer that stops reading still stops the server once it is full.
const WINDOW_BYTES = 2 * 1024 * 1024;

/** HTTP status of a response that is not gRPC → gRPC code, as the gRPC HTTP/2 spec maps them. */
function codeForHttpStatus(status: number): number {
  switch (status) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}

/** grpc-message is percent-encoded (spec: "Percent-Encoded"); a malformed escape is kept as written. */
function decodeGrpcMessage(value: string | string[] | undefined): string {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function headerStatus(headers: http2.IncomingHttpHeaders): { code: number; details: string } | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  const code = Number(Array.isArray(raw) ? raw[0] : raw);
  return { code: Number.isInteger(code) ? code : Status.UNKNOWN, details: decodeGrpcMessage(headers['grpc-message']) };
}

/** Status of a stream that closed without gRPC status, from its RST_STREAM code (spec: "Errors"). */
function codeForReset(rstCode: number): number {
  switch (rstCode) {
    case http2.constants.NGHTTP2_REFUSED_STREAM:
      return Status.UNAVAILABLE;
    case http2.constants.NGHTTP2_CANCEL:
      return Status.CANCELLED;
    case http2.constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return Status.RESOURCE_EXHAUSTED;
    case http2.constants.NGHTTP2_INADEQUATE_SECURITY:
      return Status.PERMISSION_DENIED;
    default:
      return Status.INTERNAL;
  }
}

function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/**
 * Opens an HTTP/2 connection to host:port and waits for the server's SETTINGS (the gRPC handshake). Rejects
 * with an InfraError when none arrives within dialTimeoutMs. A connection that is lost later is opened again
 * on the next call, as gRPC channels do.
 */
export async function openH2Channel(target: string, opts: { dialTimeoutMs: number; what: string }): Promise<H2Channel> {
  let session: http2.ClientHttp2Session | undefined;
  let active = 0;
  let closed = false;

  const connect = () =>
    new Promise<http2.ClientHttp2Session>((resolve, reject) => {
      const s = http2.connect(`http://${target}`, { settings: { initialWindowSize: WINDOW_BYTES } });
      const timer = setTimeout(() => fail(new Error('timeout')), opts.dialTimeoutMs);
      function fail(err: Error) {
        clearTimeout(timer);
        s.destroy();
        reject(
          new InfraError(`cannot reach ${opts.what} at ${target}: connected, but no gRPC handshake within ${opts.dialTimeoutMs} ms (dial timeout)`, {
            hint: 'is this a Hubble gRPC port (Relay 4245, agents 4244) and is TLS off? hubble-lab speaks plaintext gRPC',
            cause: err,
          }),
        );
      }
      s.once('error', fail);
      s.once('close', () => fail(new Error('connection closed during the handshake')));
      s.once('remoteSettings', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        s.removeAllListeners('close');
        // Errors surface on the streams; a session that dies is replaced on the next call.
        s.on('error', () => {});
        s.once('close', () => {
          if (session === s) session = undefined;
        });
        s.once('goaway', () => {
          if (session === s) session = undefined;
        });
        s.setLocalWindowSize(WINDOW_BYTES);
        s.unref();
        resolve(s);
      });
    });

  async function liveSession(): Promise<http2.ClientHttp2Session> {
    if (closed) throw new GrpcStatusError(Status.CANCELLED, 'channel closed');
    if (session && !session.closed && !session.destroyed) return session;
    session = await connect();
    return session;
  }

  async function* serverStream<T>(path: string, request: Uint8Array, decode: RangeDecoder<T>, o: StreamOptions = {}): AsyncGenerator<T> {
    if (o.signal?.aborted) return;
    const s = await liveSession();
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-accept-encoding': 'identity',
      'user-agent': 'hubble-lab-grpc',
    };
    if (o.deadline !== undefined) headers['grpc-timeout'] = `${Math.max(1, Math.ceil(o.deadline - Date.now()))}m`;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = s.request(headers, { endStream: false });
    } catch (err) {
      throw new GrpcStatusError(Status.UNAVAILABLE, `connection lost: ${(err as Error).message}`);
    }
    if (active++ === 0) s.ref();

    const highWater = o.highWater ?? 512;
    const queue: T[] = [];
    let head = 0;
    let done = false;
    let failure: GrpcStatusError | undefined;
    let status: { code: number; details: string } | undefined;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const finish = (err?: GrpcStatusError) => {
      if (done) return;
      done = true;
      failure = err;
      notify();
    };

    // Bytes of a message split across DATA chunks wait here until it is whole.
    let pending: Buffer[] = [];
    let pendingBytes = 0;

    const onData = (chunk: Buffer) => {
      if (done) return;
      let buf = chunk;
      if (pendingBytes > 0) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes < 5) return;
        const need = 5 + pendingHead().readUInt32BE(1);
        if (pendingBytes < need) return;
        buf = Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
      }
      let pos = 0;
      try {
        while (buf.length - pos >= 5) {
          if (buf[pos] !== 0) {
            throw new GrpcStatusError(Status.INTERNAL, 'compressed message received, but no compression was negotiated');
          }
          const len = buf.readUInt32BE(pos + 1);
          if (len > MAX_MESSAGE_BYTES) {
            throw new GrpcStatusError(Status.RESOURCE_EXHAUSTED, `received a ${len}-byte message (limit ${MAX_MESSAGE_BYTES})`);
          }
          if (buf.length - pos - 5 < len) break;
          queue.push(decode(buf, pos + 5, pos + 5 + len));
          pos += 5 + len;
        }
      } catch (err) {
        const e = err instanceof GrpcStatusError ? err : new GrpcStatusError(Status.INTERNAL, `cannot decode response: ${(err as Error).message}`);
        finish(e);
        stream.close(http2.constants.NGHTTP2_CANCEL);
        return;
      }
      if (pos < buf.length) {
        pending = [buf.subarray(pos)];
        pendingBytes = buf.length - pos;
      }
      if (queue.length - head >= highWater) stream.pause();
      notify();
    };
    // The first 5 bytes of the pending message, which may themselves be split.
    const pendingHead = () => (pending[0]!.length >= 5 ? pending[0]! : Buffer.concat(pending, pendingBytes));

    stream.on('response', (h) => {
      const httpStatus = Number(h[':status']);
      const trailersOnly = headerStatus(h);
      if (trailersOnly) {
        status = trailersOnly;
        return;
      }
      if (httpStatus !== 200) {
        finish(new GrpcStatusError(codeForHttpStatus(httpStatus), `HTTP status ${httpStatus} instead of a gRPC response`));
        return;
      }
      const type = String(h['content-type'] ?? '');
      if (!type.startsWith('application/grpc')) {
        finish(new GrpcStatusError(Status.UNKNOWN, `content-type ${type || '(none)'} is not gRPC`));
      }
    });
    stream.on('trailers', (h) => {
      status = headerStatus(h) ?? { code: Status.UNKNOWN, details: 'trailers without grpc-status' };
    });
    stream.on('data', onData);
    stream.on('error', () => {});
    stream.on('close', () => {
      if (status) {
        if (status.code !== Status.OK) finish(new GrpcStatusError(status.code, status.details));
        else if (pendingBytes > 0) finish(new GrpcStatusError(Status.INTERNAL, 'stream ended inside a message'));
        else finish();
      } else if (s.destroyed || s.closed) {
        finish(new GrpcStatusError(Status.UNAVAILABLE, 'connection closed'));
      } else {
        finish(new GrpcStatusError(codeForReset(stream.rstCode ?? 0), `stream closed without a status (HTTP/2 code ${stream.rstCode ?? 0})`));
      }
      if (--active === 0 && !s.destroyed) s.unref();
    });

    const cancel = () => {
      finish(new GrpcStatusError(Status.CANCELLED, 'cancelled'));
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    o.signal?.addEventListener('abort', cancel, { once: true });
    const timer =
      o.deadline !== undefined
        ? setTimeout(
            () => {
              finish(new GrpcStatusError(Status.DEADLINE_EXCEEDED, 'deadline exceeded'));
              if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
            },
            Math.max(0, o.deadline - Date.now()),
          )
        : undefined;

    stream.end(frame(request));
    try {
      for (;;) {
        if (head < queue.length) {
          const r = queue[head++]!;
          if (head === queue.length) {
            queue.length = 0;
            head = 0;
            if (!done && stream.isPaused()) stream.resume();
          }
          yield r;
          continue;
        }
        if (done) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      if (failure) {
        if (failure.code === Status.CANCELLED && o.signal?.aborted) return;
        throw failure;
      }
    } finally {
      if (timer) clearTimeout(timer);
      o.signal?.removeEventListener('abort', cancel);
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    }
  }

  async function unary<T>(path: string, request: Uint8Array, decode: RangeDecoder<T>, o: StreamOptions = {}): Promise<T> {
    let response: { value: T } | undefined;
    for await (const m of serverStream(path, request, decode, o)) {
      if (response) throw new GrpcStatusError(Status.INTERNAL, 'more than one response to a unary call');
      response = { value: m };
    }
    if (!response) throw new GrpcStatusError(Status.INTERNAL, 'no response message to a unary call');
    return response.value;
  }

  await liveSession();
  return {
    target,
    serverStream,
    unary,
    close() {
      closed = true;
      session?.close();
      session = undefined;
    },
  };
}
