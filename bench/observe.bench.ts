// `hubble-lab observe --input-file F -o jsonpb` with realistic filters, against a bare JSON.parse-per-line loop over F.
import { createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { main } from '../lib/cli.ts';
import { DEMO_NAMESPACE, writeSynthFile } from '../test/fixtures/synth.ts';
import { fmtMs, median, scratchDir } from './lib.ts';

const RECORDS = 40_000;
const file = join(scratchDir, 'observe-flows.json');
await writeSynthFile(file, { count: RECORDS, seed: 3 });
const mb = statSync(file).size / 2 ** 20;

/** The anchor: read the file in chunks, split lines, JSON.parse each. */
async function bareLoop(): Promise<number> {
  let n = 0;
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 })) {
    const text = rest + (chunk as string);
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      if (nl > start) {
        JSON.parse(text.slice(start, nl));
        n++;
      }
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    rest = text.slice(start);
  }
  if (rest.length > 0) {
    JSON.parse(rest);
    n++;
  }
  return n;
}

async function observe(args: string[]): Promise<number> {
  let bytes = 0;
  const sink = () =>
    new Writable({
      write(chunk: Buffer | string, _enc, done) {
        bytes += chunk.length;
        done();
      },
    });
  const code = await main(['observe', '--input-file', file, '-o', 'jsonpb', ...args], {
    stdin: Readable.from([]),
    stdout: sink(),
    stderr: sink(),
    env: {},
    signal: new AbortController().signal,
  });
  if (code !== 0) throw new Error(`observe ${args.join(' ')} exited ${code}`);
  return bytes;
}

/** One timed run: wall and CPU milliseconds (CPU time is steadier when other work shares the machine). */
async function timeOnce(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  await fn();
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpuStart);
  return { wall, cpu: (used.user + used.system) / 1000 };
}

/**
 * Each case runs in turns with the anchor (anchor, case, anchor, case …), so both see the same load; the ratio
 * reported is the median of the per-turn ratios.
 */
async function paired(fn: () => Promise<unknown>, turns: number) {
  await bareLoop();
  await fn();
  const anchor: { wall: number; cpu: number }[] = [];
  const mine: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < turns; i++) {
    anchor.push(await timeOnce(bareLoop));
    mine.push(await timeOnce(fn));
  }
  return {
    anchorWall: median(anchor.map((a) => a.wall)),
    wall: median(mine.map((m) => m.wall)),
    cpu: median(mine.map((m) => m.cpu)),
    wallRatio: median(mine.map((m, i) => m.wall / anchor[i]!.wall)),
    cpuRatio: median(mine.map((m, i) => m.cpu / anchor[i]!.cpu)),
  };
}

const runs = 5;
const cases: [string, string[]][] = [
  [`--namespace ${DEMO_NAMESPACE} --protocol http`, ['--namespace', DEMO_NAMESPACE, '--protocol', 'http']],
  ['--verdict DROPPED', ['--verdict', 'DROPPED']],
  ['--verdict DENIED --to-label app=agent-coordinator', ['--verdict', 'DENIED', '--to-label', 'app=agent-coordinator']],
  ['(no filter: every record printed)', []],
];
const rows: string[] = [];
const anchors: number[] = [];
for (const [label, args] of cases) {
  const printed = await observe(args);
  const r = await paired(() => observe(args), runs);
  anchors.push(r.anchorWall);
  rows.push(
    `| observe -o jsonpb ${label} (${(printed / 2 ** 20).toFixed(1)} MiB out) | ${fmtMs(r.wall)} | ${r.wallRatio.toFixed(2)}× | ${fmtMs(r.cpu)} | ${r.cpuRatio.toFixed(2)}× |`,
  );
}
rows.unshift(`| bare JSON.parse per line (anchor, median over all turns) | ${fmtMs(median(anchors))} | 1.00× | | 1.00× |`);

process.stdout.write(
  [
    '## observe: hubble-lab observe --input-file',
    '',
    `Input: ${RECORDS.toLocaleString('en')} synthetic records (${mb.toFixed(1)} MiB, test/fixtures/synth.ts). Each case alternates with the anchor for ${runs} turns after a warm-up;`,
    'ratios are medians of the per-turn ratios; in one process, stdout to a counting sink. Target: filtered runs within 1.4× of the bare loop. Reading',
    '(lib/hubble/codec/read.ts) and writing printed records (codec/write.ts: a canonical line is checked and reused) are part of the cost.',
    '',
    '| what | median wall | ratio | median CPU | ratio |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'),
);
