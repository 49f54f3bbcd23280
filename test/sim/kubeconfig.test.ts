// The sim's kubeconfig holds its token: it is only ever readable by its owner, even when it replaces a 0644 file.
import t from 'tap';
import { mkdtemp, readdir, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { raw } from './helpers.ts';
import { trivialRuntime } from './trivial-runtime.ts';

t.test('an existing 0644 kubeconfig ends up 0600, written whole through a rename', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hubble-lab-kc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'sim.kubeconfig');
  await writeFile(path, '');
  await chmod(path, 0o644);
  const before = await stat(path);
  const c = await startSimCluster({ runtime: trivialRuntime(), kubeconfigPath: path });
  t.teardown(() => c.stop());
  const after = await stat(path);
  t.equal(after.mode & 0o777, 0o600, 'only the owner may read the token');
  t.not(after.ino, before.ino, 'a new file replaced the old one, rather than the token going into a readable file');
  t.match(await readFile(path, 'utf8'), `token: ${c.token}`);
  t.same(await readdir(dir), ['sim.kubeconfig'], 'no temporary file is left behind');
});

t.test('a fresh kubeconfig is 0600 too, and a near-miss token is refused', async (t) => {
  const c = await startSimCluster({ runtime: trivialRuntime() });
  t.teardown(() => c.stop());
  t.equal((await stat(c.kubeconfigPath)).mode & 0o777, 0o600);
  t.equal((await raw(c, 'GET', '/version')).status, 200);
  for (const token of [c.token.slice(0, -1), `${c.token}0`, c.token.replace(/.$/, (ch) => (ch === 'a' ? 'b' : 'a')), '']) {
    t.equal((await raw(c, 'GET', '/version', { token })).status, 401);
  }
});
