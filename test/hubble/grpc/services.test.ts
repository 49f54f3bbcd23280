// The method definitions are written out in grpc-js' shape without importing grpc-js; here grpc-js itself takes
// them: the compiler checks the shape, and a grpc-js server and client serve and call each service with them.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { healthService, observerService, peerService } from '../../../lib/hubble/grpc/services.ts';

// The compile-time half: tsc --noEmit fails here if a field drifts from grpc-js' ServiceDefinition.
const definitions: grpc.ServiceDefinition[] = [observerService, healthService, peerService];

t.test('grpc-js serves and calls the services with our definitions', async (t) => {
  t.equal(definitions.length, 3);
  const server = new grpc.Server();
  server.addService(healthService, {
    Check: (call: grpc.ServerUnaryCall<{ service?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, { status: call.request.service === 'hubble' ? 'SERVING' : 'SERVICE_UNKNOWN' }),
    Watch: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
  });
  server.addService(observerService, {
    GetFlows: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      call.write({ node_name: 'kind-worker', flow: { verdict: 'FORWARDED' } });
      call.end();
    },
    ServerStatus: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { num_flows: 7, max_flows: 4095 }),
    GetNodes: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { nodes: [] }),
    GetNamespaces: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { namespaces: [] }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.teardown(() => server.forceShutdown());

  type Unary = (req: object, cb: (err: grpc.ServiceError | null, res?: Record<string, unknown>) => void) => void;
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  const Observer = grpc.makeGenericClientConstructor(observerService, 'Observer');
  const health = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Check: Unary };
  const observer = new Observer(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ServerStatus: Unary;
    GetFlows(req: object): grpc.ClientReadableStream<Record<string, unknown>>;
  };
  t.teardown(() => {
    health.close();
    observer.close();
  });
  const call = <T>(f: (cb: (err: grpc.ServiceError | null, res?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => f((err, res) => (err ? reject(err) : resolve(res!))));

  t.same(await call((cb) => health.Check({ service: 'hubble' }, cb)), { status: 'SERVING' });
  t.match(await call((cb) => observer.ServerStatus({}, cb)), { num_flows: 7, max_flows: 4095 });
  const received: Record<string, unknown>[] = [];
  for await (const r of observer.GetFlows({ number: 1 })) received.push(r as Record<string, unknown>);
  t.match(received, [{ node_name: 'kind-worker', flow: { verdict: 'FORWARDED' } }], 'a stream through our codecs both ways');
});
