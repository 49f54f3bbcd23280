// Worker threads with results in submission order: what `observe --input-file` and large reads rely on.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inOrder, parseJobs } from '../../lib/parallel/pool.ts';
import { lineRanges, type LineRange } from '../../lib/parallel/ranges.ts';
import { fileTempDir } from '../fixtures/temp-dir.ts';

const echoWorker = new URL('../fixtures/echo-worker.ts', import.meta.url);

async function* numbers(list: number[]): AsyncGenerator<number> {
  for (const n of list) yield n;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

t.test('results come back in the order the tasks were given, whatever order the workers finish in', async (t) => {
  const list = Array.from({ length: 12 }, (_, i) => i);
  const got = await collect(inOrder<number, number>(numbers(list), { module: echoWorker, setup: { delayMs: 60 }, jobs: 3, ahead: 6 }));
  t.same(
    got,
    list.map((n) => n * n),
  );
});

t.test("a worker's error reaches the caller with its message, and the workers stop", async (t) => {
  await t.rejects(collect(inOrder<number, number>(numbers([1, 2, -1, 3]), { module: echoWorker, setup: { delayMs: 0 }, jobs: 2, ahead: 4 })), {
    name: 'RangeError',
    message: 'task -1 is refused',
  });
});

t.test('leaving the loop early stops the workers: the process is not held open', async (t) => {
  const it = inOrder<number, number>(numbers([1, 2, 3, 4, 5, 6]), { module: echoWorker, setup: { delayMs: 10 }, jobs: 2, ahead: 2 });
  for await (const r of it) {
    t.equal(r, 1);
    break;
  }
});

t.test('lineRanges covers the file exactly, cut at newlines, with the lines before each range', async (t) => {
  const dir = fileTempDir('ranges-');
  const lines = Array.from({ length: 5000 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(i % 97)}"}`);
  // A line much longer than a range, and a last line without a newline.
  lines[1234] = `{"long":"${'y'.repeat(300_000)}"}`;
  const path = join(dir, 'f.jsonl');
  writeFileSync(path, lines.join('\n'));
  const text = readFileSync(path);
  const ranges: LineRange[] = await collect(lineRanges(path, 64 * 1024));
  t.ok(ranges.length > 4, `${ranges.length} ranges`);
  let expectStart = 0;
  let lineCount = 0;
  for (const r of ranges) {
    t.equal(r.start, expectStart, 'ranges follow one another');
    t.ok(r.end > r.start, 'never empty');
    t.equal(r.linesBefore, lineCount, `lines before byte ${r.start}`);
    if (r.end < text.length) t.equal(text[r.end - 1], 0x0a, 'a range ends just after a newline');
    lineCount += text.subarray(r.start, r.end).toString('utf8').split('\n').length - 1;
    expectStart = r.end;
  }
  t.equal(expectStart, text.length, 'the last range ends at the end of the file');
});

t.test('--jobs takes a whole number from 1 to 64', async (t) => {
  t.equal(parseJobs(undefined, 'observe'), undefined);
  t.equal(parseJobs('2', 'observe'), 2);
  for (const bad of ['0', '65', '1.5', 'two', '-1', ''])
    t.throws(() => parseJobs(bad, 'observe'), { message: /observe: --jobs needs a whole number from 1 to 64/ }, bad);
});
