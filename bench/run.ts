// Runs every bench/*.bench.ts in its own process, one after another, and writes bench/RESULTS.md.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { benchDir, machine } from './lib.ts';

const only = process.argv.slice(2);
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const sections: string[] = [];
for (const file of files) {
  process.stderr.write(`bench: ${file}\n`);
  const out = execFileSync(process.execPath, [join(benchDir, '..', 'bin', 'run-ts.mjs'), join(benchDir, file)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  process.stdout.write(out);
  sections.push(out.trim());
}

if (only.length === 0) {
  const header = [
    '# Benchmark results',
    '',
    `- Machine: ${machine()}`,
    `- Date: ${new Date().toISOString()}`,
    '- Command: `npm run bench` (each benchmark in its own process; times are medians of several runs after a warm-up,',
    '  and each ratio is against the anchor measured in the same run)',
    '',
  ].join('\n');
  writeFileSync(join(benchDir, 'RESULTS.md'), `${header}\n${sections.join('\n\n')}\n`);
  process.stderr.write('bench: wrote bench/RESULTS.md\n');
}
