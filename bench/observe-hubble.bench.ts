// Whole processes, as a user runs them: `hubble-lab observe --input-file F` against the official hubble CLI reading
// the same file from stdin (`cat F | hubble observe`), with the same flags and byte-equal output.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, renameSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { findHubbleCli } from '../test/fixtures/hubble-cli.ts';
import { synthJsonpbLines } from '../test/fixtures/synth.ts';
import { fmtMs, median, scratchDir } from './lib.ts';

const hubble = findHubbleCli();
const bin = join(import.meta.dirname, '..', 'bin', 'hubble-lab.mjs');
const RECORDS = 60_000;
// The official CLI of this version rejects fields newer than Cilium 1.13, so the export has 1.13's; it prints no lost
// events and no SCTP ports (later CLIs and hubble-lab do), so the export has none of those either.
const file = join(scratchDir, `observe-hubble-113-${RECORDS}.jsonl`);
if (!existsSync(file)) {
  const out = createWriteStream(`${file}.tmp`);
  for (const line of synthJsonpbLines({ count: RECORDS, seed: 11, variant: 'cilium-1.13' })) {
    if (line.startsWith('{"lost_events"') || line.includes('"SCTP"')) continue;
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  renameSync(`${file}.tmp`, file);
}
const mib = statSync(file).size / 2 ** 20;
const env = { ...process.env, TZ: 'UTC', NO_COLOR: '1' };

interface Run {
  wallMs: number;
  bytes: number;
  sha256: string;
}

/** Runs a command to completion, with the file on stdin when asked, hashing its stdout. */
function run(cmd: string, args: string[], fileOnStdin: boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { env, stdio: [fileOnStdin ? 'pipe' : 'ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    const hash = createHash('sha256');
    child.stdout!.on('data', (d: Buffer) => {
      bytes += d.length;
      hash.update(d);
    });
    if (fileOnStdin)
      createReadStream(file)
        .pipe(child.stdin!)
        .on('error', () => {});
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`));
      else resolve({ wallMs: performance.now() - start, bytes, sha256: hash.digest('hex') });
    });
  });
}

const cases: { label: string; flags: string[]; target: number }[] = [
  { label: '--verdict DROPPED -o jsonpb', flags: ['--verdict', 'DROPPED', '-o', 'jsonpb'], target: 4 },
  { label: '-o compact (every flow)', flags: ['-o', 'compact', '--color', 'never'], target: 3 },
];
const turns = 5;
const rows: string[] = [];
if (!hubble.bin) {
  rows.push(`| (not measured: ${hubble.reason}) | | | | |`);
} else {
  for (const c of cases) {
    const variants = {
      hubble: () => run(hubble.bin!, ['observe', ...c.flags], true),
      'hubble-lab': () => run(process.execPath, [bin, 'observe', '--input-file', file, ...c.flags], false),
      'hubble-lab --jobs 2': () => run(process.execPath, [bin, 'observe', '--input-file', file, '--jobs', '2', ...c.flags], false),
    };
    const samples: Record<string, Run[]> = {};
    // A warm-up turn, then the variants in turns so that load from other processes falls on all of them alike.
    for (let turn = -1; turn < turns; turn++) {
      for (const [name, fn] of Object.entries(variants)) {
        const r = await fn();
        if (turn >= 0) (samples[name] ??= []).push(r);
      }
    }
    const ref = samples.hubble![0]!;
    for (const [name, runs] of Object.entries(samples)) {
      if (runs.some((r) => r.sha256 !== ref.sha256 || r.bytes !== ref.bytes)) throw new Error(`${name} ${c.label}: output differs from the hubble CLI's`);
    }
    for (const [name, runs] of Object.entries(samples)) {
      const ms = median(runs.map((r) => r.wallMs));
      const speedup = median(runs.map((r, i) => samples.hubble![i]!.wallMs / r.wallMs));
      const verdict = name === 'hubble-lab' ? (speedup >= c.target ? ` ✅ (target ≥ ${c.target}×)` : ` ❌ (target ≥ ${c.target}×)`) : '';
      rows.push(
        `| ${name === 'hubble' ? `cat F \\| hubble observe ${c.label} (anchor)` : `hubble-lab observe --input-file F ${name.slice('hubble-lab'.length).trim()} ${c.label}`.replace(/  +/g, ' ')} | ${fmtMs(ms)} | ${name === 'hubble' ? '1.00×' : `${speedup.toFixed(2)}×${verdict}`} | ${(ref.bytes / 2 ** 20).toFixed(1)} MiB |`,
      );
    }
  }
}

process.stdout.write(
  [
    '## observe against the official hubble CLI',
    '',
    `Input: ${RECORDS.toLocaleString('en')} synthetic records with Cilium 1.13's fields (${mib.toFixed(1)} MiB, test/fixtures/synth.ts). Whole`,
    `processes, stdout hashed; every run's output is checked byte-equal to the hubble CLI's (${hubble.bin ?? 'not found'}). The variants run in turns`,
    `after a warm-up turn, ${turns} turns; the speed-up is the median of the per-turn ratios hubble ÷ hubble-lab. TZ=UTC, no colour.`,
    '',
    '| what | median wall | speed-up vs hubble | output |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'),
);
