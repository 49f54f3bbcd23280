// Server side of SPDY/3.1 sessions as Kubernetes streaming uses them (kubectl port-forward): streams the client
// opens with SYN_STREAM, each a Duplex; header blocks zlib-compressed with the protocol's dictionary.
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import zlib from 'node:zlib';

/**
 * The SPDY/3 header compression dictionary (draft 3, section 2.6.10.1): length-prefixed common header names and
 * values, then a run of status lines, dates and media types.
 */
const dictionary = (() => {
  const words = [
    'options',
    'head',
    'post',
    'put',
    'delete',
    'trace',
    'accept',
    'accept-charset',
    'accept-encoding',
    'accept-language',
    'accept-ranges',
    'age',
    'allow',
    'authorization',
    'cache-control',
    'connection',
    'content-base',
    'content-encoding',
    'content-language',
    'content-length',
    'content-location',
    'content-md5',
    'content-range',
    'content-type',
    'date',
    'etag',
    'expect',
    'expires',
    'from',
    'host',
    'if-match',
    'if-modified-since',
    'if-none-match',
    'if-range',
    'if-unmodified-since',
    'last-modified',
    'location',
    'max-forwards',
    'pragma',
    'proxy-authenticate',
    'proxy-authorization',
    'range',
    'referer',
    'retry-after',
    'server',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
    'user-agent',
    'vary',
    'via',
    'warning',
    'www-authenticate',
    'method',
    'get',
    'status',
    '200 OK',
    'version',
    'HTTP/1.1',
    'url',
    'public',
    'set-cookie',
    'keep-alive',
    'origin',
  ];
  const tail =
    '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
    '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
    '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
    'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
    'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
    'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';
  const parts = words.map((w) => {
    const b = Buffer.alloc(4 + w.length);
    b.writeUInt32BE(w.length, 0);
    b.write(w, 4, 'latin1');
    return b;
  });
  return Buffer.concat([...parts, Buffer.from(tail, 'latin1')]);
})();

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const HEADERS = 8;
const FLAG_FIN = 0x01;
/** RST_STREAM status codes used here. */
export const rstStatus = { protocolError: 1, invalidStream: 2, cancel: 5 } as const;
const maxDataFrame = 32 * 1024;

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(0x8003, 0);
  header.writeUInt16BE(type, 2);
  header.writeUInt32BE(payload.length, 4);
  header[4] = flags;
  return Buffer.concat([header, payload]);
}

function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(streamId & 0x7fffffff, 0);
  header.writeUInt32BE(data.length, 4);
  header[4] = flags;
  return Buffer.concat([header, data]);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

/** Header names are lowercase; several values of one name are joined by NUL. */
function parseHeaderBlock(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  let pos = 4;
  const count = block.readUInt32BE(0);
  for (let i = 0; i < count; i++) {
    const nameLen = block.readUInt32BE(pos);
    const name = block.toString('utf8', pos + 4, pos + 4 + nameLen);
    pos += 4 + nameLen;
    const valueLen = block.readUInt32BE(pos);
    headers[name] = block
      .toString('utf8', pos + 4, pos + 4 + valueLen)
      .split('\0')
      .join(',');
    pos += 4 + valueLen;
  }
  return headers;
}

function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const parts = [u32(Object.keys(headers).length)];
  for (const [k, v] of Object.entries(headers)) {
    const name = Buffer.from(k.toLowerCase());
    const value = Buffer.from(v);
    parts.push(u32(name.length), name, u32(value.length), value);
  }
  return Buffer.concat(parts);
}

/** One zlib stream for a direction of the session; each header block is flushed on its own (Z_SYNC_FLUSH). */
class HeaderCodec {
  private readonly z: zlib.Inflate | zlib.Deflate;
  private out: Buffer[] = [];

  constructor(kind: 'inflate' | 'deflate') {
    this.z = kind === 'inflate' ? zlib.createInflate({ dictionary }) : zlib.createDeflate({ dictionary });
    this.z.on('data', (chunk: Buffer) => this.out.push(chunk));
  }

  run(input: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.z.once('error', onError);
      this.z.write(input);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.z.off('error', onError);
        const result = Buffer.concat(this.out);
        this.out = [];
        resolve(result);
      });
    });
  }

  close(): void {
    this.z.close();
  }
}

export class SpdyStream extends Duplex {
  private remoteClosed = false;
  private replied = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: Record<string, string>,
  ) {
    super({ allowHalfOpen: true });
  }

  /** Accepts the stream (SYN_REPLY); a client waits for it before using the stream. */
  reply(headers: Record<string, string> = {}): void {
    if (this.replied) return;
    this.replied = true;
    this.session.sendHeaders(SYN_REPLY, this.id, headers);
  }

  /** Aborts the stream (RST_STREAM). */
  reset(status: number = rstStatus.cancel): void {
    this.session.send(controlFrame(RST_STREAM, 0, u32(this.id, status)));
    this.destroy();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    for (let i = 0; i < chunk.length; i += maxDataFrame) this.session.send(dataFrame(this.id, 0, chunk.subarray(i, i + maxDataFrame)));
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.session.send(dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
    cb();
  }

  /** Data from the client; fin closes its side. */
  receive(data: Buffer, fin: boolean): void {
    if (data.length) this.push(data);
    if (fin && !this.remoteClosed) {
      this.remoteClosed = true;
      this.push(null);
    }
  }
}

export interface SpdySessionEvents {
  stream: [SpdyStream];
  close: [];
}

/** A server-side SPDY/3.1 session over any byte transport: feed it received bytes, it calls write with frames to send. */
export class SpdySession extends EventEmitter<SpdySessionEvents> {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly streams = new Map<number, SpdyStream>();
  private readonly inflater = new HeaderCodec('inflate');
  private readonly deflater = new HeaderCodec('deflate');
  /** Frames are handled and sent in order even though header (de)compression is asynchronous. */
  private incoming: Promise<void> = Promise.resolve();
  private outgoing: Promise<void> = Promise.resolve();
  private lastStreamId = 0;
  private closed = false;

  constructor(private readonly write: (frame: Buffer) => void) {
    super();
  }

  receive(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 8) {
      const length = this.buffered.readUInt32BE(4) & 0xffffff;
      if (this.buffered.length < 8 + length) return;
      const frame = this.buffered.subarray(0, 8 + length);
      this.buffered = this.buffered.subarray(8 + length);
      this.incoming = this.incoming.then(() => this.handle(frame)).catch(() => this.close(1));
    }
  }

  send(frame: Buffer): void {
    this.outgoing = this.outgoing.then(() => {
      if (!this.closed) this.write(frame);
    });
  }

  sendHeaders(type: number, streamId: number, headers: Record<string, string>): void {
    const compressed = this.deflater.run(encodeHeaderBlock(headers));
    this.outgoing = this.outgoing.then(async () => {
      const block = await compressed;
      if (!this.closed) this.write(controlFrame(type, 0, Buffer.concat([u32(streamId), block])));
    });
  }

  /** Ends the session with GOAWAY and resets what is still open. */
  close(status = 0): void {
    if (this.closed) return;
    this.send(controlFrame(GOAWAY, 0, u32(this.lastStreamId, status)));
    void this.outgoing.then(() => {
      this.closed = true;
      this.inflater.close();
      this.deflater.close();
    });
    for (const s of this.streams.values()) s.destroy();
    this.streams.clear();
    this.emit('close');
  }

  /** The transport ended: every stream ends with it. */
  transportClosed(): void {
    for (const s of this.streams.values()) s.destroy();
    this.streams.clear();
    this.closed = true;
    this.emit('close');
  }

  private async handle(frame: Buffer): Promise<void> {
    const flags = frame[4]!;
    const payload = frame.subarray(8);
    if ((frame[0]! & 0x80) === 0) {
      const stream = this.streams.get(frame.readUInt32BE(0) & 0x7fffffff);
      stream?.receive(payload, (flags & FLAG_FIN) !== 0);
      return;
    }
    const type = frame.readUInt16BE(2);
    switch (type) {
      case SYN_STREAM: {
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        const headers = parseHeaderBlock(await this.inflater.run(payload.subarray(10)));
        this.lastStreamId = Math.max(this.lastStreamId, id);
        const stream = new SpdyStream(this, id, headers);
        this.streams.set(id, stream);
        stream.on('close', () => this.streams.delete(id));
        if (flags & FLAG_FIN) stream.receive(Buffer.alloc(0), true);
        this.emit('stream', stream);
        return;
      }
      case HEADERS:
        // Only to keep the header compression context in step.
        await this.inflater.run(payload.subarray(4));
        return;
      case RST_STREAM:
        this.streams.get(payload.readUInt32BE(0) & 0x7fffffff)?.destroy();
        return;
      case PING:
        this.send(controlFrame(PING, 0, payload.subarray(0, 4)));
        return;
      case GOAWAY:
        this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and the rest need no answer here.
        return;
    }
  }
}
