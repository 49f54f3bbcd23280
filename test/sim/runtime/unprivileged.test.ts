// The sim as an ordinary user: pods serve port 80, resolve names and reach each other without any privilege.
// Root hides mistakes (it may bind port 80 itself), so when the tests run as root the scenario runs as nobody.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkoutForNobody } from '../../fixtures/nobody.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const uid = process.getuid?.();

if (uid === undefined) {
  t.plan(0, 'no POSIX user ids on this platform');
} else {
  const asNobody = uid === 0;
  t.test(`pods run and talk as ${asNobody ? 'nobody (switched from root)' : `the current user (uid ${uid})`}`, async (t) => {
    // env -i: a clean environment, without the test runner's instrumentation (which writes where nobody cannot).
    const env = [`PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, 'HOME=/tmp', `TMPDIR=${process.env.TMPDIR ?? '/tmp'}`];
    const base = asNobody ? await checkoutForNobody(t, { uid: 65534, gid: 65534 }) : root;
    const run = spawnSync('/usr/bin/env', ['-i', ...env, process.execPath, `${base}bin/run-ts.mjs`, `${base}test/sim/runtime/unprivileged-scenario.ts`], {
      cwd: '/',
      encoding: 'utf8',
      timeout: 60_000,
      ...(asNobody ? { uid: 65534, gid: 65534 } : {}),
    });
    t.equal(run.status, 0, `scenario exited 0; stderr:\n${run.stderr}`);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
    const expectedUid = asNobody ? 65534 : uid;
    t.equal(result.uid, expectedUid, 'the sim ran unprivileged');
    t.equal(result.exitCode, 0);
    t.same(
      result.logs,
      [`http://api/ 200 uid ${expectedUid} port 80`, 'http://nginx/ 200 nginx/1.27.5'],
      'a pod listening on port 80 is reached by name; nginx too',
    );
  });
}
