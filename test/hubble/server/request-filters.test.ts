// A request's filter work never holds an Observer server: bounds on filter count and size (INVALID_ARGUMENT),
// other calls answered while a heavy request runs, and the work stops at the client's deadline or cancel.
import t, { type Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import type { FlowFilter, GetFlowsResponse } from '../../../lib/flows/types.ts';
import { connectObserver } from '../../../lib/hubble/client.ts';
import { observerService } from '../../../lib/hubble/grpc/services.ts';
import { startObserverServer } from '../../../lib/hubble/server/observer-server.ts';
import { MAX_REQUEST_FILTER_VALUES, MAX_REQUEST_FILTERS } from '../../../lib/hubble/server/request-filters.ts';
import { FlowRing } from '../../../lib/hubble/server/ring.ts';
import { RingObserverSource } from '../../../lib/hubble/server/ring-source.ts';
import { flowMix } from '../../fixtures/flow-mix.ts';

type ObserverStub = grpc.Client & {
  GetFlows(req: object, opts?: grpc.CallOptions): grpc.ClientReadableStream<GetFlowsResponse>;
  ServerStatus(req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void): void;
};
const Observer = grpc.makeGenericClientConstructor(observerService, 'Observer');

/** A full ring of HTTP flows with long URLs: what makes regex filters cost something per flow. */
function heavyRing(): FlowRing {
  const ring = new FlowRing(65535);
  const records = flowMix(2000, { seed: 31 });
  for (let i = 0; ring.written < ring.capacity; i++) {
    const r = records[i % records.length]!;
    const flow = { ...r.flow, l7: { type: 'REQUEST' as const, http: { method: 'GET', url: `http://svc/${'ab/'.repeat(130)}${i}` } } };
    ring.write({ ...r, flow });
  }
  return ring;
}

/** Patterns that re2js must run (no literal shortcut) and that never match these URLs. */
function heavyFilters(n: number): FlowFilter[] {
  return Array.from({ length: n }, (_, i) => ({ http_url: [`(a|b|/)*z${i}[0-9]`] }));
}

async function serve(t: Test, ring: FlowRing) {
  const source = new RingObserverSource(ring, { nodeName: 'test-node', version: '1.19.0' });
  const server = await startObserverServer('127.0.0.1:0', source);
  const stub = new Observer(server.address, grpc.credentials.createInsecure()) as unknown as ObserverStub;
  t.teardown(async () => {
    stub.close();
    await server.close();
  });
  return { server, stub, source };
}

function status(stub: ObserverStub, deadlineMs: number): Promise<{ ms: number; err?: grpc.ServiceError }> {
  const start = performance.now();
  return new Promise((resolve) =>
    stub.ServerStatus({}, { deadline: Date.now() + deadlineMs }, (err) => resolve({ ms: performance.now() - start, ...(err ? { err } : {}) })),
  );
}

function getFlowsEnd(stub: ObserverStub, req: object, opts: grpc.CallOptions = {}): Promise<{ flows: number; err?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    let flows = 0;
    const call = stub.GetFlows(req, opts);
    call.on('data', () => flows++);
    call.on('error', (err: grpc.ServiceError) => resolve({ flows, err }));
    call.on('end', () => resolve({ flows }));
  });
}

t.test('too many filters, or filters too large, are refused with INVALID_ARGUMENT', async (t) => {
  const ring = new FlowRing(63);
  for (const r of flowMix(20, { seed: 30 })) ring.write(r);
  const { stub, server } = await serve(t, ring);
  const many = Array.from({ length: 10_000 }, (_, i) => ({ source_pod: [`ns-${i}/pod-${i}`] }));
  const tooMany = await getFlowsEnd(stub, { whitelist: many });
  t.equal(tooMany.err?.code, grpc.status.INVALID_ARGUMENT);
  t.equal(tooMany.err?.details, `too many filters: 10000 (whitelist 10000, blacklist 0); a request may have at most ${MAX_REQUEST_FILTERS}`);
  const wide = await getFlowsEnd(stub, { blacklist: [{ source_port: Array.from({ length: 5000 }, (_, i) => String(i)) }] });
  t.equal(wide.err?.code, grpc.status.INVALID_ARGUMENT);
  t.equal(wide.err?.details, `filters too large: 5000 values; a request's filters may hold at most ${MAX_REQUEST_FILTER_VALUES}`);
  const fine = await getFlowsEnd(stub, { whitelist: many.slice(0, MAX_REQUEST_FILTERS) });
  t.equal(fine.err, undefined, 'the limit itself is accepted');

  // Our client shows the reason in one line.
  const client = await connectObserver(server.address, { what: 'test observer' });
  t.teardown(() => client.close());
  const err = await (async () => {
    for await (const _ of client.getFlows({ whitelist: many })) void _;
  })().catch((e: Error) => e);
  t.match(String(err), /too many filters: 10000/);
});

t.test('a heavy request does not hold the server: ServerStatus answers while it runs, and it ends at its deadline', async (t) => {
  const ring = heavyRing();
  const { stub } = await serve(t, ring);
  const filters = heavyFilters(MAX_REQUEST_FILTERS);
  t.equal((await status(stub, 1000)).err, undefined, 'a first probe, on an idle server');
  const started = performance.now();
  let ended = false;
  const heavy = getFlowsEnd(stub, { whitelist: filters }, { deadline: Date.now() + 1000 }).finally(() => (ended = true));
  // Status probes for as long as the request works (seconds of it, without its deadline): each answers within
  // its own deadline. The client shares this process's event loop, so each answer waits for a few slices.
  const probes: number[] = [];
  while (!ended) {
    const s = await status(stub, 1000);
    t.equal(s.err, undefined, `probe ${probes.length} answered`);
    probes.push(s.ms);
    await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(probes.length >= 3, `status probes took ${probes.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  const end = await heavy;
  const ms = performance.now() - started;
  t.equal(end.err?.code, grpc.status.DEADLINE_EXCEEDED, 'the call ends at its deadline');
  t.equal(end.flows, 0, 'nothing matched');
  t.ok(ms < 4000, `ended after ${ms.toFixed(0)} ms`);
});

t.test('the filter work stops when the deadline passes or the client cancels', async (t) => {
  const ring = heavyRing();
  const source = new RingObserverSource(ring, { nodeName: 'test-node', version: '1.19.0' });
  const sink = { send: () => true, drained: async () => {} };
  const filters = heavyFilters(MAX_REQUEST_FILTERS);
  // The whole walk would take seconds: an abort after 200 ms must end it within a slice.
  for (const req of [{ whitelist: filters }, { whitelist: filters, number: 5 }, { whitelist: filters, follow: true }]) {
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 200);
    await source.getFlows(req, sink, controller.signal);
    const ms = performance.now() - started;
    t.ok(ms < 1000, `${JSON.stringify(Object.keys(req))}: returned ${ms.toFixed(0)} ms after the start`);
  }
});
