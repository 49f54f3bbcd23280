// The Observer client against real servers on 127.0.0.1: failure messages (nothing listening, a port that
// accepts but never speaks gRPC, a server that never answers, one that goes away mid-stream, gRPC and HTTP
// errors) and the gRPC framing (messages split anywhere across HTTP/2 DATA frames).
import t, { type Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import { createServer, type Server, type Socket } from 'node:net';
import { connectObserver, normalizeAddress } from '../../lib/hubble/client.ts';
import { InfraError } from '../../lib/errors.ts';
import { observerService } from '../../lib/hubble/grpc/services.ts';
import { getFlowsResponseCodec } from '../../lib/hubble/grpc/messages.ts';
import type { GetFlowsResponse } from '../../lib/flows/types.ts';
import { flowMix } from '../fixtures/flow-mix.ts';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

/** A port that was free a moment ago: nothing listens there. */
async function closedPort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise((resolve) => s.close(resolve));
  return port;
}

t.test('addresses: the Relay port is added when missing', async (t) => {
  t.equal(normalizeAddress('localhost'), 'localhost:4245');
  t.equal(normalizeAddress('127.0.0.1:4244'), '127.0.0.1:4244');
  t.equal(normalizeAddress('[::1]:4245'), '[::1]:4245');
  t.equal(normalizeAddress('::1'), '[::1]:4245');
  t.equal(normalizeAddress('dns:///relay.local:4245'), 'relay.local:4245');
});

t.test('nothing listening: connection refused, with what to do', async (t) => {
  const port = await closedPort();
  const err = await connectObserver(`127.0.0.1:${port}`).catch((e: unknown) => e);
  t.type(err, InfraError);
  t.equal((err as InfraError).message, `cannot reach Hubble Relay at 127.0.0.1:${port}: connection refused — is a port-forward running?`);
  t.match((err as InfraError).hint, /hubble-lab port-forward/);
  t.equal((err as InfraError).exitCode, 2);
});

t.test('a port that accepts but never speaks gRPC: dial timeout', async (t) => {
  const sockets: Socket[] = [];
  const silent = createServer((s) => sockets.push(s));
  const port = await listen(silent);
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const started = Date.now();
  const err = await connectObserver(`127.0.0.1:${port}`, { dialTimeoutMs: 300, what: 'Hubble agent' }).catch((e: unknown) => e);
  t.type(err, InfraError);
  t.match((err as Error).message, `cannot reach Hubble agent at 127.0.0.1:${port}: connected, but no gRPC handshake within 300 ms (dial timeout)`);
  t.ok(Date.now() - started < 3000, 'gives up at the dial timeout, not later');
});

t.test('a server that never answers: request timeout names the call', async (t) => {
  const server = new grpc.Server();
  server.addService(observerService, {
    ServerStatus: () => {}, // never calls back
    GetNodes: () => {},
    GetNamespaces: () => {},
    GetFlows: () => {},
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  t.teardown(() => server.forceShutdown());
  const client = await connectObserver(`127.0.0.1:${port}`, { requestTimeoutMs: 200 });
  t.teardown(() => client.close());
  await t.rejects(client.serverStatus(), {
    message: `Hubble Relay at 127.0.0.1:${port} did not answer ServerStatus within 200 ms (request timeout)`,
  });
  await t.rejects(client.health(), /does not implement Check/);
});

t.test('the server going away mid-stream is an error after the records already received', async (t) => {
  const records = flowMix(3, { seed: 3 });
  const server = new grpc.Server();
  server.addService(observerService, {
    GetFlows: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      for (const r of records) call.write(r);
      setTimeout(() => server.forceShutdown(), 50);
    },
    ServerStatus: () => {},
    GetNodes: () => {},
    GetNamespaces: () => {},
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const client = await connectObserver(`127.0.0.1:${port}`);
  t.teardown(() => client.close());
  const got: string[] = [];
  const err = await (async () => {
    for await (const r of client.getFlows({ follow: true })) got.push(r.flow!.uuid!);
  })().catch((e: unknown) => e);
  t.same(
    got,
    records.map((r) => r.flow!.uuid),
    'everything sent before the failure arrived',
  );
  t.type(err, InfraError);
  t.match((err as Error).message, new RegExp(`Hubble Relay at 127\\.0\\.0\\.1:${port}.*GetFlows`));
});

/** A plain node:http2 server answering every request with `respond`; its port. */
async function h2Server(t: Test, respond: (stream: http2.ServerHttp2Stream) => void): Promise<number> {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    // Read the request to its end first, as a gRPC server does before it answers a server-streaming call.
    stream.resume();
    stream.on('end', () => respond(stream));
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return port;
}

function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

t.test('messages split across DATA frames at every byte, and bigger than a frame, arrive whole', async (t) => {
  const records = flowMix(4, { seed: 5 });
  // One flow with enough labels to need several 16 KiB HTTP/2 frames.
  records[1]!.flow!.source!.labels = Array.from({ length: 3000 }, (_, i) => `k8s:label-${i}=value-${i}`);
  const bytes = Buffer.concat(records.map((r) => grpcFrame(getFlowsResponseCodec.encode(r))));
  const port = await h2Server(t, (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    // The first 400 bytes one at a time, then the rest in 7-byte pieces: every split position of a prefix.
    let pos = 0;
    const next = () => {
      if (pos >= bytes.length) return stream.end();
      const n = pos < 400 ? 1 : 7919;
      stream.write(bytes.subarray(pos, pos + n), next);
      pos += n;
    };
    next();
  });
  const client = await connectObserver(`127.0.0.1:${port}`);
  t.teardown(() => client.close());
  const got: GetFlowsResponse[] = [];
  for await (const r of client.getFlows({})) got.push(r);
  t.same(got, records, 'every record decoded exactly as sent');
});

t.test('gRPC status in trailers and trailers-only responses: code and percent-decoded message', async (t) => {
  const port = await h2Server(t, (stream) => {
    if (stream.sentHeaders) return;
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '3', 'grpc-message': 'since is not a valid timestamp: 100%25 bad' },
      { endStream: true },
    );
  });
  const client = await connectObserver(`127.0.0.1:${port}`);
  t.teardown(() => client.close());
  const err = await (async () => {
    for await (const r of client.getFlows({})) t.fail(`unexpected record ${JSON.stringify(r)}`);
  })().catch((e: unknown) => e);
  t.type(err, InfraError);
  t.equal((err as Error).message, `Hubble Relay at 127.0.0.1:${port} rejected GetFlows: since is not a valid timestamp: 100% bad`);
});

t.test('an HTTP/2 server that is not gRPC: its HTTP status becomes the gRPC code', async (t) => {
  const port = await h2Server(t, (stream) => {
    stream.respond({ ':status': 404, 'content-type': 'text/plain' });
    stream.end('not found');
  });
  const client = await connectObserver(`127.0.0.1:${port}`, { what: 'Hubble agent' });
  t.teardown(() => client.close());
  await t.rejects(client.serverStatus(), { message: `Hubble agent at 127.0.0.1:${port} does not implement ServerStatus` });
});
