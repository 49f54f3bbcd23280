// The timeline: at most 120 buckets whatever the span, exact totals through coarsening, bursts flagged, rates per second.
import t from 'tap';
import { MAX_BUCKETS, Timeline } from '../../lib/analysis/timeline.ts';

const START = Date.UTC(2026, 0, 1, 12);

t.test('widths grow with the span; counts survive every coarsening', async (t) => {
  for (const spanMs of [800, 90_000, 3_600_000, 5 * 86_400_000]) {
    const tl = new Timeline();
    let flows = 0;
    for (let i = 0; i <= 1000; i++) {
      tl.add(START + Math.floor((spanMs * i) / 1000), i % 3 === 0, i % 10 === 0, i % 50 === 0);
      flows++;
    }
    const s = tl.summary();
    t.ok(s.buckets.length <= MAX_BUCKETS && s.buckets.length >= 20, `${spanMs} ms: ${s.buckets.length} buckets of ${s.bucketSeconds} s`);
    t.equal(
      s.buckets.reduce((n, b) => n + b.flows, 0),
      flows,
    );
    t.equal(
      s.buckets.reduce((n, b) => n + b.requests, 0),
      334,
    );
    t.equal(
      s.buckets.reduce((n, b) => n + b.errors, 0),
      101,
    );
    t.equal(
      s.buckets.reduce((n, b) => n + b.drops, 0),
      21,
    );
    const starts = s.buckets.map((b) => Date.parse(b.start));
    t.ok(
      starts.every((v, i) => i === 0 || v - starts[i - 1]! === s.bucketSeconds * 1000),
      'consecutive buckets',
    );
  }
});

t.test('a flow earlier than all others still fits, and out-of-order input gives the same buckets', async (t) => {
  const a = new Timeline();
  const b = new Timeline();
  const times = Array.from({ length: 500 }, (_, i) => START + i * 700);
  for (const ms of times) a.add(ms, false, false, false);
  for (const ms of [...times].reverse()) b.add(ms, false, false, false);
  t.same(a.summary(), b.summary());
});

t.test('a burst of drops is flagged against the usual rate; steady traffic is not', async (t) => {
  const tl = new Timeline();
  for (let s = 0; s < 100; s++) for (let k = 0; k < 20; k++) tl.add(START + s * 1000 + k * 50, k < 2, false, false);
  for (let k = 0; k < 25; k++) tl.add(START + 30_000 + k * 10, false, false, true);
  const s = tl.summary();
  t.equal(s.bucketSeconds, 1);
  t.same(s.bursts, [{ start: new Date(START + 30_000).toISOString(), series: 'drops', count: 25, median: 0 }]);
  t.same(s.buckets[30]!.bursts, ['drops']);
  t.same(s.buckets[30]!.perSecond, { flows: 45, requests: 2, errors: 0, drops: 25 });
});
