// The ring buffer: Hubble's 2^n−1 capacities, eviction, counters and sequence numbers readers rely on.
import t from 'tap';
import { FlowRing, isValidCapacity } from '../../../lib/hubble/server/ring.ts';
import { flowMix } from '../../fixtures/flow-mix.ts';

t.test('only 2^n−1 capacities, as hubble-event-buffer-capacity', async (t) => {
  for (const ok of [1, 3, 63, 4095, 65535]) t.ok(isValidCapacity(ok), String(ok));
  for (const bad of [0, 2, 100, 4096, -1, 1.5]) t.notOk(isValidCapacity(bad), String(bad));
  t.throws(() => new FlowRing(4096), /one less than a power of two \(e\.g\. 4095, 65535\), not 4096/);
});

t.test('keeps the last `capacity` records and counts flows in and seen', async (t) => {
  const ring = new FlowRing(7);
  const records = flowMix(20, { seed: 4, lostEvery: 10 });
  for (const r of records) ring.write(r);
  t.equal(ring.written, 20);
  t.equal(ring.oldest, 13);
  t.equal(ring.at(12), undefined, 'overwritten');
  t.equal(ring.at(20), undefined, 'not written yet');
  t.equal(ring.at(13)!.response, records[13]);
  t.equal(ring.at(19)!.response, records[19]);
  t.equal(ring.seenFlows, 18, 'two lost_events are not flows');
  t.equal(ring.numFlows, records.slice(13).filter((r) => r.flow).length);
  t.equal(ring.at(19)!.seconds, Math.floor(Date.parse(records[19]!.time!) / 1000));
});

t.test('nextWrite wakes followers on the next write, or on abort', async (t) => {
  const ring = new FlowRing(3);
  const woke = ring.nextWrite();
  ring.write(flowMix(1)[0]!);
  await woke;
  const stop = new AbortController();
  const waiting = ring.nextWrite(stop.signal);
  stop.abort();
  await waiting;
  t.pass('both resolved');
});
