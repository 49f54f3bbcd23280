// pods/portforward as the kubelet serves it: over WebSocket with the v4.channel.k8s.io protocol client-node's
// PortForward speaks (per port a data channel 2n and an error channel 2n+1, each opened with the port as 2 bytes
// little-endian), and over SPDY/3.1 as kubectl speaks it (a pair of error and data streams per connection), either
// upgraded directly or tunnelled through a WebSocket.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { acceptWebSocket, offeredProtocols, rejectUpgrade } from '../net/websocket.ts';
import { SpdySession, rstStatus, type SpdyStream } from '../net/spdy.ts';

/** WebSocket subprotocols of the kubelet's port-forward: binary channels, chosen by name or by offering none. */
const channelProtocols = ['v4.channel.k8s.io', ''];
const spdyProtocol = 'portforward.k8s.io';
/** kubectl ≥ 1.31 first tries SPDY framed inside WebSocket messages. */
const spdyTunnelProtocol = `SPDY/3.1+${spdyProtocol}`;

/** The kubelet's message when the pod's port cannot be reached. */
function forwardError(podName: string, port: number, err: NodeJS.ErrnoException): string {
  const why = err.code === 'ECONNREFUSED' ? 'connect: connection refused' : err.message;
  return `error forwarding port ${port} to pod ${podName}, uid : failed to connect to localhost:${port} inside namespace "${podName}", IPv4: dial tcp4 127.0.0.1:${port}: ${why} `;
}

function status(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** The ports of a portforward request (`ports=80,8080` as the API names it, or the kubelet's repeated `port=`). */
export function requestedPorts(url: URL): number[] | string {
  const raw = [...url.searchParams.getAll('ports'), ...url.searchParams.getAll('port')].flatMap((v) => v.split(','));
  if (raw.length === 0) return 'query parameter "port" is required';
  const ports: number[] = [];
  for (const p of raw) {
    if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) return `unable to parse "${p}" as a port: invalid port`;
    ports.push(Number(p));
  }
  return ports;
}

/**
 * Serves one port-forward upgrade (WebSocket channels, SPDY, or SPDY tunnelled in WebSocket): dials each requested
 * port of the pod (as seen inside it) and relays bytes until the pod or the client closes. A port nothing listens
 * on gets the kubelet's message on its error channel or stream.
 */
export function handlePortForward(req: IncomingMessage, socket: Duplex, head: Buffer, dial: (port: number) => Promise<Duplex>): void {
  const url = new URL(req.url ?? '/', 'http://sim');
  const podName = /\/pods\/([^/]+)\/portforward/.exec(url.pathname)?.[1] ?? '';
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (upgrade === 'spdy/3.1') {
    serveSpdyUpgrade(req, socket, head, podName, dial);
    return;
  }
  if (upgrade === 'websocket' && offeredProtocols(req).includes(spdyTunnelProtocol)) {
    acceptWebSocket(req, socket, head, [spdyTunnelProtocol], (ws) => {
      const session = new SpdySession((frame) => ws.send(frame));
      ws.on('message', (data) => session.receive(data));
      ws.on('close', () => session.transportClosed());
      session.on('close', () => ws.close(1000));
      servePortForwardStreams(session, podName, dial);
    });
    return;
  }
  const ports = requestedPorts(url);
  if (typeof ports === 'string') {
    rejectUpgrade(socket, 400, 'Bad Request', status(400, 'BadRequest', ports));
    return;
  }
  if (upgrade !== 'websocket') {
    rejectUpgrade(socket, 400, 'Bad Request', status(400, 'BadRequest', 'port-forward needs a WebSocket (v4.channel.k8s.io) or SPDY/3.1 upgrade'));
    return;
  }
  acceptWebSocket(req, socket, head, channelProtocols, (ws) => {
    const streams: (Duplex | undefined)[] = ports.map(() => undefined);
    const pendingWrites: Buffer[][] = ports.map(() => []);
    let open = ports.length;
    let closed = false;
    const done = () => {
      if (--open === 0) ws.close(1000);
    };
    const prefixed = (channel: number, data: Buffer) => Buffer.concat([Buffer.from([channel]), data]);
    ports.forEach((port, i) => {
      const portBytes = Buffer.alloc(2);
      portBytes.writeUInt16LE(port, 0);
      ws.send(prefixed(2 * i, portBytes));
      ws.send(prefixed(2 * i + 1, portBytes));
      dial(port).then(
        (pod) => {
          if (closed) {
            pod.end();
            return;
          }
          streams[i] = pod;
          for (const chunk of pendingWrites[i]!.splice(0)) pod.write(chunk);
          pod.on('data', (chunk: Buffer) => ws.send(prefixed(2 * i, chunk)));
          pod.on('error', () => {});
          pod.on('close', done);
        },
        (err: NodeJS.ErrnoException) => {
          ws.send(prefixed(2 * i + 1, Buffer.from(forwardError(podName, port, err))));
          done();
        },
      );
    });
    ws.on('message', (data) => {
      const channel = data[0];
      if (channel === undefined || channel % 2 !== 0) return;
      const i = channel / 2;
      if (i >= ports.length) return;
      const payload = data.subarray(1);
      const pod = streams[i];
      if (pod) pod.write(payload);
      else pendingWrites[i]!.push(payload);
    });
    ws.on('close', () => {
      closed = true;
      for (const s of streams) s?.end();
    });
  });
}

function serveSpdyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, podName: string, dial: (port: number) => Promise<Duplex>): void {
  const raw = req.headers['x-stream-protocol-version'];
  const offered = (Array.isArray(raw) ? raw : [raw ?? '']).flatMap((v) => v.split(',')).map((v) => v.trim());
  if (!offered.includes(spdyProtocol)) {
    rejectUpgrade(
      socket,
      403,
      'Forbidden',
      status(403, 'Forbidden', `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server supports [${spdyProtocol}]`),
    );
    return;
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${spdyProtocol}\r\n\r\n`);
  const session = new SpdySession((frame) => socket.write(frame));
  socket.on('data', (chunk: Buffer) => session.receive(chunk));
  socket.on('close', () => session.transportClosed());
  socket.on('error', () => socket.destroy());
  session.on('close', () => socket.end());
  if (head.length) session.receive(head);
  servePortForwardStreams(session, podName, dial);
}

/** kubectl opens an error stream and a data stream per local connection, tied by requestID; the kubelet pairs them. */
function servePortForwardStreams(session: SpdySession, podName: string, dial: (port: number) => Promise<Duplex>): void {
  const requests = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  session.on('stream', (stream) => {
    const type = stream.headers.streamtype;
    const port = Number(stream.headers.port);
    const id = stream.headers.requestid ?? '';
    if ((type !== 'error' && type !== 'data') || !Number.isInteger(port) || port < 1 || port > 65535) {
      stream.reset(rstStatus.protocolError);
      return;
    }
    stream.reply();
    const pair = requests.get(id) ?? {};
    pair[type] = stream;
    requests.set(id, pair);
    if (!pair.error || !pair.data) return;
    requests.delete(id);
    const { error, data } = pair;
    // The client sends nothing on the error stream; the kubelet writes to it only when forwarding fails.
    error.resume();
    error.on('error', () => {});
    data.on('error', () => {});
    dial(port).then(
      (pod) => {
        pod.on('error', () => data.destroy());
        data.pipe(pod);
        pod.pipe(data);
        data.on('close', () => pod.destroy());
        pod.on('close', () => error.end());
      },
      (err: NodeJS.ErrnoException) => {
        error.end(forwardError(podName, port, err));
        data.end();
      },
    );
  });
}
