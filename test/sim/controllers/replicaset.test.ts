// A ReplicaSet scaled to a billion does not wedge the sim: pods come in paced slow-start batches, a full node leaves
// the rest Pending with FailedScheduling, the API answers throughout, memory stays flat, scale-down and SIGINT work.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnHubbleLab } from '../../fixtures/cli-process.ts';
import { within } from '../../fixtures/within.ts';

const exec = promisify(execFile);

async function hasKubectl(): Promise<boolean> {
  try {
    await exec('kubectl', ['version', '--client'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function rssMiB(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const skip = process.platform !== 'linux' ? 'reads /proc' : !(await hasKubectl()) ? 'kubectl is not installed' : false;

t.test('replicas: 1000000000 keeps the API answering, memory flat, and SIGINT working', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hubble-lab-flood-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  // Its own process group, and its temporary files in this test's folder: a failed test kills it whole and leaves nothing.
  const child = spawnHubbleLab(['sim', 'start', '--nodes', '2', '--kubeconfig', kubeconfig], 240_000, { TMPDIR: dir });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // stopped already
    }
  });
  await new Promise<void>((resolve, reject) => {
    const started = () => {
      if (!out.includes('Press Ctrl-C')) return;
      child.stdout!.off('data', started);
      resolve();
    };
    child.stdout!.on('data', started);
    void exited.then((code) => reject(new Error(`the sim ended (${code}) before it was ready:\n${out}`)));
  });
  t.pass('the sim started');

  const kubectl = async (...args: string[]) => {
    const started = Date.now();
    const { stdout } = await exec('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout=8s', ...args], {
      timeout: 10_000,
    });
    return { stdout, ms: Date.now() - started };
  };
  const floodPods = async () => (await kubectl('get', 'pods', '-l', 'app=flood', '-o', 'name')).stdout.split('\n').filter(Boolean).length;

  await kubectl('create', 'deployment', 'flood', '--image=registry.k8s.io/pause:3.9');
  const baseline = await rssMiB(child.pid!);
  const start = Date.now();
  await kubectl('scale', 'deployment', 'flood', '--replicas=1000000000');
  let peak = baseline;
  let slowest = 0;
  let pods = 0;
  for (let i = 0; i < 6; i++) {
    await sleep(750);
    const ready = await kubectl('get', '--raw', '/readyz');
    t.equal(ready.stdout, 'ok');
    const list = await kubectl('get', 'pods', '--no-headers');
    slowest = Math.max(slowest, ready.ms, list.ms);
    pods = await floodPods();
    peak = Math.max(peak, await rssMiB(child.pid!));
  }
  const elapsed = (Date.now() - start) / 1000;
  t.ok(slowest < 7000, `the API answered every request within 7 s, kubectl start-up included (slowest ${slowest} ms)`);
  t.ok(pods > 100, `pods are being created (${pods})`);
  t.ok(pods <= 30 + 20 * (elapsed + 2), `at the controller's pace of 20/s after a burst of 30 (${pods} in ${elapsed.toFixed(1)} s)`);
  t.ok(peak - baseline < 150, `RSS stays flat (${baseline.toFixed(0)} → ${peak.toFixed(0)} MiB)`);

  // The worker takes 110 pods, its own two included; the control plane is tainted.
  const running = (await kubectl('get', 'pods', '-l', 'app=flood', '--field-selector', 'spec.nodeName=sim-worker', '-o', 'name')).stdout
    .split('\n')
    .filter(Boolean).length;
  t.ok(running <= 108, `no more pods on the worker than its capacity allows (${running})`);
  const events = (await kubectl('get', 'events', '--field-selector', 'reason=FailedScheduling', '-o', 'jsonpath={.items[*].message}')).stdout;
  t.match(events, '0/2 nodes are available: 1 Too many pods, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }.');

  // Scaling back down cancels the sync under way; the Pending pods go first.
  await kubectl('scale', 'deployment', 'flood', '--replicas=0');
  let left = pods;
  for (let i = 0; i < 40 && left > 0; i++) {
    await sleep(500);
    left = await floodPods();
  }
  t.equal(left, 0, 'every flood pod is gone after scaling to 0');

  await kubectl('scale', 'deployment', 'flood', '--replicas=1000000000');
  await sleep(1000);
  const stopAt = Date.now();
  child.kill('SIGINT');
  const code = await within(exited, 20_000, 'timeout');
  t.equal(code, 0, 'SIGINT stops the sim while it creates pods');
  t.ok(Date.now() - stopAt < 20_000);
  t.match(out, 'hubble-lab sim: stopped');
});
