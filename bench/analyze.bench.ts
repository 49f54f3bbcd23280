// hubble-lab analyze: speed against the bare JSON.parse loop and the lab guide's jq dependency map, and peak RSS at 1× and 4× input.
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { main } from '../lib/cli.ts';
import { writeSynthFile } from '../test/fixtures/synth.ts';
import { benchDir, fmtMs, machine, median, scratchDir } from './lib.ts';

/** Large enough that the process reaches its steady state (V8 grows its young generation during the first ~100k records). */
const ONE_X = 120_000;
const SEED = 11;
const RUNS = 5;
const JQ_RUNS = 3;

/** The lab guide's service dependency map, verbatim (it counts every reply as a reverse edge). */
const JQ_MAP =
  'select(.flow.source.labels and .flow.destination.labels) | (.flow.source.labels[] | select(startswith("k8s:app=")) | split("=")[1]) as $src | (.flow.destination.labels[] | select(startswith("k8s:app=")) | split("=")[1]) as $dst | "\\($src) -> \\($dst)"';

async function input(records: number): Promise<string> {
  const path = join(scratchDir, `analyze-${SEED}-${records}.jsonl`);
  if (!existsSync(path)) {
    process.stderr.write(`analyze bench: generating ${path}\n`);
    await writeSynthFile(`${path}.tmp`, { count: records, seed: SEED });
    renameSync(`${path}.tmp`, path);
  }
  return path;
}

const file1x = await input(ONE_X);
const file4x = await input(4 * ONE_X);
const bytes1x = statSync(file1x).size;
const bytes4x = statSync(file4x).size;
const outDir = join(scratchDir, 'analyze-reports');

/** The anchor: the least any reader of the file must do — read chunks (fs default 64 KiB), split lines, JSON.parse each. */
async function bareParseLoop(): Promise<number> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let flows = 0;
  for await (const chunk of createReadStream(file1x)) {
    const text = carry + decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      if (nl > start && JSON.parse(text.slice(start, nl)).flow) flows++;
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  return flows;
}

/** The whole command in this process: read, filter-free analysis, compliance, and the three report files. */
async function analyzeCommand(): Promise<number> {
  const sink = () => new PassThrough().resume();
  const code = await main(['analyze', '--input', file1x, '--out', outDir], {
    stdin: Readable.from([]),
    stdout: sink(),
    stderr: sink(),
    env: {},
    signal: new AbortController().signal,
  });
  if (code !== 0 && code !== 1 && code !== 3) throw new Error(`analyze bench: analyze exited ${code}`);
  return code;
}

interface Sample {
  wall: number;
  cpu: number;
}

/** Alternates the two so that load from other processes on a shared machine falls on both alike. */
async function alternate(a: () => Promise<unknown>, b: () => Promise<unknown>, runs: number): Promise<[Sample, Sample]> {
  const walls: [number[], number[]] = [[], []];
  const cpus: [number[], number[]] = [[], []];
  for (let round = 0; round <= runs; round++) {
    for (const [i, fn] of [a, b].entries()) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      if (round === 0) continue; // warm-up
      walls[i]!.push(wall);
      cpus[i]!.push((cpu.user + cpu.system) / 1000);
    }
  }
  return [0, 1].map((i) => ({ wall: median(walls[i]!), cpu: median(cpus[i]!) })) as [Sample, Sample];
}

/** The jq pipeline through bash; CPU from GNU time when present (it includes jq, sort and uniq). */
function jqOnce(): Sample {
  const script = `jq -r '${JQ_MAP}' '${file1x}' | sort | uniq -c | sort -nr > /dev/null`;
  const timeFile = join(scratchDir, 'analyze-jq-time.txt');
  const gnuTime = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = gnuTime
    ? spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, 'bash', '-c', script], { stdio: 'inherit' })
    : spawnSync('bash', ['-c', script], { stdio: 'inherit' });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`analyze bench: the jq pipeline failed (${r.status})`);
  const cpu = gnuTime
    ? readFileSync(timeFile, 'utf8')
        .trim()
        .split(/\s+/)
        .slice(-2)
        .reduce((s, v) => s + Number(v) * 1000, 0)
    : Number.NaN;
  return { wall, cpu };
}

/** Peak RSS of `hubble-lab analyze` in its own process, as a user runs it. */
function peakRss(file: string): number {
  const rssFile = join(scratchDir, 'analyze-rss.txt');
  rmSync(rssFile, { force: true });
  const hook = `data:text/javascript,import {writeFileSync} from "node:fs"; process.on("exit", () => writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)));`;
  execFileSync(
    process.execPath,
    ['--import', hook, join(benchDir, '..', 'bin', 'hubble-lab.mjs'), 'analyze', '--input', file, '--out', outDir, '--gate', 'off'],
    { stdio: 'ignore' },
  );
  return Number(readFileSync(rssFile, 'utf8')) * 1024;
}

mkdirSync(outDir, { recursive: true });
const [bare, analyze] = await alternate(bareParseLoop, analyzeCommand, RUNS);
const jqSamples = Array.from({ length: JQ_RUNS }, jqOnce);
const jq = { wall: median(jqSamples.map((s) => s.wall)), cpu: median(jqSamples.map((s) => s.cpu)) };
const rss1 = median([peakRss(file1x), peakRss(file1x), peakRss(file1x)]);
const rss4 = median([peakRss(file4x), peakRss(file4x), peakRss(file4x)]);

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const speed = (ms: number) => `${(bytes1x / 2 ** 20 / (ms / 1000)).toFixed(0)} MiB/s`;
const x = (n: number) => `${n.toFixed(2)}×`;
const cpuText = (ms: number) => (Number.isNaN(ms) ? '–' : fmtMs(ms));

const lines = [
  '## analyze (bench/analyze.bench.ts)',
  '',
  `Input: a generated Hubble export (test/fixtures/synth.ts, seed ${SEED}) in bench/out/: 1× = ${ONE_X.toLocaleString('en-US')} records (${mib(bytes1x)}),`,
  `4× = ${(4 * ONE_X).toLocaleString('en-US')} records (${mib(bytes4x)}). analyze runs the whole command (read, analyse, gate, write report.md,`,
  'report.json and junit.xml) in this process, alternating with the anchor; medians of',
  `${RUNS} turns after a warm-up, jq ${JQ_RUNS} runs. Speed ratio = anchor time / time. CPU = user + system time (for jq: jq, sort`,
  `and uniq together), which is what the work costs when the machine is shared. ${machine()}.`,
  '',
  '| what | median wall | median CPU | speed vs anchor (wall) | speed vs anchor (CPU) | throughput |',
  '| --- | ---: | ---: | ---: | ---: | --- |',
  `| bare JSON.parse loop over the 1× file (anchor) | ${fmtMs(bare.wall)} | ${fmtMs(bare.cpu)} | 1.00× | 1.00× | ${speed(bare.wall)} |`,
  `| hubble-lab analyze, 1× file (target ≥ 0.70×) | ${fmtMs(analyze.wall)} | ${fmtMs(analyze.cpu)} | ${x(bare.wall / analyze.wall)} | ${x(bare.cpu / analyze.cpu)} | ${speed(analyze.wall)} |`,
  `| lab guide's jq dependency map \\| sort \\| uniq -c \\| sort -nr, 1× file | ${fmtMs(jq.wall)} | ${cpuText(jq.cpu)} | ${x(bare.wall / jq.wall)} | ${Number.isNaN(jq.cpu) ? '–' : x(bare.cpu / jq.cpu)} | ${speed(jq.wall)} |`,
  '',
  `analyze is ${x(jq.wall / analyze.wall)} faster than the jq map by wall time${Number.isNaN(jq.cpu) ? '' : ` and ${x(jq.cpu / analyze.cpu)} by CPU time`} (target ≥ 2.5×), and computes`,
  'edges client → server (replies folded back), HTTP, DNS, TCP, drops, latency, the timeline and the verdict instead of label pairs.',
  '',
  '| peak RSS of `hubble-lab analyze` (own process) | 1× | 4× | 4× / 1× |',
  '| --- | ---: | ---: | ---: |',
  `| maxRSS (target ≤ 250 MB, 4×/1× ≤ 1.15) | ${mib(rss1)} | ${mib(rss4)} | ${(rss4 / rss1).toFixed(2)} |`,
];
process.stdout.write(`${lines.join('\n')}\n`);
