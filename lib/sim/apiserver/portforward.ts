// pods/portforward over WebSocket, as the kubelet serves it: the v4.channel.k8s.io protocol client-node's PortForward
// speaks (per port a data channel 2n and an error channel 2n+1, each opened with the port as 2 bytes little-endian).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { acceptWebSocket, offeredProtocols, rejectUpgrade } from '../net/websocket.ts';

/** WebSocket subprotocols of the kubelet's port-forward: binary channels, chosen by name or by offering none. */
const protocols = ['v4.channel.k8s.io', ''];

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
 * Serves one port-forward upgrade: dials each requested port of the pod (as seen inside it) and relays bytes until
 * the pod or the client closes. A port nothing listens on gets the kubelet's message on its error channel.
 */
export function handlePortForward(req: IncomingMessage, socket: Duplex, head: Buffer, dial: (port: number) => Promise<Duplex>): void {
  const url = new URL(req.url ?? '/', 'http://sim');
  const podName = /\/pods\/([^/]+)\/portforward/.exec(url.pathname)?.[1] ?? '';
  const ports = requestedPorts(url);
  if (typeof ports === 'string') {
    rejectUpgrade(socket, 400, 'Bad Request', status(400, 'BadRequest', ports));
    return;
  }
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (upgrade !== 'websocket' || offeredProtocols(req).some((p) => p.startsWith('SPDY/'))) {
    const message = 'the simulated cluster serves port-forward over WebSocket (v4.channel.k8s.io), not SPDY: use a WebSocket client such as @kubernetes/client-node PortForward';
    rejectUpgrade(socket, 400, 'Bad Request', status(400, 'BadRequest', message));
    return;
  }
  const ws = acceptWebSocket(req, socket, head, protocols);
  if (!ws) return;

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
        const why = err.code === 'ECONNREFUSED' ? 'connect: connection refused' : err.message;
        ws.send(prefixed(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${podName}, uid : failed to connect to localhost:${port} inside namespace "${podName}", IPv4: dial tcp4 127.0.0.1:${port}: ${why} `)));
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
}
