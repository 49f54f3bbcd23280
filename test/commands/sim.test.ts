// `hubble-lab sim start`: runs in the foreground, prints how to use it, serves kubectl's kubeconfig, stops cleanly on abort.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { execFileSync, spawn } from 'node:child_process';
import { access, chmod, mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { main } from '../../lib/cli.ts';
import { captureIO } from '../fixtures/cli-io.ts';

function io(signal: AbortSignal) {
  return captureIO({ stdin: new PassThrough(), signal });
}

t.test('starts, serves the kubeconfig it prints, and stops on the signal removing it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sim-cmd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'kubeconfig');
  const ctl = new AbortController();
  const o = io(ctl.signal);
  const done = main(['sim', 'start', '--nodes', '2', '--kubeconfig', path], o.io);
  for (let i = 0; i < 400 && !o.out().includes('Press Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 25));
  t.match(o.out(), `kubectl --kubeconfig ${path} get pods -A`);
  t.match(o.out(), /cluster running at https:\/\/127\.0\.0\.1:\d+ \(2 nodes, context hubble-lab-sim\)/);
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  t.equal(kc.getCurrentContext(), 'hubble-lab-sim');
  const core = kc.makeApiClient(CoreV1Api);
  const nodes = await core.listNode();
  t.same(nodes.items.map((n) => n.metadata?.name), ['sim-control-plane', 'sim-worker']);
  for (let i = 0; i < 400; i++) {
    const pods = (await core.listNamespacedPod({ namespace: 'kube-system' })).items;
    if (pods.length && pods.every((p) => p.status?.phase === 'Running')) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  ctl.abort();
  t.equal(await done, 0);
  t.match(o.out(), /stopped\n$/);
  await t.rejects(access(path), 'the kubeconfig is gone');
});

t.test('bad usage and a taken port fail with exit 2 and a clear message', async (t) => {
  const cases: [string[], RegExp][] = [
    [['sim'], /sim needs a subcommand/],
    [['sim', 'stop'], /unknown sim subcommand "stop"/],
    [['sim', 'start', '--nodes', '0'], /--nodes must be between 1 and 200, not 0/],
    [['sim', 'start', '--port', '70000'], /--port must be a port number, not 70000/],
  ];
  for (const [argv, message] of cases) {
    const o = io(new AbortController().signal);
    t.equal(await main(argv, o.io), 2, argv.join(' '));
    t.match(o.err(), message);
  }
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const o = io(new AbortController().signal);
  t.equal(await main(['sim', 'start', '--port', String(port)], o.io), 2);
  t.match(o.err(), `port ${port} on 127.0.0.1 is already in use`);
});

/** uid and gid of `nobody`, when this test runs as root and can start processes as that user. */
function nobodyIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    return { uid: Number(execFileSync('id', ['-u', 'nobody']).toString()), gid: Number(execFileSync('id', ['-g', 'nobody']).toString()) };
  } catch {
    return undefined;
  }
}

const nobody = nobodyIds();

t.test('an unprivileged user runs the sim and Ctrl-C leaves no process behind', { skip: nobody ? false : 'needs root to start the sim as nobody (an unprivileged run is what the tests above already do)' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sim-nobody-'));
  await chmod(dir, 0o777);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'kubeconfig');
  const bin = fileURLToPath(new URL('../../bin/hubble-lab.mjs', import.meta.url));
  // `env -i`: the sim starts with a clean environment, free of the test runner's Node options.
  const child = spawn('env', ['-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, `HOME=${dir}`, process.execPath, bin, 'sim', 'start', '--nodes', '1', '--kubeconfig', path], {
    cwd: dir,
    uid: nobody!.uid,
    gid: nobody!.gid,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  for (let i = 0; i < 1200 && !out.includes('Press Ctrl-C') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
  t.match(out, 'Press Ctrl-C', out);
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  const core = kc.makeApiClient(CoreV1Api);
  let running = 0;
  for (let i = 0; i < 400 && running < 4; i++) {
    running = (await core.listNamespacedPod({ namespace: 'kube-system' })).items.filter((p) => p.status?.phase === 'Running').length;
    if (running < 4) await new Promise((r) => setTimeout(r, 25));
  }
  t.equal(running, 4, 'cilium, cilium-operator and two coredns pods run');
  const processes = () => {
    try {
      return execFileSync('pgrep', ['-u', 'nobody', '-f', bin]).toString().trim();
    } catch {
      return '';
    }
  };
  t.equal(processes(), String(child.pid), 'the sim runs as nobody');
  child.kill('SIGINT');
  t.equal(await exited, 0);
  t.match(out, /stopped\n$/);
  t.equal(processes(), '', 'no process of the sim is left');
});
