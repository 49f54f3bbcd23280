// `hubble-lab sim start`: runs in the foreground, prints how to use it, serves kubectl's kubeconfig, stops cleanly on abort.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { main } from '../../lib/cli.ts';
import type { CommandIO } from '../../lib/command.ts';

function io(signal: AbortSignal) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const value: CommandIO = { stdin: new PassThrough(), stdout, stderr, env: {}, signal };
  return { io: value, out: () => out, err: () => err };
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
