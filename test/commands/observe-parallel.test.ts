// `observe --input-file` on a large plain file reads it on worker threads: what it prints, on stdout and stderr,
// and its exit code are exactly those of a read on one thread.
import t from 'tap';
import { appendFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runHubbleLab } from '../fixtures/cli-process.ts';
import { writeSynthFile } from '../fixtures/synth.ts';
import { fileTempDir } from '../fixtures/temp-dir.ts';

const dir = fileTempDir('observe-parallel-');
const path = join(dir, 'flows.jsonl');
// With --jobs 2 a plain file of two 4 MiB ranges or more is read on threads; junk lines make the malformed-line
// report span ranges.
await writeSynthFile(path, { count: 6_000, seed: 7, junkEvery: 997, unknownFields: true });
appendFileSync(path, '{"flow":{"time":"2025-03-14T10:00:00Z","verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED"}}'); // no final newline
t.ok(statSync(path).size > 8 << 20, `${statSync(path).size} bytes`);

const cases: string[][] = [
  ['-o', 'jsonpb'],
  ['-o', 'compact', '--color', 'always', '--print-node-name', '--not', '--protocol', 'dns'],
  ['-o', 'jsonpb', '--verdict', 'DROPPED'],
  ['-o', 'json', '--since', '2025-03-14T09:27:30Z', '--until', '2025-03-14T09:28:30Z', '--namespace', 'genai-network-demo'],
];

for (const flags of cases) {
  t.test(`observe ${flags.join(' ')}: two threads print what one prints`, async (t) => {
    const [one, two] = await Promise.all([
      runHubbleLab(['observe', '--input-file', path, '--jobs', '1', ...flags]),
      runHubbleLab(['observe', '--input-file', path, '--jobs', '2', ...flags]),
    ]);
    t.equal(one.code, 3, 'the junk lines make the read incomplete');
    t.ok(one.stdout.length > 0, `${one.stdout.length} characters printed`);
    t.equal(two.code, one.code);
    t.ok(two.stdout === one.stdout, 'stdout is byte for byte the same');
    t.equal(two.stderr, one.stderr, 'the malformed lines are told with the same line numbers');
  });
}

t.test('--jobs with a bad value is a usage error', async (t) => {
  const res = await runHubbleLab(['observe', '--input-file', path, '--jobs', 'many']);
  t.equal(res.code, 2);
  t.match(res.stderr, /--jobs needs a whole number from 1 to 64, not "many"/);
});
