// The HTTP/2 gRPC server transport behind every Observer server, driven by grpc-js (an independent gRPC
// implementation) and by plain HTTP/2 requests on 127.0.0.1: status codes and messages, deadlines, shutdown
// of open streams, backpressure, and requests that are not gRPC.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import { startGrpcServer, streamMethod, unaryMethod, parseGrpcTimeout } from '../../../lib/hubble/grpc/h2-server.ts';
import { healthService, observerService } from '../../../lib/hubble/grpc/services.ts';
import { GrpcStatusError, Status } from '../../../lib/hubble/grpc/status.ts';
import { flowMix } from '../../fixtures/flow-mix.ts';
import type { GetFlowsResponse } from '../../../lib/flows/types.ts';

type ObserverStub = grpc.Client & {
  GetFlows(req: object, opts?: grpc.CallOptions): grpc.ClientReadableStream<GetFlowsResponse>;
  ServerStatus(req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void): void;
};
const Observer = grpc.makeGenericClientConstructor(observerService, 'Observer');
const Health = grpc.makeGenericClientConstructor(healthService, 'Health');

t.test('grpc-js sees our statuses: OK, a handler error with a non-ASCII message, an unknown method', async (t) => {
  const server = await startGrpcServer('127.0.0.1:0', [
    unaryMethod(observerService.ServerStatus, () => {
      throw new GrpcStatusError(Status.INVALID_ARGUMENT, 'since is not a valid timestamp: «gestern» 100%');
    }),
    unaryMethod(healthService.Check, () => ({ status: 'SERVING' as const })),
  ]);
  t.teardown(() => server.close());
  const observer = new Observer(server.address, grpc.credentials.createInsecure()) as unknown as ObserverStub;
  const health = new Health(server.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Check(req: object, cb: (err: grpc.ServiceError | null, res?: { status?: string }) => void): void;
  };
  t.teardown(() => {
    observer.close();
    health.close();
  });
  const ok = await new Promise<{ status?: string }>((resolve, reject) => health.Check({}, (e, r) => (e ? reject(e) : resolve(r!))));
  t.same(ok, { status: 'SERVING' });
  const err = await new Promise<grpc.ServiceError>((resolve) => observer.ServerStatus({}, {}, (e) => resolve(e!)));
  t.equal(err.code, grpc.status.INVALID_ARGUMENT);
  t.equal(err.details, 'since is not a valid timestamp: «gestern» 100%', 'grpc-message percent-encoded and decoded back');
  const unknown = await new Promise<grpc.ServiceError>((resolve) => {
    const s = observer.GetFlows({});
    s.on('data', () => {});
    s.on('error', resolve);
  });
  t.equal(unknown.code, grpc.status.UNIMPLEMENTED);
  t.match(unknown.details, /unknown method \/observer\.Observer\/GetFlows/);
});

t.test('close() ends open streams with OK; a deadline ends a stream with DEADLINE_EXCEEDED', async (t) => {
  let started = 0;
  const server = await startGrpcServer('127.0.0.1:0', [
    streamMethod(observerService.GetFlows, async (_req, out, ctx) => {
      started++;
      out.send(flowMix(1, { seed: 1 })[0]!);
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    }),
  ]);
  const observer = new Observer(server.address, grpc.credentials.createInsecure()) as unknown as ObserverStub;
  t.teardown(() => observer.close());

  // The deadline travels as grpc-timeout; whichever side enforces it first, the call ends DEADLINE_EXCEEDED.
  const timedOut = await new Promise<{ got: number; err: grpc.ServiceError }>((resolve) => {
    let got = 0;
    const s = observer.GetFlows({ follow: true }, { deadline: Date.now() + 300 });
    s.on('data', () => got++);
    s.on('error', (err: grpc.ServiceError) => resolve({ got, err }));
  });
  t.equal(timedOut.got, 1, 'the record sent before the deadline arrived');
  t.equal(timedOut.err.code, grpc.status.DEADLINE_EXCEEDED);

  const ending = new Promise<{ got: number; end: string }>((resolve) => {
    let got = 0;
    const s = observer.GetFlows({ follow: true });
    s.on('data', () => {
      got++;
      void server.close();
    });
    s.on('error', (err: grpc.ServiceError) => resolve({ got, end: `error ${err.code}` }));
    s.on('end', () => resolve({ got, end: 'end' }));
  });
  t.same(await ending, { got: 1, end: 'end' }, 'the follower sees its stream end cleanly');
  t.equal(started, 2);
});

t.test('a client that stops reading makes send() ask the handler to wait, and drained() resumes it', async (t) => {
  const record = flowMix(1, { seed: 2 })[0]!;
  let sent = 0;
  let waits = 0;
  const server = await startGrpcServer('127.0.0.1:0', [
    streamMethod(observerService.GetFlows, async (_req, out, ctx) => {
      while (!ctx.signal.aborted && sent < 20_000) {
        sent++;
        if (!out.send(record)) {
          waits++;
          await out.drained();
        }
      }
    }),
  ]);
  t.teardown(() => server.close());
  const session = http2.connect(`http://${server.address}`);
  t.teardown(() => session.destroy());
  const stream = session.request({ ':method': 'POST', ':path': observerService.GetFlows.path, 'content-type': 'application/grpc', te: 'trailers' });
  stream.end(Buffer.from([0, 0, 0, 0, 0]));
  stream.pause();
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.ok(waits >= 1, `the handler was told to wait (${waits} times)`);
  t.ok(sent < 20_000, `and stopped sending while the client read nothing (${sent} sent)`);
  let bytes = 0;
  stream.on('data', (c: Buffer) => (bytes += c.length));
  const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.on('trailers', resolve));
  stream.resume();
  t.equal((await trailers)['grpc-status'], '0');
  t.equal(sent, 20_000, 'once read, everything was sent');
  t.equal(bytes, 20_000 * (5 + observerService.GetFlows.responseSerialize(record).length));
});

t.test('requests that are not gRPC get HTTP errors; grpc-timeout units parse', async (t) => {
  const server = await startGrpcServer('127.0.0.1:0', []);
  t.teardown(() => server.close());
  const session = http2.connect(`http://${server.address}`);
  t.teardown(() => session.destroy());
  const status = (headers: http2.OutgoingHttpHeaders) =>
    new Promise<number>((resolve) => {
      const s = session.request(headers);
      s.on('response', (h) => resolve(Number(h[':status'])));
      s.resume();
      s.end();
    });
  t.equal(await status({ ':method': 'GET', ':path': '/' }), 405);
  t.equal(await status({ ':method': 'POST', ':path': '/observer.Observer/GetFlows', 'content-type': 'text/plain' }), 415);
  t.equal(parseGrpcTimeout('250m'), 250);
  t.equal(parseGrpcTimeout('2S'), 2000);
  t.equal(parseGrpcTimeout('1H'), 3_600_000);
  t.equal(parseGrpcTimeout('5000u'), 5);
  t.equal(parseGrpcTimeout('123456789S'), undefined, 'more than 8 digits is malformed');
  t.equal(parseGrpcTimeout(undefined), undefined);
});

t.test('the server itself ends a call at the grpc-timeout the client sent: DEADLINE_EXCEEDED in the trailers', async (t) => {
  let aborted = false;
  const server = await startGrpcServer('127.0.0.1:0', [
    streamMethod(observerService.GetFlows, async (_req, out, ctx) => {
      out.send(flowMix(1, { seed: 3 })[0]!);
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      aborted = true;
    }),
  ]);
  t.teardown(() => server.close());
  const session = http2.connect(`http://${server.address}`);
  t.teardown(() => session.destroy());
  const started = Date.now();
  // A plain HTTP/2 request that enforces nothing itself: only the server can end it.
  const stream = session.request({
    ':method': 'POST',
    ':path': observerService.GetFlows.path,
    'content-type': 'application/grpc',
    te: 'trailers',
    'grpc-timeout': '200m',
  });
  stream.end(Buffer.from([0, 0, 0, 0, 0]));
  let bytes = 0;
  stream.on('data', (c: Buffer) => (bytes += c.length));
  const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.on('trailers', resolve));
  const elapsed = Date.now() - started;
  t.equal(trailers['grpc-status'], String(Status.DEADLINE_EXCEEDED));
  t.equal(trailers['grpc-message'], 'deadline exceeded');
  t.ok(elapsed >= 190 && elapsed < 2000, `ended at the deadline (${elapsed} ms)`);
  t.ok(bytes > 5, 'the record sent before the deadline arrived');
  t.ok(aborted, "and the handler's signal aborted");
});
