// FlowCollector against a real Observer server that goes away and comes back on the same address, as a replaced
// Relay pod does behind its port-forward: the resume drops the overlap, and a buffer that wrapped meanwhile is a
// gap not recovered, with its estimated loss.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GetFlowsResponse } from '../../lib/flows/types.ts';
import { FlowCollector } from '../../lib/lab/collector.ts';
import { startObserverServer, type RunningServer } from '../../lib/hubble/server/observer-server.ts';
import { FlowRing } from '../../lib/hubble/server/ring.ts';
import { RingObserverSource } from '../../lib/hubble/server/ring-source.ts';

/** Flows of node n1, 10 ms apart, ending about now: the collector's since and the buffer check read real times. */
function writeFlows(ring: FlowRing, from: number, count: number, base: number): void {
  for (let i = from; i < from + count; i++) {
    const time = new Date(base + i * 10).toISOString();
    const resp: GetFlowsResponse = { flow: { time, uuid: `flow-${i}`, node_name: 'n1', verdict: 'FORWARDED' }, node_name: 'n1', time };
    ring.write(resp);
  }
}

function serve(ring: FlowRing, address = '127.0.0.1:0'): Promise<RunningServer> {
  return startObserverServer(address, new RingObserverSource(ring, { nodeName: 'n1', version: '1.19.0', perNode: true }));
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function flowLines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).flow?.uuid)
    .filter(Boolean);
}

t.test('a server replaced on the same address: resumed, the overlap dropped, nothing lost', async (t) => {
  const base = Date.now() - 5000;
  const ring = new FlowRing(1023);
  writeFlows(ring, 0, 50, base);
  let server = await serve(ring);
  t.teardown(() => server.close());
  const out = join(t.testdir(), 'flows.jsonl');
  const got: string[] = [];
  const problems: string[] = [];
  const collector = new FlowCollector(
    server.address,
    { since: new Date(base).toISOString() },
    out,
    (r) => r.flow && got.push(r.flow.uuid!),
    (l) => problems.push(l),
  );
  await collector.start();
  await until('the first 50 flows', () => got.length === 50);

  await server.close();
  writeFlows(ring, 50, 30, base);
  server = await serve(ring, `127.0.0.1:${server.port}`);
  await until('the 30 flows written while it was down', () => got.length === 80);
  const stats = await collector.stop(0);

  t.same(
    got,
    Array.from({ length: 80 }, (_, i) => `flow-${i}`),
    'every flow once, in order',
  );
  t.same(flowLines(out), got, 'flows.jsonl holds the same');
  t.ok(stats.duplicates > 0, `the overlap of the resume (${stats.duplicates} flows) was dropped`);
  t.match(stats.gaps, [{ recovered: true, estimatedLost: 0, to: String }], 'one gap, recovered');
  t.equal(stats.ended, 'stopped');
  t.match(problems, [/^flow stream broke \(.+\); resuming from /, /^flow stream resumed after [\d.]+s; the agents' buffers still held the flows since /]);
});

t.test('a buffer that wrapped while the server was away: a gap not recovered, with the flows lost estimated', async (t) => {
  const base = Date.now() - 5000;
  const ring = new FlowRing(63);
  writeFlows(ring, 0, 40, base);
  let server = await serve(ring);
  t.teardown(() => server.close());
  const out = join(t.testdir(), 'flows.jsonl');
  const got: string[] = [];
  const problems: string[] = [];
  const collector = new FlowCollector(
    server.address,
    { since: new Date(base).toISOString() },
    out,
    (r) => r.flow && got.push(r.flow.uuid!),
    (l) => problems.push(l),
  );
  await collector.start();
  await until('the first 40 flows', () => got.length === 40);

  await server.close();
  // 200 more into a ring of 63: flows 40–176 are overwritten before anyone reads them.
  writeFlows(ring, 40, 200, base);
  server = await serve(ring, `127.0.0.1:${server.port}`);
  await until('the 63 flows the ring still holds', () => got.length === 40 + 63);
  const stats = await collector.stop(0);

  t.same(
    got.slice(40),
    Array.from({ length: 63 }, (_, i) => `flow-${177 + i}`),
    'the resume reads what the ring holds',
  );
  const gap = stats.gaps[0]!;
  t.match(
    gap,
    { recovered: false, overwritten: [{ node: 'n1', heldFrom: new Date(base + 1770).toISOString() }] },
    'node n1 holds flows again from flow 177 on',
  );
  // 137 flows lost at the rate seen before (100 per second), over the 1.37 s the ring no longer holds.
  t.ok(gap.estimatedLost >= 120 && gap.estimatedLost <= 160, `about 137 flows lost, estimated ${gap.estimatedLost}`);
  t.match(problems.at(-1), /^flow stream resumed after [\d.]+s, but buffers had been overwritten \(held again: n1 from \S+\): about \d+ flow\(s\) lost$/);
});

t.test('a stream still down at the end: an open gap, and why', async (t) => {
  const base = Date.now() - 2000;
  const ring = new FlowRing(1023);
  writeFlows(ring, 0, 20, base);
  const server = await serve(ring);
  const out = join(t.testdir(), 'flows.jsonl');
  let flows = 0;
  const collector = new FlowCollector(server.address, { since: new Date(base).toISOString() }, out, (r) => r.flow && flows++);
  await collector.start();
  await until('the 20 flows', () => flows === 20);
  await server.close();
  const stats = await collector.stop(500);
  t.match(stats.gaps, [{ recovered: false, to: null }], 'the gap never closed');
  t.ok(stats.gaps[0]!.estimatedLost > 0, 'its loss is estimated from the rate before');
  t.match(stats.ended, /^the flow stream was down from \S+ to the end \(.+\)$/);
});

t.test('lost_events while the gap is replayed: the gap is not recovered, and the events count as lost', async (t) => {
  const base = Date.now() - 5000;
  const ring = new FlowRing(1023);
  writeFlows(ring, 0, 30, base);
  let server = await serve(ring);
  t.teardown(() => server.close());
  const out = join(t.testdir(), 'flows.jsonl');
  let flows = 0;
  const problems: string[] = [];
  const collector = new FlowCollector(
    server.address,
    { since: new Date(base).toISOString() },
    out,
    (r) => r.flow && flows++,
    (l) => problems.push(l),
  );
  await collector.start();
  await until('the first 30 flows', () => flows === 30);
  await server.close();
  const brokeAt = Date.now();
  writeFlows(ring, 30, 10, base);
  ring.write({ lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '25' }, node_name: 'n1', time: new Date(base + 400).toISOString() });
  // Flows after the break: where the replay ends.
  writeFlows(ring, 40, 5, brokeAt + 1000 - 400);
  server = await serve(ring, `127.0.0.1:${server.port}`);
  await until('every flow', () => flows === 45);
  const stats = await collector.stop(0);
  t.match(stats.gaps, [{ recovered: false, estimatedLost: 25 }], "the 25 events lost during the replay are the gap's");
  t.match(problems.at(-1), /^the flows of the gap since \S+ were overwritten while they were replayed: 25 lost$/);
});
