// Output that cannot be written ends a command with one clean line on stderr and exit 2: a report folder that
// cannot be made (a file in the way, a file system that refuses, /proc), and a standard output on a full disk.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { makeOutDir } from '../../lib/report/write.ts';
import { hubbleLabBin, runHubbleLab } from '../fixtures/cli-process.ts';
import { flowMix } from '../fixtures/flow-mix.ts';

const flows = flowMix(60, { seed: 51 })
  .map((r) => JSON.stringify(r))
  .join('\n');

/** The command's stderr holds exactly this one line, and no stack trace. */
function oneLine(t: Test, stderr: string, want: string | RegExp): void {
  const lines = stderr.split('\n').filter((l) => l !== '');
  t.equal(lines.length, 1, `one line: ${JSON.stringify(stderr)}`);
  t.match(lines[0], want);
  t.notMatch(stderr, /\n\s+at /, 'no stack trace');
}

t.test('analyze --out where no folder can be made', async (t) => {
  const dir = t.testdir({ 'flows.jsonl': flows, 'a-file': 'x' });
  const input = join(dir, 'flows.jsonl');
  const analyze = (out: string) => runHubbleLab(['analyze', '--input', input, '--out', out], 60_000);

  const under = await analyze(join(dir, 'a-file', 'reports'));
  t.equal(under.code, 2);
  oneLine(
    t,
    under.stderr,
    `hubble-lab: cannot create the report folder ${join(dir, 'a-file', 'reports')}: a part of the path is a file, not a folder (ENOTDIR)`,
  );

  const onFile = await analyze(join(dir, 'a-file'));
  t.equal(onFile.code, 2);
  oneLine(t, onFile.stderr, `hubble-lab: cannot create the report folder ${join(dir, 'a-file')}: it is a file, not a folder`);

  // Node's recursive mkdir retries /proc/nope forever at 100% CPU; the child is killed (code -1) after 30 s.
  const proc = await runHubbleLab(['analyze', '--input', input, '--out', '/proc/nope/reports'], 30_000);
  t.equal(proc.code, 2);
  oneLine(t, proc.stderr, 'hubble-lab: cannot create the report folder /proc/nope/reports: no such file or folder (ENOENT)');

  const sys = await analyze('/sys/hubble-lab-reports');
  if (existsSync('/sys/kernel')) {
    t.equal(sys.code, 2);
    oneLine(
      t,
      sys.stderr,
      /^hubble-lab: cannot create the report folder \/sys\/hubble-lab-reports: (operation not permitted \(EPERM\)|permission denied \(EACCES\))$/,
    );
  }

  const fine = await analyze(join(dir, 'new', 'deeper', 'reports'));
  t.equal(fine.code, 1, `the reports are written where the folders can be made: ${fine.stderr}`);
  t.ok(existsSync(join(dir, 'new', 'deeper', 'reports', 'report.json')));
});

t.test('makeOutDir makes each missing level once and takes folders that exist', async (t) => {
  const dir = t.testdir({ 'a-file': 'x', existing: {} });
  makeOutDir(join(dir, 'existing'));
  makeOutDir(join(dir, 'one', 'two', 'three'));
  t.ok(existsSync(join(dir, 'one', 'two', 'three')));
  t.throws(() => makeOutDir(join(dir, 'a-file', 'x', 'y')), { name: 'OutputError', message: /a part of the path is a file, not a folder \(ENOTDIR\)$/ });
  t.throws(() => makeOutDir('/proc/nope'), { name: 'OutputError', message: 'cannot create the report folder /proc/nope: no such file or folder (ENOENT)' });
});

/** Runs the CLI with stdout on /dev/full. */
function runToFull(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const full = openSync('/dev/full', 'w');
    const child = spawn(process.execPath, [hubbleLabBin, ...args], { stdio: ['ignore', full, 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    closeSync(full);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stderr });
    });
  });
}

t.test('standard output on a full disk', { skip: existsSync('/dev/full') ? false : 'no /dev/full here' }, async (t) => {
  const dir = t.testdir({ 'flows.jsonl': flows });
  const input = join(dir, 'flows.jsonl');
  const want = 'hubble-lab: cannot write to standard output: no space left on the device (ENOSPC)';
  for (const args of [
    ['observe', '--input-file', input],
    ['observe', '--input-file', input, '-o', 'jsonpb'],
    ['analyze', '--input', input, '--out', join(dir, 'out')],
  ]) {
    const r = await runToFull(args);
    t.equal(r.code, 2, args.join(' '));
    oneLine(t, r.stderr, want);
  }
});

t.test('a system error no caller named is still one line, with what failed and where', async (t) => {
  const { formatError } = await import('../../lib/errors.ts');
  const { connect } = await import('node:net');
  const { readFileSync } = await import('node:fs');
  const refused = await new Promise<Error>((resolve) => connect(1, '127.0.0.1').on('error', resolve));
  t.equal(formatError(refused), 'connect 127.0.0.1:1 failed: connection refused (ECONNREFUSED)');
  const missing = (() => {
    try {
      readFileSync('/nonexistent/hubble-lab');
    } catch (err) {
      return err;
    }
  })();
  t.equal(formatError(missing), 'open /nonexistent/hubble-lab failed: no such file or folder (ENOENT)');
});
