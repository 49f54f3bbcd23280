// Faults during a lab run, as a user meets them: the Relay pod replaced mid-run (nothing lost, nothing twice, PASS),
// Relay gone long enough for the agents' buffers to wrap (INCOMPLETE, exit 3, with the gap and the flows lost), and
// the cluster killed mid-run (a report from the flows collected, INCOMPLETE, exit 3).
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validateSchema, type JsonSchema } from '../../lib/analysis/json-schema.ts';
import { connectObserver } from '../../lib/hubble/client.ts';
import { forwardService } from '../../lib/kube/port-forward.ts';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { collectRequest } from '../../tasks/08-collect.ts';
import { runHubbleLab, spawnHubbleLab, type CliResult } from '../fixtures/cli-process.ts';
import { kubeConfigOf } from '../fixtures/sim-kube.ts';

const run = promisify(execFile);
const schema = JSON.parse(readFileSync(new URL('../../lib/report/report.schema.json', import.meta.url), 'utf8')) as JsonSchema;
const setupTasks = ['preflight', 'enable-hubble', 'deploy-hubble', 'deploy-demo', 'wait'];
const runTasks = ['port-forward', 'apply-policy', 'collect', 'traffic', 'analyze'];

/** A CLI run whose output can be waited on while it runs; killed if it outlives `timeoutMs`. */
function startHubbleLab(args: string[], timeoutMs: number) {
  const child = spawnHubbleLab(args, timeoutMs);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return {
    done,
    async waitFor(re: RegExp, ms: number): Promise<void> {
      const deadline = Date.now() + ms;
      while (!re.test(stdout)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${re} within ${ms} ms:\n${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Collected {
  uuids: string[];
  times: Map<string, number>;
}

function readCollected(path: string): Collected {
  const uuids: string[] = [];
  const times = new Map<string, number>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const flow = JSON.parse(line).flow;
    if (!flow) continue;
    uuids.push(flow.uuid);
    times.set(flow.uuid, Date.parse(flow.time));
  }
  return { uuids, times };
}

t.test('Relay replaced or gone mid-run', async (t) => {
  const sim = await startSimCluster({});
  t.teardown(() => sim.stop());
  const kubectl = (...args: string[]) => run('/usr/bin/kubectl', ['--kubeconfig', sim.kubeconfigPath, '-n', 'kube-system', ...args], { timeout: 90_000 });
  const setup = await runHubbleLab(['run', ...setupTasks, '--kubeconfig', sim.kubeconfigPath, '--yes'], 180_000);
  t.equal(setup.code, 0, 'the lab is set up', { output: `${setup.stdout}\n${setup.stderr}` });

  /**
   * The flows of the run's filter that the agents' buffers hold between two times, asked through Relay. A read
   * stops at the first flow past `until` in buffer order, so the request reaches 5 s beyond the window either side.
   */
  async function heldByAgents(fromMs: number, toMs: number): Promise<string[]> {
    const forward = await forwardService(kubeConfigOf(sim), { namespace: 'kube-system', service: 'hubble-relay', servicePort: 80, localPort: 24245 });
    try {
      const client = await connectObserver(forward.address, { dialTimeoutMs: 10_000 });
      try {
        const uuids: string[] = [];
        const req = { ...collectRequest(), since: new Date(fromMs - 5000).toISOString(), until: new Date(toMs + 5000).toISOString() };
        for await (const resp of client.getFlows(req)) {
          const at = Date.parse(resp.flow?.time ?? '');
          if (resp.flow?.uuid && at >= fromMs && at <= toMs) uuids.push(resp.flow.uuid);
        }
        return uuids;
      } finally {
        client.close();
      }
    } finally {
      await forward.close();
    }
  }

  t.test("a replaced Relay pod: the run resumes from the agents' buffers, nothing lost or twice, PASS", async (t) => {
    const out = join(t.testdir(), 'report');
    const lab = startHubbleLab(['run', ...runTasks, '--kubeconfig', sim.kubeconfigPath, '--yes', '--duration', '14s', '--out', out], 180_000);
    await lab.waitFor(/traffic running/, 90_000);
    await sleep(4000);
    await kubectl('delete', 'pod', '-l', 'k8s-app=hubble-relay', '--wait=false');
    const res = await lab.done;
    t.equal(res.code, 0, 'exit 0', { output: `${res.stdout}\n${res.stderr}` });
    t.match(
      res.stdout,
      /port-forward kube-system\/hubble-relay: switched to pod hubble-relay-\S+ \(was hubble-relay-\S+\)/,
      'the forward follows Relay to its new pod',
    );
    t.match(res.stdout, /flow stream resumed after [\d.]+s; the agents' buffers still held the flows since/, 'the stream resumes');
    t.match(res.stdout, /lab finished in [\d.]+s: PASS/);

    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    t.equal(report.compliance.status, 'PASS');
    t.equal(report.quality.gaps?.length, 1, 'one gap, in the report');
    t.equal(report.quality.gaps?.[0]?.recovered, true, 'recovered');

    const collected = readCollected(join(out, 'flows.jsonl'));
    t.equal(new Set(collected.uuids).size, collected.uuids.length, `no flow twice in flows.jsonl (${collected.uuids.length} flows)`);
    // The edges of the collection are left out: the start is a second of history, the end the last drain.
    const times = [...collected.times.values()].sort((a, b) => a - b);
    const from = Math.ceil(times[0]! / 1000) * 1000 + 2000;
    const to = Math.floor(times[times.length - 1]! / 1000) * 1000 - 3000;
    const gapAt = Date.parse(report.quality.gaps[0].from);
    t.ok(gapAt > from && gapAt < to, 'the compared window holds the gap');
    const held = await heldByAgents(from, to);
    const mine = new Set(collected.uuids.filter((u) => collected.times.get(u)! >= from && collected.times.get(u)! <= to));
    const missing = held.filter((u) => !mine.has(u));
    const extra = [...mine].filter((u) => !held.includes(u));
    t.ok(held.length > 100, `the agents hold ${held.length} flows of the window`);
    t.same({ missing: missing.length, extra: extra.length }, { missing: 0, extra: 0 }, 'the flows collected are exactly those the agents hold');
  });

  t.test("Relay gone until the agents' buffers wrapped: INCOMPLETE, exit 3, with the gap and the flows lost", async (t) => {
    await kubectl('patch', 'configmap', 'cilium-config', '--type', 'merge', '-p', '{"data":{"hubble-event-buffer-capacity":"127"}}');
    await kubectl('rollout', 'restart', 'daemonset/cilium');
    await kubectl('rollout', 'status', 'daemonset/cilium', '--timeout=90s');
    await kubectl('rollout', 'status', 'deployment/hubble-relay', '--timeout=90s');
    const out = join(t.testdir(), 'report');
    const lab = startHubbleLab(['run', ...runTasks, '--kubeconfig', sim.kubeconfigPath, '--yes', '--duration', '16s', '--out', out], 180_000);
    await lab.waitFor(/traffic running/, 90_000);
    await sleep(3000);
    await kubectl('scale', 'deployment/hubble-relay', '--replicas=0');
    await lab.waitFor(/no ready pod behind service kube-system\/hubble-relay; retrying in/, 30_000);
    await sleep(7000);
    await kubectl('scale', 'deployment/hubble-relay', '--replicas=1');
    const res = await lab.done;
    t.equal(res.code, 3, 'exit 3', { output: `${res.stdout}\n${res.stderr}` });
    t.match(res.stdout, /flow stream resumed after [\d.]+s, but buffers had been overwritten \(held again: .+\): about \d+ flow\(s\) lost/);
    t.match(res.stdout, /lab finished in [\d.]+s: INCOMPLETE/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    t.equal(report.compliance.status, 'INCOMPLETE');
    t.equal(report.compliance.exitCode, 3);
    const gap = report.quality.gaps?.[0];
    t.match(gap, { recovered: false, to: String }, 'the gap is not recovered');
    t.ok(gap.seconds >= 5, `it lasted ${gap.seconds}s`);
    t.ok(gap.estimatedLost > 0, `about ${gap.estimatedLost} flows lost`);
    const qualitySchema: JsonSchema = { $defs: schema.$defs, ...schema.properties!.quality };
    t.same(validateSchema(report.quality, qualitySchema), [], 'its data quality, with the gap, is valid against the report schema');
    t.match(report.compliance.reasons.join('\n'), /flows were not collected from \S+ to \S+ \([\d.]+s\): .*about \d+ flow\(s\) lost/, 'the verdict says why');
  });
});

t.test('the cluster killed mid-run: the flows collected are reported, INCOMPLETE, exit 3', async (t) => {
  const dir = t.testdir({ tmp: {} });
  const kubeconfig = join(dir, 'kubeconfig');
  // Killed below with no chance to clean up: its temporary files go to this test's folder.
  const sim = spawnHubbleLab(['sim', 'start', '--kubeconfig', kubeconfig], 240_000, { TMPDIR: join(dir, 'tmp') });
  // The sim leads its process group, Prometheus in it; its pods end themselves when it is gone.
  const killSim = () => {
    try {
      process.kill(-sim.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
  };
  t.teardown(killSim);
  await new Promise<void>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`sim did not start: ${text}`)), 60_000);
    sim.stdout!.on('data', (d) => {
      text += d;
      if (/cluster running/.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const setup = await runHubbleLab(['run', ...setupTasks, '--kubeconfig', kubeconfig, '--yes'], 180_000);
  t.equal(setup.code, 0, 'the lab is set up', { output: `${setup.stdout}\n${setup.stderr}` });

  const out = join(dir, 'report');
  const lab = startHubbleLab(['run', ...runTasks, '--kubeconfig', kubeconfig, '--yes', '--duration', '30s', '--out', out], 120_000);
  await lab.waitFor(/traffic running/, 90_000);
  await sleep(4000);
  killSim();
  const res = await lab.done;
  t.equal(res.code, 3, 'exit 3', { output: `${res.stdout}\n${res.stderr}` });
  t.match(res.stdout, /lab finished in [\d.]+s: INCOMPLETE/);
  t.match(res.stdout, /error: .*(connection refused|ECONNREFUSED|socket hang up|ECONNRESET)/, 'the failure is shown');
  for (const f of ['report.md', 'report.json', 'junit.xml', 'flows.jsonl']) t.ok(existsSync(join(out, f)), `${f} written`);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  t.equal(report.compliance.status, 'INCOMPLETE');
  t.ok(report.totals.flows > 0, `the ${report.totals.flows} flows collected before are analysed`);
  t.ok(
    (report.quality.gaps ?? []).some((g: { recovered: boolean; to: string | null }) => !g.recovered && g.to === null),
    'with the gap that never closed',
  );
  t.match(readFileSync(join(out, 'report.md'), 'utf8'), /INCOMPLETE/);
});
