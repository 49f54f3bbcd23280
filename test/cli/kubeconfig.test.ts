// A kubeconfig that is missing, or has no such context, is one line naming the file and where it came from
// (--kubeconfig, KUBECONFIG, the default ~/.kube/config) and exit 2: no stack trace. Real files, real processes.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const bin = fileURLToPath(new URL('../../bin/hubble-lab.mjs', import.meta.url));

function cli(args: string[], env: NodeJS.ProcessEnv) {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete base.KUBECONFIG;
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...base, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const kubeconfig = stringify({
  apiVersion: 'v1',
  kind: 'Config',
  'current-context': 'a',
  clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
  users: [{ name: 'u', user: { token: 'x' } }],
  contexts: [
    { name: 'a', context: { cluster: 'c', user: 'u' } },
    { name: 'b', context: { cluster: 'c', user: 'u' } },
  ],
});

t.test('a missing kubeconfig names the file and where it came from', async (t) => {
  const dir = t.testdir({});
  const missing = join(dir, 'nonexistent');
  for (const cmd of ['doctor', 'port-forward', 'teardown']) {
    const fromEnv = cli([cmd], { KUBECONFIG: missing });
    t.equal(fromEnv.code, 2, `${cmd}: exit 2`);
    t.equal(
      fromEnv.stderr,
      `hubble-lab: kubeconfig ${missing} (from KUBECONFIG): no such file\n  hint: set KUBECONFIG to a kubeconfig file, or pass --kubeconfig\n`,
      `${cmd} with KUBECONFIG`,
    );
    t.equal(fromEnv.stdout, '');
  }
  const fromFlag = cli(['doctor', '--kubeconfig', missing], {});
  t.equal(fromFlag.code, 2);
  t.equal(fromFlag.stderr, `hubble-lab: kubeconfig ${missing} (from --kubeconfig): no such file\n  hint: pass the path of a kubeconfig file\n`);
  const none = cli(['doctor'], { HOME: dir });
  t.equal(none.code, 2);
  t.equal(none.stderr.split('\n')[0], `hubble-lab: no kubeconfig: KUBECONFIG is not set and ${join(dir, '.kube', 'config')} does not exist`);
  const run = cli(['run', '--context', 'a', '--dry-run'], { KUBECONFIG: missing });
  t.equal(run.code, 2, 'run with a context reads KUBECONFIG the same way');
  t.match(run.stderr, `kubeconfig ${missing} (from KUBECONFIG): no such file`);
});

t.test('a context the kubeconfig does not have: which one, in which file, and the ones it has', async (t) => {
  const dir = t.testdir({ kubeconfig, '.kube': { config: kubeconfig } });
  const file = join(dir, 'kubeconfig');
  const expected = (where: string) => `hubble-lab: no context "nope" in ${where} (contexts: a, b)\n  hint: name one of its contexts with --context\n`;
  const fromFlag = cli(['doctor', '--kubeconfig', file, '--context', 'nope'], {});
  t.equal(fromFlag.code, 2);
  t.equal(fromFlag.stderr, expected(file));
  const fromEnv = cli(['teardown', '--context', 'nope'], { KUBECONFIG: file });
  t.equal(fromEnv.code, 2);
  t.equal(fromEnv.stderr, expected(file));
  const fromHome = cli(['port-forward', '--context', 'nope'], { HOME: dir });
  t.equal(fromHome.code, 2);
  t.equal(fromHome.stderr, expected(join(dir, '.kube', 'config')));
});
