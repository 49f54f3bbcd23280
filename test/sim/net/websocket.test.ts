// The API server's WebSocket upgrades (exec, attach, port-forward) against ws's client on 127.0.0.1: subprotocol
// choice in the client's order, plain refusals, messages as Buffers whatever their framing, the size limit.
import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { acceptWebSocket, type WebSocketConnection } from '../../../lib/sim/net/websocket.ts';

async function serve(t: Test, supported: string[], onOpen: (ws: WebSocketConnection) => void): Promise<string> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => acceptWebSocket(req, socket, head, supported, onOpen));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** A client once open, and its first message (listened for from the start: it may come with the handshake). */
async function connect(t: Test, url: string, protocols: string[]): Promise<{ ws: WebSocket; first: Promise<Buffer> }> {
  const ws = new WebSocket(url, protocols);
  t.teardown(() => ws.terminate());
  const first = new Promise<Buffer>((resolve) => ws.once('message', (data) => resolve(data as Buffer)));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, first };
}

t.test("the first subprotocol the client offers that the server speaks; none offered is ''", async (t) => {
  const url = await serve(t, ['v5.channel.k8s.io', 'v4.channel.k8s.io', ''], (ws) => ws.send(Buffer.from(ws.protocol)));
  for (const [offered, expected] of [
    [['v4.channel.k8s.io', 'v5.channel.k8s.io'], 'v4.channel.k8s.io'],
    [['base64.channel.k8s.io', 'v5.channel.k8s.io'], 'v5.channel.k8s.io'],
    [[], ''],
  ] as const) {
    const { ws, first } = await connect(t, url, [...offered]);
    t.equal(ws.protocol, expected, `offered [${offered.join(' ')}]`);
    t.equal((await first).toString(), expected, 'the server side sees the same choice');
    ws.close();
  }
});

t.test('an upgrade with no protocol the server speaks is refused with 400 and what it supports', async (t) => {
  const url = await serve(t, ['v4.channel.k8s.io'], () => t.fail('must not open'));
  const ws = new WebSocket(url, ['channel.k8s.io']);
  // With an 'unexpected-response' listener the refused handshake is ours to end: terminate() then reports it.
  ws.on('error', () => {});
  t.teardown(() => ws.terminate());
  const res = await new Promise<http.IncomingMessage>((resolve) => ws.once('unexpected-response', (_req, r) => resolve(r)));
  let body = '';
  for await (const chunk of res) body += String(chunk);
  t.equal(res.statusCode, 400);
  t.equal(body, 'requested protocol(s) are not supported: [channel.k8s.io]; supports [v4.channel.k8s.io]\n');
});

t.test('messages arrive whole as Buffers; the server closes with a code; an oversized message closes with 1009', async (t) => {
  const received: [Buffer, boolean][] = [];
  let serverSide: WebSocketConnection | undefined;
  const closed = new Promise<[number, string]>((resolve) => {
    void serve(t, ['v4.channel.k8s.io'], (ws) => {
      serverSide = ws;
      ws.on('message', (data, binary) => {
        received.push([data, binary]);
        if (received.length === 2) ws.close(1000, 'done');
      });
    }).then(async (url) => {
      const { ws } = await connect(t, url, ['v4.channel.k8s.io']);
      ws.send(Buffer.from([1, 2]), { fin: false });
      ws.send(Buffer.from([3]), { fin: true });
      ws.send('text');
      ws.once('close', (code, reason) => resolve([code, reason.toString()]));
    });
  });
  t.same(await closed, [1000, 'done']);
  t.same(received, [
    [Buffer.from([1, 2, 3]), true],
    [Buffer.from('text'), false],
  ]);
  serverSide!.send(Buffer.from('after close'));
  t.pass('sending after close is a no-op');

  const url = await serve(t, ['v4.channel.k8s.io'], () => {});
  const { ws: big } = await connect(t, url, ['v4.channel.k8s.io']);
  const code = new Promise<number>((resolve) => big.once('close', (c) => resolve(c)));
  big.send(Buffer.alloc(16 * 2 ** 20 + 1));
  t.equal(await code, 1009);
});
