// Server side of RFC 6455 WebSockets on an upgraded HTTP connection: handshake with subprotocol choice, and framing.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Largest message accepted from a client (port-forward chunks are far smaller). */
const maxMessageBytes = 16 * 2 ** 20;

export interface WebSocketEvents {
  message: [data: Buffer, binary: boolean];
  close: [code: number, reason: string];
}

/** Rejects an upgrade with a plain HTTP response (the connection is then closed). */
export function rejectUpgrade(socket: Duplex, status: number, statusText: string, body: string, contentType = 'application/json'): void {
  socket.end(`HTTP/1.1 ${status} ${statusText}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** The subprotocols a client offered, in its order of preference. */
export function offeredProtocols(req: IncomingMessage): string[] {
  const raw = req.headers['sec-websocket-protocol'];
  return (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',').map((p) => p.trim()).filter(Boolean);
}

export class WebSocketConnection extends EventEmitter<WebSocketEvents> {
  private buffered: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  private closed = false;

  constructor(
    private readonly socket: Duplex,
    readonly protocol: string,
    head: Buffer,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.finish(1006, ''));
    socket.on('error', () => this.finish(1006, ''));
    if (head.length) this.receive(head);
  }

  /** Sends one message (binary by default). */
  send(data: Buffer | string, binary = true): void {
    if (this.closed) return;
    const payload = typeof data === 'string' ? Buffer.from(data) : data;
    this.socket.write(frame(binary ? 2 : 1, payload));
  }

  /** Starts the closing handshake; the peer's close frame (or the socket ending) completes it. */
  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    const body = Buffer.alloc(2 + Buffer.byteLength(reason));
    body.writeUInt16BE(code, 0);
    body.write(reason, 2);
    this.socket.write(frame(8, body));
    this.finish(code, reason);
    this.socket.end();
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', code, reason);
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    for (;;) {
      const f = parseFrame(this.buffered);
      if (!f) return;
      if (f === 'too-big') {
        this.close(1009, 'message too big');
        return;
      }
      this.buffered = this.buffered.subarray(f.length);
      this.handle(f.fin, f.opcode, f.payload);
      if (this.closed) return;
    }
  }

  private handle(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === 8) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (!this.closed) this.socket.write(frame(8, payload.subarray(0, 2)));
      this.finish(code, payload.subarray(2).toString());
      this.socket.end();
      return;
    }
    if (opcode === 9) {
      this.socket.write(frame(10, payload));
      return;
    }
    if (opcode === 10) return;
    if (opcode !== 0) this.fragmentOpcode = opcode;
    this.fragments.push(payload);
    if (!fin) return;
    const data = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
    this.fragments = [];
    this.emit('message', data, this.fragmentOpcode === 2);
  }
}

function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const header = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  if (len < 126) header[1] = len;
  else if (len < 65536) {
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([header, payload]);
}

function parseFrame(buf: Buffer): { fin: boolean; opcode: number; payload: Buffer; length: number } | 'too-big' | undefined {
  if (buf.length < 2) return undefined;
  const fin = (buf[0]! & 0x80) !== 0;
  const opcode = buf[0]! & 0x0f;
  const masked = (buf[1]! & 0x80) !== 0;
  let len = buf[1]! & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    offset = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    const big = buf.readBigUInt64BE(2);
    if (big > BigInt(maxMessageBytes)) return 'too-big';
    len = Number(big);
    offset = 10;
  }
  if (len > maxMessageBytes) return 'too-big';
  const maskOffset = offset;
  if (masked) offset += 4;
  if (buf.length < offset + len) return undefined;
  const payload = Buffer.from(buf.subarray(offset, offset + len));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= buf[maskOffset + (i % 4)]!;
  return { fin, opcode, payload, length: offset + len };
}

/**
 * Completes a WebSocket upgrade, choosing the first subprotocol the client offered that the server supports (as
 * Kubernetes does; "" when the client offered none). Returns undefined after answering 400 when it cannot.
 */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, supported: string[]): WebSocketConnection | undefined {
  const key = req.headers['sec-websocket-key'];
  if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || typeof key !== 'string') {
    rejectUpgrade(socket, 400, 'Bad Request', 'expected a WebSocket upgrade\n', 'text/plain');
    return undefined;
  }
  const offered = offeredProtocols(req);
  const protocol = offered.length === 0 ? (supported.includes('') ? '' : undefined) : offered.find((p) => supported.includes(p));
  if (protocol === undefined) {
    rejectUpgrade(socket, 400, 'Bad Request', `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${supported.filter(Boolean).join(' ')}]\n`, 'text/plain');
    return undefined;
  }
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}\r\n`,
  );
  return new WebSocketConnection(socket, protocol, head);
}
