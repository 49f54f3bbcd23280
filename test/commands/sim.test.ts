// `hubble-lab sim start`: runs in the foreground, prints how to use it, serves kubectl's kubeconfig, stops cleanly on abort.
import t from 'tap';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { execFileSync, spawn } from 'node:child_process';
import { access, chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { main } from '../../lib/cli.ts';
import { captureIO } from '../fixtures/cli-io.ts';
import { checkoutForNobody, nobodyIds } from '../fixtures/nobody.ts';

function io(signal: AbortSignal) {
  return captureIO({ stdin: new PassThrough(), signal });
}

/** Resolves once `output()` includes `text` (checked on each chunk `stream` gets); rejects if the process ends first. */
function printed(stream: Readable | Writable, output: () => string, text: string, ended: Promise<unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!output().includes(text)) return;
      stream.off('data', check);
      resolve();
    };
    stream.on('data', check);
    check();
    ended.then((code) => reject(new Error(`ended (${String(code)}) before printing "${text}":\n${output()}`)), reject);
  });
}

/** Polls `check` until it holds; past `timeoutMs` fails naming what it waited for. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

t.test('starts, serves the kubeconfig it prints, and stops on the signal removing it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sim-cmd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'kubeconfig');
  const ctl = new AbortController();
  const o = io(ctl.signal);
  const done = main(['sim', 'start', '--nodes', '2', '--kubeconfig', path], o.io);
  // Stopped even when an assertion below throws: a sim left serving would hold the test file open.
  t.teardown(async () => {
    ctl.abort();
    await done;
  });
  await printed(o.io.stdout, o.out, 'Press Ctrl-C', done);
  t.match(o.out(), `kubectl --kubeconfig ${path} get pods -A`);
  t.match(o.out(), /cluster running at https:\/\/127\.0\.0\.1:\d+ \(2 nodes, context hubble-lab-sim\)/);
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  t.equal(kc.getCurrentContext(), 'hubble-lab-sim');
  const core = kc.makeApiClient(CoreV1Api);
  const nodes = await core.listNode();
  t.same(
    nodes.items.map((n) => n.metadata?.name),
    ['sim-control-plane', 'sim-worker'],
  );
  await until('the kube-system pods running', async () => {
    const pods = (await core.listNamespacedPod({ namespace: 'kube-system' })).items;
    return pods.length > 0 && pods.every((p) => p.status?.phase === 'Running');
  });
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

const nobody = nobodyIds();

t.test(
  'an unprivileged user runs the sim and Ctrl-C leaves no process behind',
  { skip: nobody ? false : 'needs root to start the sim as nobody (an unprivileged run is what the tests above already do)' },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-nobody-'));
    await chmod(dir, 0o777);
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'kubeconfig');
    const bin = `${await checkoutForNobody(t, nobody!)}bin/hubble-lab.mjs`;
    // `env -i`: the sim starts with a clean environment, free of the test runner's Node options.
    const child = spawn(
      'env',
      ['-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, `HOME=${dir}`, process.execPath, bin, 'sim', 'start', '--nodes', '1', '--kubeconfig', path],
      {
        cwd: dir,
        uid: nobody!.uid,
        gid: nobody!.gid,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await printed(child.stdout, () => out, 'Press Ctrl-C', exited);
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    const core = kc.makeApiClient(CoreV1Api);
    let running = 0;
    await until('four kube-system pods running', async () => {
      running = (await core.listNamespacedPod({ namespace: 'kube-system' })).items.filter((p) => p.status?.phase === 'Running').length;
      return running >= 4;
    });
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
  },
);
