// The Observer client's failure messages, against real sockets on 127.0.0.1: nothing listening, a port that
// accepts but never speaks gRPC, a server that never answers, and a server that goes away mid-stream.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { createServer, type Server, type Socket } from 'node:net';
import { connectObserver, normalizeAddress } from '../../lib/hubble/client.ts';
import { InfraError } from '../../lib/errors.ts';
import { observerService } from '../../lib/hubble/grpc/services.ts';
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
  t.same(got, records.map((r) => r.flow!.uuid), 'everything sent before the failure arrived');
  t.type(err, InfraError);
  t.match((err as Error).message, new RegExp(`Hubble Relay at 127\\.0\\.0\\.1:${port}.*GetFlows`));
});
