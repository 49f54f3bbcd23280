// hubble-lab's start: --version, --help and analyze of a 50-line export as whole processes, compiled (dist/) and from
// source (tsx), against `node -e 0`. In a copy of the tree built for the run, so edits elsewhere cannot make the
// compiled rows fall back to the sources halfway.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSynthFile } from '../test/fixtures/synth.ts';
import { benchDir, fmtMs, machine, median } from './lib.ts';

const RUNS = 7;
const repo = join(benchDir, '..');
const copy = mkdtempSync(join(tmpdir(), 'hubble-lab-startup-'));
process.on('exit', () => rmSync(copy, { recursive: true, force: true }));
for (const name of ['bin', 'lib', 'tasks', 'package.json', 'tsconfig.json']) cpSync(join(repo, name), join(copy, name), { recursive: true });
for (const name of ['node_modules', 'manifests', 'proto']) symlinkSync(join(repo, name), join(copy, name));
const build = spawnSync(process.execPath, [join(copy, 'bin/build.mjs')], { encoding: 'utf8' });
if (build.status !== 0) throw new Error(`startup bench: the build failed: ${build.stderr}`);
const flows = join(copy, 'flows-50.jsonl');
await writeSynthFile(flows, { count: 50, seed: 5 });

const bin = join(copy, 'bin/hubble-lab.mjs');
interface StartupCase {
  what: string;
  args: string[];
  /** The wall-time target, if the command has one. */
  target?: number;
  /** The exit code the run must end with (0 unless given). */
  exit?: number;
}
const cases: StartupCase[] = [
  { what: '`hubble-lab --version`', args: ['--version'], target: 150 },
  { what: '`hubble-lab --help`', args: ['--help'], target: 600 },
  { what: '`hubble-lab analyze --input` (50 lines)', args: ['analyze', '--input', flows, '--out', join(copy, 'out'), '--gate', 'off'], target: 300 },
  // A command that talks to a cluster loads client-node (bundled into dist/vendor/ by the build) before its first
  // request: here the kubeconfig is missing, so the time is the start and the message, exit 2.
  { what: '`hubble-lab doctor` (no kubeconfig)', args: ['doctor', '--kubeconfig', join(copy, 'no-such-kubeconfig')], exit: 2 },
];
interface Runner {
  name: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
  exit: number;
}
const runners: Runner[] = [
  { name: 'node -e 0', argv: ['-e', '0'], env: {}, exit: 0 },
  ...cases.flatMap((c) => [
    { name: `${c.what} compiled`, argv: [bin, ...c.args], env: {}, exit: c.exit ?? 0 },
    { name: `${c.what} from source`, argv: [bin, ...c.args], env: { HUBBLE_LAB_FROM_SOURCE: '1' }, exit: c.exit ?? 0 },
  ]),
];

/** Wall time of one whole process, and its CPU (user + system) from GNU time when present. */
const gnuTime = existsSync('/usr/bin/time');
const timeFile = join(copy, 'time.txt');
function once(r: Runner): { wall: number; cpu: number } {
  const argv = gnuTime ? ['-f', '%U %S', '-o', timeFile, process.execPath, ...r.argv] : r.argv;
  const t0 = performance.now();
  const p = spawnSync(gnuTime ? '/usr/bin/time' : process.execPath, argv, { stdio: 'ignore', env: { ...process.env, ...r.env } });
  const wall = performance.now() - t0;
  if (p.status !== r.exit) throw new Error(`startup bench: ${r.name} exited ${p.status}, not ${r.exit}`);
  const cpu = gnuTime
    ? readFileSync(timeFile, 'utf8')
        .trim()
        .split('\n')
        .pop()!
        .split(' ')
        .reduce((s, v) => s + Number(v) * 1000, 0)
    : Number.NaN;
  return { wall, cpu };
}

// Interleaved: load from other processes on a shared machine falls on every row alike. Round 0 is a warm-up.
const samples = new Map(runners.map((r) => [r.name, { wall: [] as number[], cpu: [] as number[] }]));
for (let round = 0; round <= RUNS; round++) {
  for (const r of runners) {
    const s = once(r);
    if (round === 0) continue;
    samples.get(r.name)!.wall.push(s.wall);
    samples.get(r.name)!.cpu.push(s.cpu);
  }
}
const wall = (name: string) => median(samples.get(name)!.wall);
const cpu = (name: string) => (gnuTime ? fmtMs(median(samples.get(name)!.cpu)) : '–');
const anchor = wall('node -e 0');

const lines = [
  '## Startup: whole hubble-lab processes (bench/startup.bench.ts)',
  '',
  `Each command as a user runs it (\`node bin/hubble-lab.mjs …\`), compiled (dist/, built by \`npm install\`) and from source`,
  `(tsx, what runs after an edit until the next build), against \`node -e 0\`; medians of ${RUNS} interleaved runs after a warm-up.`,
  `The analyze input is a generated 50-record export (test/fixtures/synth.ts). CPU = user + system. ${machine()}.`,
  '',
  '| command | median wall | median CPU | × node -e 0 | target |',
  '| --- | ---: | ---: | ---: | ---: |',
  `| node -e 0 (anchor) | ${fmtMs(anchor)} | ${cpu('node -e 0')} | 1.00× | |`,
  ...cases.flatMap((c) => [
    `| ${c.what}, compiled | ${fmtMs(wall(`${c.what} compiled`))} | ${cpu(`${c.what} compiled`)} | ${(wall(`${c.what} compiled`) / anchor).toFixed(2)}× | ${c.target === undefined ? '' : `≤ ${fmtMs(c.target)}`} |`,
    `| ${c.what}, from source | ${fmtMs(wall(`${c.what} from source`))} | ${cpu(`${c.what} from source`)} | ${(wall(`${c.what} from source`) / anchor).toFixed(2)}× | |`,
  ]),
];
process.stdout.write(`${lines.join('\n')}\n`);
