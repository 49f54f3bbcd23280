// A kubeconfig that is missing, or has no such context, is one line naming the file and where it came from
// (--kubeconfig, KUBECONFIG, the default ~/.kube/config) and exit 2: no stack trace. Real files, real processes.
import t from 'tap';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { concurrencyLimit, runNode } from '../fixtures/cli-process.ts';

const bin = fileURLToPath(new URL('../../bin/hubble-lab.mjs', import.meta.url));

// The runs of one test are independent of each other: they run side by side, a few at a time.
const slot = concurrencyLimit(4);
function cli(args: string[], env: NodeJS.ProcessEnv) {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete base.KUBECONFIG;
  return slot(() => runNode([bin, ...args], { ...base, ...env }, 60_000));
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
  const cmds = ['doctor', 'port-forward', 'teardown'];
  const [fromFlag, none, run, ...fromEnvs] = await Promise.all([
    cli(['doctor', '--kubeconfig', missing], {}),
    cli(['doctor'], { HOME: dir }),
    cli(['run', '--context', 'a', '--dry-run'], { KUBECONFIG: missing }),
    ...cmds.map((cmd) => cli([cmd], { KUBECONFIG: missing })),
  ]);
  for (const [i, cmd] of cmds.entries()) {
    const fromEnv = fromEnvs[i]!;
    t.equal(fromEnv.code, 2, `${cmd}: exit 2`);
    t.equal(
      fromEnv.stderr,
      `hubble-lab: kubeconfig ${missing} (from KUBECONFIG): no such file\n  hint: set KUBECONFIG to a kubeconfig file, or pass --kubeconfig\n`,
      `${cmd} with KUBECONFIG`,
    );
    t.equal(fromEnv.stdout, '');
  }
  t.equal(fromFlag.code, 2);
  t.equal(fromFlag.stderr, `hubble-lab: kubeconfig ${missing} (from --kubeconfig): no such file\n  hint: pass the path of a kubeconfig file\n`);
  t.equal(none.code, 2);
  t.equal(none.stderr.split('\n')[0], `hubble-lab: no kubeconfig: KUBECONFIG is not set and ${join(dir, '.kube', 'config')} does not exist`);
  t.equal(run.code, 2, 'run with a context reads KUBECONFIG the same way');
  t.match(run.stderr, `kubeconfig ${missing} (from KUBECONFIG): no such file`);
});

t.test('a context the kubeconfig does not have: which one, in which file, and the ones it has', async (t) => {
  const dir = t.testdir({ kubeconfig, '.kube': { config: kubeconfig } });
  const file = join(dir, 'kubeconfig');
  const expected = (where: string) => `hubble-lab: no context "nope" in ${where} (contexts: a, b)\n  hint: name one of its contexts with --context\n`;
  const [fromFlag, fromEnv, fromHome] = await Promise.all([
    cli(['doctor', '--kubeconfig', file, '--context', 'nope'], {}),
    cli(['teardown', '--context', 'nope'], { KUBECONFIG: file }),
    cli(['port-forward', '--context', 'nope'], { HOME: dir }),
  ]);
  t.equal(fromFlag.code, 2);
  t.equal(fromFlag.stderr, expected(file));
  t.equal(fromEnv.code, 2);
  t.equal(fromEnv.stderr, expected(file));
  t.equal(fromHome.code, 2);
  t.equal(fromHome.stderr, expected(join(dir, '.kube', 'config')));
});
