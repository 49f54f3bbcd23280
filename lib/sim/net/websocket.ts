// WebSockets on the API server's upgraded connections: the handshake and framing are ws's; here is only what the
// kubelet's protocols add — the subprotocol choice (the client's order of preference, as Kubernetes picks), plain
// HTTP refusals, and messages as Buffers.
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

/** Largest message accepted from a client (port-forward chunks are far smaller); a bigger one closes with 1009. */
const maxMessageBytes = 16 * 2 ** 20;

/** The subprotocol chosen for each request being upgraded (ws asks for it during the handshake). */
const chosen = new WeakMap<IncomingMessage, string>();
const server = new WebSocketServer({
  noServer: true,
  clientTracking: false,
  perMessageDeflate: false,
  maxPayload: maxMessageBytes,
  handleProtocols: (_offered, req) => chosen.get(req) || false,
});

export interface WebSocketEvents {
  message: [data: Buffer, binary: boolean];
  close: [code: number, reason: string];
}

/** Rejects an upgrade with a plain HTTP response (the connection is then closed). */
export function rejectUpgrade(socket: Duplex, status: number, statusText: string, body: string, contentType = 'application/json'): void {
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The subprotocols a client offered, in its order of preference. */
export function offeredProtocols(req: IncomingMessage): string[] {
  const raw = req.headers['sec-websocket-protocol'];
  return (Array.isArray(raw) ? raw.join(',') : (raw ?? ''))
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** One accepted WebSocket, its messages as Buffers. */
export class WebSocketConnection extends EventEmitter<WebSocketEvents> {
  constructor(private readonly ws: WebSocket) {
    super();
    ws.on('message', (data, binary) => this.emit('message', toBuffer(data), binary));
    ws.on('close', (code, reason) => this.emit('close', code, reason.toString()));
    // A protocol error (a bad frame, a message over the limit) closes the connection, and 'close' follows.
    ws.on('error', () => {});
  }

  get protocol(): string {
    return this.ws.protocol;
  }

  /** Sends one message (binary by default); nothing once the connection is closing. */
  send(data: Buffer | string, binary = true): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(data, { binary });
  }

  /** Starts the closing handshake; the peer's close frame (or ws's timeout) completes it. */
  close(code = 1000, reason = ''): void {
    this.ws.close(code, reason);
  }
}

/**
 * Completes a WebSocket upgrade, choosing the first subprotocol the client offered that the server supports (as
 * Kubernetes does; "" when the client offered none), and hands the connection to `open`. Answers 400 when it
 * cannot (no supported subprotocol here; a malformed handshake in ws).
 */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, supported: string[], open: (ws: WebSocketConnection) => void): void {
  if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    rejectUpgrade(socket, 400, 'Bad Request', 'expected a WebSocket upgrade\n', 'text/plain');
    return;
  }
  const offered = offeredProtocols(req);
  const protocol = offered.length === 0 ? (supported.includes('') ? '' : undefined) : offered.find((p) => supported.includes(p));
  if (protocol === undefined) {
    rejectUpgrade(
      socket,
      400,
      'Bad Request',
      `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${supported.filter(Boolean).join(' ')}]\n`,
      'text/plain',
    );
    return;
  }
  chosen.set(req, protocol);
  server.handleUpgrade(req, socket, head, (ws) => open(new WebSocketConnection(ws)));
}
