// What bounds reading a Hubble export on this machine: the per-line alternatives to JSON.parse (a JavaScript scan,
// endpoints parsed once and reused, parsed records handed to another thread) and what a second thread adds.
import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { inOrder } from '../lib/parallel/pool.ts';
import { lineRanges } from '../lib/parallel/ranges.ts';
import { writeSynthFile } from '../test/fixtures/synth.ts';
import { fmtMs, machine, median, scratchDir, timeMedian } from './lib.ts';

const RECORDS = 120_000;
const SEED = 11;
/** Lines parsed in memory for the per-line rows: enough for steady state, small enough to hold parsed. */
const IN_MEMORY_LINES = 40_000;
const RUNS = 5;

const file = join(scratchDir, `analyze-${SEED}-${RECORDS}.jsonl`);
if (!existsSync(file)) {
  process.stderr.write(`parse-limits bench: generating ${file}\n`);
  await writeSynthFile(`${file}.tmp`, { count: RECORDS, seed: SEED });
  renameSync(`${file}.tmp`, file);
}
const size = statSync(file).size;

// --- per line, in memory -------------------------------------------------------------------------------------------

/** Whether a line is one JSON value, by a strict scan in JavaScript that builds nothing: the least a scanner does. */
function isJson(s: string): boolean {
  let i = 0;
  const n = s.length;
  const space = () => {
    for (let c = s.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = s.charCodeAt(++i));
  };
  const digits = () => {
    const from = i;
    for (let c = s.charCodeAt(i); c >= 0x30 && c <= 0x39; c = s.charCodeAt(++i));
    return i > from;
  };
  const string = (): boolean => {
    for (i++; i < n;) {
      const c = s.charCodeAt(i);
      if (c === 0x22) return ++i > 0;
      if (c === 0x5c) i += s.charCodeAt(i + 1) === 0x75 ? 6 : 2;
      else if (c < 0x20) return false;
      else i++;
    }
    return false;
  };
  const value = (): boolean => {
    space();
    const c = s.charCodeAt(i);
    if (c === 0x22) return string();
    if (c === 0x7b || c === 0x5b) {
      const object = c === 0x7b;
      i++;
      space();
      if (s.charCodeAt(i) === (object ? 0x7d : 0x5d)) return ++i > 0;
      for (;;) {
        if (object) {
          space();
          if (s.charCodeAt(i) !== 0x22 || !string()) return false;
          space();
          if (s.charCodeAt(i++) !== 0x3a) return false;
        }
        if (!value()) return false;
        space();
        const d = s.charCodeAt(i++);
        if (d === (object ? 0x7d : 0x5d)) return true;
        if (d !== 0x2c) return false;
      }
    }
    for (const word of ['true', 'false', 'null']) if (s.startsWith(word, i)) return (i += word.length) > 0;
    if (c === 0x2d) i++;
    if (!digits()) return false;
    if (s.charCodeAt(i) === 0x2e && (++i, !digits())) return false;
    const e = s.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      if (s.charCodeAt(i) === 0x2b || s.charCodeAt(i) === 0x2d) i++;
      if (!digits()) return false;
    }
    return true;
  };
  const ok = value();
  space();
  return ok && i === n;
}

/** The end of the object starting at `from` (after its closing brace), strings skipped; -1 if it does not end. */
function objectEnd(s: string, from: number): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < s.length && s.charCodeAt(i) !== 0x22; i++) if (s.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if ((c === 0x7d || c === 0x5d) && --depth === 0) return i + 1;
  }
  return -1;
}

/**
 * JSON.parse with the flow's two endpoints parsed once per distinct text: each endpoint's text is looked up among
 * those seen (by length, then by the text), replaced by a placeholder for JSON.parse, and its parsed object put back.
 */
function endpointInterning(): (line: string) => unknown {
  const seen = new Map<string, unknown>();
  const lengths: number[] = [];
  const find = (line: string, at: number): [text: string, value: unknown] | undefined => {
    for (const n of lengths) {
      if (line.charCodeAt(at + n - 1) !== 0x7d) continue;
      const text = line.slice(at, at + n);
      const value = seen.get(text);
      if (value !== undefined) return [text, value];
    }
    const end = objectEnd(line, at);
    if (end === -1) return undefined;
    const text = line.slice(at, end);
    const value: unknown = JSON.parse(text);
    seen.set(text, value);
    if (!lengths.includes(text.length)) lengths.push(text.length);
    return [text, value];
  };
  return (line) => {
    const s = line.indexOf('"source":{');
    const source = s === -1 ? undefined : find(line, s + 9);
    if (!source) return JSON.parse(line);
    const after = s + 9 + source[0].length;
    const d = after + 1;
    const destination = line.startsWith('"destination":{', d) ? find(line, d + 14) : undefined;
    if (!destination) return JSON.parse(line);
    const parsed = JSON.parse(`${line.slice(0, s + 9)}0,"destination":0${line.slice(d + 14 + destination[0].length)}`) as { flow: Record<string, unknown> };
    parsed.flow.source = source[1];
    parsed.flow.destination = destination[1];
    return parsed;
  };
}

/** The start of the file, enough for IN_MEMORY_LINES lines. */
function head(bytes: number): string {
  const buf = Buffer.allocUnsafe(Math.min(bytes, size));
  const fd = openSync(file, 'r');
  try {
    return buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, 0));
  } finally {
    closeSync(fd);
  }
}
const text = head(128 << 20);
let cut = 0;
for (let i = 0; i < IN_MEMORY_LINES && cut !== -1; i++) cut = text.indexOf('\n', cut + 1);
if (cut === -1) throw new Error(`parse-limits bench: fewer than ${IN_MEMORY_LINES} lines in the first 128 MiB of ${file}`);
// Flattened copies, so that no row pays for slicing the file's text.
const lines = text
  .slice(0, cut)
  .split('\n')
  .map((l) => JSON.parse(JSON.stringify(l)) as string);
const lineBytes = Buffer.byteLength(text.slice(0, cut));
const parsed = lines.map((l) => JSON.parse(l) as unknown);
const wire = serialize(parsed);
const interned = endpointInterning();
for (const l of lines) if (JSON.stringify(interned(l)) !== JSON.stringify(JSON.parse(l))) throw new Error('parse-limits bench: interning changed a record');
if (!lines.every(isJson)) throw new Error('parse-limits bench: the scan refused a line JSON.parse reads');

const perLine = {
  parse: (await timeMedian(() => lines.forEach((l) => JSON.parse(l)), RUNS)).medianMs,
  scan: (await timeMedian(() => lines.forEach(isJson), RUNS)).medianMs,
  interned: (await timeMedian(() => lines.forEach(interned), RUNS)).medianMs,
  deserialize: (await timeMedian(() => deserialize(wire), RUNS)).medianMs,
};

// --- one thread, two threads, two processes ------------------------------------------------------------------------

/** The bare loop over a byte range of the file: read 1 MiB at a time, split lines, JSON.parse each. */
const LOOP = `
const { openSync, readSync, closeSync } = require('node:fs');
const { StringDecoder } = require('node:string_decoder');
function loop(path, start, end) {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let n = 0;
  for (let pos = start; pos < end; ) {
    const got = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
    if (got === 0) break;
    pos += got;
    const text = carry + decoder.write(buf.subarray(0, got));
    let from = 0;
    for (let nl = text.indexOf('\\n'); nl !== -1; nl = text.indexOf('\\n', from)) {
      if (nl > from && JSON.parse(text.slice(from, nl))) n++;
      from = nl + 1;
    }
    carry = text.slice(from);
  }
  closeSync(fd);
  return n;
}`;

/** The bare loop on one worker thread per range; the slowest range's time, the workers' start left out. */
function loopOnThreads(ranges: [number, number][]): Promise<number> {
  return Promise.all(
    ranges.map(
      ([start, end]) =>
        new Promise<number>((resolve, reject) => {
          const script = `${LOOP}\nconst t0 = performance.now();\nloop(${JSON.stringify(file)}, ${start}, ${end});\nrequire('node:worker_threads').parentPort.postMessage(performance.now() - t0);`;
          const w = new Worker(script, { eval: true });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  ).then((times) => Math.max(...times));
}

/** The project's reader (readResponseBatches: parse and checks) the same way, on the pool's workers. */
async function readerOnThreads(ranges: [number, number][]): Promise<number> {
  const tasks = (async function* () {
    for (const [start, end] of ranges) yield { start, end };
  })();
  const times: number[] = [];
  const module = new URL('./parse-limits-worker.ts', import.meta.url);
  for await (const ms of inOrder<{ start: number; end: number }, number>(tasks, { module, setup: { path: file }, jobs: ranges.length, ahead: ranges.length }))
    times.push(ms);
  return Math.max(...times);
}

/** The same loop in processes of its own: what two cores give work that shares nothing. */
const loopScript = join(scratchDir, 'parse-limits-loop.cjs');
writeFileSync(loopScript, `${LOOP}\nloop(process.argv[2], Number(process.argv[3]), Number(process.argv[4]));\n`);

function onProcesses(ranges: [number, number][]): Promise<number> {
  const t0 = performance.now();
  return Promise.all(
    ranges.map(
      ([start, end]) =>
        new Promise<void>((resolve, reject) =>
          execFile(process.execPath, [loopScript, file, String(start), String(end)], (err) => (err ? reject(err) : resolve())),
        ),
    ),
  ).then(() => performance.now() - t0);
}

/** Runs the cases in turns (so that load from elsewhere falls on all alike) and returns each one's median. */
async function alternate<K extends string>(cases: Record<K, () => Promise<number>>): Promise<Record<K, number>> {
  const names = Object.keys(cases) as K[];
  const samples = new Map<K, number[]>(names.map((k) => [k, []]));
  for (let round = 0; round <= RUNS; round++) {
    for (const k of names) {
      const ms = await cases[k]();
      if (round > 0) samples.get(k)!.push(ms);
    }
  }
  return Object.fromEntries(names.map((k) => [k, median(samples.get(k)!)])) as Record<K, number>;
}

const whole: [number, number][] = [[0, size]];
// Cut at the first line boundary past the middle of the file.
const halves: [number, number][] = [];
for await (const range of lineRanges(file, Math.floor(size / 2) + 1)) halves.push([range.start, range.end]);
const t = await alternate({
  oneThread: () => loopOnThreads(whole),
  twoThreads: () => loopOnThreads(halves),
  oneReader: () => readerOnThreads(whole),
  twoReaders: () => readerOnThreads(halves),
  oneProcess: () => onProcesses(whole),
  twoProcesses: () => onProcesses(halves),
});

const x = (n: number) => `${n.toFixed(2)}×`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
process.stdout.write(
  [
    '## What bounds reading an export (bench/parse-limits.bench.ts)',
    '',
    `Input: the analyze bench's 1× export (${mib(size)}, test/fixtures/synth.ts seed ${SEED}). ${machine()}. Medians of`,
    `${RUNS} runs after a warm-up.`,
    '',
    `Per line, in memory (the first ${IN_MEMORY_LINES.toLocaleString('en-US')} lines, ${mib(lineBytes)}; time for all of them):`,
    '',
    '| what | median | × JSON.parse |',
    '| --- | ---: | ---: |',
    `| JSON.parse of each line (anchor) | ${fmtMs(perLine.parse)} | 1.00× |`,
    `| a strict JSON scan in JavaScript that builds nothing | ${fmtMs(perLine.scan)} | ${x(perLine.parse / perLine.scan)} |`,
    `| JSON.parse with the two endpoints parsed once per distinct text and reused | ${fmtMs(perLine.interned)} | ${x(perLine.parse / perLine.interned)} |`,
    `| the parsed records received from another thread (v8 deserialize, ${mib(wire.length)}) | ${fmtMs(perLine.deserialize)} | ${x(perLine.parse / perLine.deserialize)} |`,
    '',
    "The whole file, on one thread and on two (half each), in turns; on threads, the slower half's read time (the workers'",
    'start left out), in processes, the wall time of the processes:',
    '',
    '| what | one | two, half each | × one |',
    '| --- | ---: | ---: | ---: |',
    `| bare loop (1 MiB reads, split lines, JSON.parse each) on worker threads | ${fmtMs(t.oneThread)} | ${fmtMs(t.twoThreads)} | ${x(t.oneThread / t.twoThreads)} |`,
    `| the project's reader (readResponseBatches: JSON.parse and the checks) on worker threads | ${fmtMs(t.oneReader)} | ${fmtMs(t.twoReaders)} | ${x(t.oneReader / t.twoReaders)} |`,
    `| bare loop in processes of their own | ${fmtMs(t.oneProcess)} | ${fmtMs(t.twoProcesses)} | ${x(t.oneProcess / t.twoProcesses)} |`,
    '',
  ].join('\n'),
);
