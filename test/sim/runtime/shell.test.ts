// The shell a sim container runs commands with: && || ; lists, redirections into the container's own files, the
// files every image has (/tmp, /etc/resolv.conf), and what it refuses with sh's messages.
import t from 'tap';
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { createPodRuntime } from '../../../lib/sim/runtime/index.ts';
import { FakeCluster, podSpec, waitForStatus } from './helpers.ts';

const rt = await createPodRuntime({ shutdownGraceMs: 200 });
t.teardown(() => rt.shutdown());
const pod = rt.start(
  podSpec('shell', '127.244.1.42', { containers: [{ name: 'c', image: 'busybox:1.36', command: ['sleep', 'infinity'] }] }, { namespace: 'lab' }),
  new FakeCluster(),
);
await waitForStatus(pod, (s) => s.every((c) => c.state.state === 'running'));

async function sh(script: string, stdin?: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const input = stdin === undefined ? undefined : PassThrough.from([stdin]);
  const code = await pod.exec!(undefined, ['sh', '-c', script], { stdout, stderr, ...(input ? { stdin: input } : {}) });
  return { code, out, err };
}

t.test("redirections write the container's files; 2>&1, >&2 and /dev/null join or drop streams", async (t) => {
  const r = await sh('echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f; echo to-err >&2; cat /nope 2>/dev/null || echo quiet; cat /nope 2>&1');
  t.same(r, { code: 1, out: "one\ntwo\nquiet\ncat: can't open '/nope': No such file or directory\n", err: 'to-err\n' });
  const missingDir = await sh('echo x > /no/such/dir/f');
  t.same([missingDir.code, missingDir.err], [1, "sh: can't create /no/such/dir/f: nonexistent directory\n"]);
  // The machine's /tmp, which the container has too (not tmpdir(): a test run points that elsewhere).
  const escape = `/tmp/hubble-lab-shell-escape-${process.pid}`;
  const climb = await sh(`echo out > ../../../../../../../..${escape}; cat ${escape}`);
  t.same([climb.code, climb.out], [0, 'out\n'], "a path climbing out lands in the container's own /tmp");
  t.notOk(existsSync(escape), 'nothing written on the machine');
});

t.test('the files every image has', async (t) => {
  const r = await sh('cat /etc/resolv.conf /etc/hostname');
  t.same([r.code, r.out], [0, 'search lab.svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.96.0.10\noptions ndots:5\nshell\n']);
});

t.test('lists, stdin and what the shell does not emulate', async (t) => {
  t.same(await sh('false && echo no || echo yes; true; echo $HOSTNAME'), { code: 0, out: 'yes\nshell\n', err: '' });
  t.same((await sh('cat', 'from stdin\n')).out, 'from stdin\n');
  const pipe = await sh('echo a | cat');
  t.equal(pipe.code, 2);
  t.match(pipe.err, /pipes, input redirections, subshells and background jobs are not emulated/);
  t.same(await sh('echo >'), { code: 2, out: '', err: 'sh: syntax error: unexpected end of file\n' });
  t.same(await sh('nosuch --flag'), { code: 127, out: '', err: 'sh: nosuch: not found\n' });
});
