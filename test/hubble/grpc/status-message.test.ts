// A status message of any length reaches the client: grpc-message is capped, so a huge error (a 200 KB invalid
// filter echoed back) is a clean status with a cut message, not a broken connection.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { MAX_STATUS_MESSAGE_CHARS, startGrpcServer, streamMethod, unaryMethod } from '../../../lib/hubble/grpc/h2-server.ts';
import { observerService } from '../../../lib/hubble/grpc/services.ts';
import { GrpcStatusError, Status } from '../../../lib/hubble/grpc/status.ts';
import { startObserverServer } from '../../../lib/hubble/server/observer-server.ts';
import { FlowRing } from '../../../lib/hubble/server/ring.ts';
import { RingObserverSource } from '../../../lib/hubble/server/ring-source.ts';
import type { GetFlowsResponse } from '../../../lib/flows/types.ts';
import { flowMix } from '../../fixtures/flow-mix.ts';

type ObserverStub = grpc.Client & {
  GetFlows(req: object, opts?: grpc.CallOptions): grpc.ClientReadableStream<GetFlowsResponse>;
  ServerStatus(req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void): void;
};
const Observer = grpc.makeGenericClientConstructor(observerService, 'Observer');

function streamError(stub: ObserverStub, req: object): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) => {
    const s = stub.GetFlows(req);
    s.on('data', () => {});
    s.on('error', resolve);
    s.on('end', () => reject(new Error('the call ended without an error')));
  });
}

t.test('a 200 KB status message arrives cut to its first KiB, with its length', async (t) => {
  const huge = `bad value: ${'é('.repeat(100_000)}`;
  const server = await startGrpcServer('127.0.0.1:0', [
    unaryMethod(observerService.ServerStatus, () => {
      throw new GrpcStatusError(Status.INVALID_ARGUMENT, huge);
    }),
    streamMethod(observerService.GetFlows, async (_req, out) => {
      out.send(flowMix(1, { seed: 2 })[0]!);
      throw new Error(huge);
    }),
  ]);
  const stub = new Observer(server.address, grpc.credentials.createInsecure()) as unknown as ObserverStub;
  t.teardown(async () => {
    stub.close();
    await server.close();
  });
  const want = `${huge.slice(0, MAX_STATUS_MESSAGE_CHARS)}… (${huge.length} characters in all)`;
  const unary = await new Promise<grpc.ServiceError>((resolve) => stub.ServerStatus({}, {}, (e) => resolve(e!)));
  t.equal(unary.code, grpc.status.INVALID_ARGUMENT, 'trailers-only status');
  t.equal(unary.details, want);
  const stream = await streamError(stub, {});
  t.equal(stream.code, grpc.status.UNKNOWN, 'status in trailers after a message');
  t.equal(stream.details, want);
  const again = await new Promise<grpc.ServiceError | null>((resolve) => stub.ServerStatus({}, {}, (e) => resolve(e)));
  t.equal(again?.code, grpc.status.INVALID_ARGUMENT, 'the connection is still good');
});

t.test('a 200 KB invalid regex in a filter: a short, clear status', async (t) => {
  const ring = new FlowRing(63);
  for (const r of flowMix(10, { seed: 3 })) ring.write(r);
  const server = await startObserverServer('127.0.0.1:0', new RingObserverSource(ring, { nodeName: 'n', version: 'v' }));
  const stub = new Observer(server.address, grpc.credentials.createInsecure()) as unknown as ObserverStub;
  t.teardown(async () => {
    stub.close();
    await server.close();
  });
  const err = await streamError(stub, { whitelist: [{ http_url: ['('.repeat(200_000)] }] });
  t.match(err.details, /^invalid http_url filter "\(+…" \(200000 characters\): expression too long: 200000 characters, at most 1024$/);
  t.ok(err.details.length < 400, `${err.details.length} characters`);
});
