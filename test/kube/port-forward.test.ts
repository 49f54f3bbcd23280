// hubble-lab port-forward against the embedded cluster while its pod goes away: it follows the Service to the new
// Relay pod and says so, says when there is none (or no cluster) and retries with a growing wait, and stops on Ctrl-C.
import t from 'tap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { connectObserver } from '../../lib/hubble/client.ts';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { hubbleLabBin, runHubbleLab } from '../fixtures/cli-process.ts';
import { within } from '../fixtures/within.ts';

const run = promisify(execFile);

/** The child's stdout so far, and a wait for a line matching a pattern (from a given offset), bounded in time. */
function watchOutput(child: ChildProcess) {
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  return {
    get text() {
      return text;
    },
    async waitFor(re: RegExp, ms: number, from = 0): Promise<RegExpExecArray> {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(text.slice(from));
        if (m) return m;
        if (Date.now() > deadline) throw new Error(`no ${re} within ${ms} ms; output:\n${text}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

async function serverStatusWithin(address: string, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const client = await connectObserver(address, { dialTimeoutMs: 3000, requestTimeoutMs: 3000 });
      try {
        return (await client.serverStatus()).num_connected_nodes ?? 0;
      } finally {
        client.close();
      }
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw last;
}

t.test('port-forward follows hubble-relay to its new pod, says when there is none, and stops on Ctrl-C', async (t) => {
  const sim = await startSimCluster({});
  t.teardown(() => sim.stop());
  const kubectl = (...args: string[]) => run('/usr/bin/kubectl', ['--kubeconfig', sim.kubeconfigPath, '-n', 'kube-system', ...args], { timeout: 60_000 });
  const setup = await runHubbleLab(['run', 'preflight', 'enable-hubble', 'deploy-hubble', '--kubeconfig', sim.kubeconfigPath, '--yes'], 120_000);
  t.equal(setup.code, 0, 'Hubble enabled and Relay deployed', { output: `${setup.stdout}\n${setup.stderr}` });
  await kubectl('rollout', 'status', 'deployment/hubble-relay', '--timeout=60s');

  const forward = spawn(process.execPath, [hubbleLabBin, 'port-forward', '--kubeconfig', sim.kubeconfigPath], {
    env: { ...process.env, CI: 'true', NO_COLOR: '1' },
  });
  const exited = new Promise<number | null>((resolve) => forward.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (forward.exitCode === null) forward.kill('SIGKILL');
  });
  const out = watchOutput(forward);
  const address = (await out.waitFor(/Hubble Relay: (127\.0\.0\.1:\d+)/, 60_000))[1]!;
  t.ok((await serverStatusWithin(address, 10_000)) >= 0, 'Relay answers through the forward');

  const { stdout: before } = await kubectl('get', 'pods', '-l', 'k8s-app=hubble-relay', '-o', 'jsonpath={.items[0].metadata.name}');
  const mark = out.text.length;
  await kubectl('delete', 'pod', before, '--wait=false');
  const gone = await out.waitFor(
    /port-forward kube-system\/hubble-relay: pod (\S+) (was deleted|is terminating|is not ready); looking for another ready pod/,
    30_000,
    mark,
  );
  t.equal(gone[1], before, 'the forward says its pod went away');
  const switched = await out.waitFor(/port-forward kube-system\/hubble-relay: switched to pod (\S+) \(was (\S+)\)/, 60_000, mark);
  t.not(switched[1], before, `and switches to the new pod ${switched[1]}`);
  t.equal(switched[2], before);
  t.ok((await serverStatusWithin(address, 20_000)) >= 0, 'a new gRPC call through the same local port is answered by the new pod');

  const mark2 = out.text.length;
  await kubectl('scale', 'deployment/hubble-relay', '--replicas=0');
  await out.waitFor(/no ready pod behind service kube-system\/hubble-relay; retrying in 4s/, 60_000, mark2);
  const retries = [...out.text.slice(mark2).matchAll(/no ready pod behind service kube-system\/hubble-relay; retrying in (\d+)s/g)].map((m) => Number(m[1]));
  t.same(retries.slice(0, 3), [1, 2, 4], `with no pod it says so and waits longer each time (${retries.join(', ')} s)`);
  t.equal(forward.exitCode, null, 'and keeps running');

  const mark3 = out.text.length;
  await sim.stop();
  await out.waitFor(
    /port-forward kube-system\/hubble-relay: cannot (read Service|list pods of service) kube-system\/hubble-relay: .+; retrying in \d+s/,
    30_000,
    mark3,
  );
  t.pass('with the cluster gone it says it cannot reach the API server, and retries');
  t.equal(forward.exitCode, null, 'still running');

  forward.kill('SIGINT');
  const code = await within(exited, 15_000, 'still running 15 s after SIGINT');
  t.equal(code, 0, 'Ctrl-C ends it');
});
