// The latency sketch: percentiles within its stated relative error of the exact nearest-rank value, and merging.
import t from 'tap';
import { LatencySketch, RELATIVE_ACCURACY } from '../../lib/analysis/latency.ts';
import { nearestRank, seededRandom as random } from '../fixtures/random.ts';

t.test('percentiles of a long-tailed distribution are within the relative accuracy', async (t) => {
  const rnd = random(7);
  const sketch = new LatencySketch();
  const values: number[] = [];
  for (let i = 0; i < 20000; i++) {
    // Log-normal-ish: most requests a few ms, a tail into seconds.
    const v = Math.exp(1 + 1.5 * (rnd() + rnd() + rnd() - 1.5) * 1.2);
    values.push(v);
    sketch.add(v);
  }
  values.sort((a, b) => a - b);
  for (const q of [0.01, 0.5, 0.9, 0.95, 0.99, 0.999]) {
    const exact = nearestRank(values, q);
    const est = sketch.quantile(q)!;
    t.ok(Math.abs(est - exact) <= RELATIVE_ACCURACY * exact * 1.0001, `q=${q}: ${est} vs ${exact}`);
  }
  t.equal(sketch.max, values[values.length - 1]);
  t.equal(sketch.summary()!.count, 20000);
});

t.test('small samples use the nearest rank, so p99 of ten values is the largest', async (t) => {
  const sketch = new LatencySketch();
  for (const v of [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]) sketch.add(v);
  const s = sketch.summary()!;
  t.ok(Math.abs(s.p50 - 50) <= 0.25, `p50 ${s.p50}`);
  t.ok(Math.abs(s.p90 - 90) <= 0.45, `p90 ${s.p90}`);
  t.equal(s.p99, 100, 'clamped to the exact max');
  t.equal(s.max, 100);
});

t.test('zeros, an empty sketch and invalid values', async (t) => {
  const empty = new LatencySketch();
  t.equal(empty.summary(), null);
  t.equal(empty.quantile(0.5), undefined);
  const s = new LatencySketch();
  s.add(0);
  s.add(0);
  s.add(Number.NaN);
  s.add(-1);
  s.add(5);
  t.equal(s.count, 3, 'NaN and negatives are ignored');
  t.equal(s.quantile(0.5), 0);
  t.ok(Math.abs(s.quantile(1)! - 5) <= 0.025);
});

t.test('a merged sketch answers like one fed both streams', async (t) => {
  const rnd = random(11);
  const a = new LatencySketch();
  const b = new LatencySketch();
  const both = new LatencySketch();
  for (let i = 0; i < 5000; i++) {
    const v = rnd() * 1000 + 0.001;
    (i % 3 === 0 ? a : b).add(v);
    both.add(v);
  }
  b.add(1e-5);
  both.add(1e-5);
  a.merge(b);
  for (const q of [0.001, 0.5, 0.9, 0.99]) t.equal(a.quantile(q), both.quantile(q), `q=${q}`);
  t.equal(a.count, both.count);
  t.equal(a.min, both.min);
  t.equal(a.max, both.max);
});
