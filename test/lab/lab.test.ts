// The lab end to end on the embedded cluster, as a user runs it: `hubble-lab run` to PASS with its reports,
// the broken-policy scenario to FAIL, and a long-lived sim where a second run and a dry run change nothing.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSimCluster } from '../../lib/sim/cluster.ts';

const bin = new URL('../../bin/hubble-lab.mjs', import.meta.url).pathname;
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a child process (never blocking this process, which may be serving a sim). */
function hubbleLab(args: string[], timeoutMs = 150_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, CI: 'true', NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

interface Edge {
  source: string;
  destination: string;
  policyDenied: number;
  http: { requests: number; latencyMs: { p50: number; p95: number } | null } | null;
  dns: { queries: number } | null;
}

function edge(report: { edges: Edge[] }, source: string, destination: string): Edge | undefined {
  return report.edges.find((e) => e.source === source && e.destination === destination);
}

const ns = 'genai-network-demo';

t.test('npm run lab: the whole lab on a fresh embedded cluster passes with its reports', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'lab-pass-'));
  const res = await hubbleLab(['run', '--duration', '8s', '--out', out]);
  t.equal(res.code, 0, `exit 0\n${res.stdout}\n${res.stderr}`);
  t.match(res.stdout, /lab finished in [\d.]+s: PASS/);
  for (const f of ['report.md', 'report.json', 'junit.xml', 'flows.jsonl', 'traffic-summary.json']) t.ok(existsSync(join(out, f)), `${f} written`);

  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  t.equal(report.compliance.status, 'PASS');
  const chain = [
    [`${ns}/traffic-generator`, `${ns}/agent-coordinator`],
    [`${ns}/agent-coordinator`, `${ns}/document-agent`],
    [`${ns}/document-agent`, `${ns}/llm-service`],
  ] as const;
  const latencies = chain.map(([from, to]) => {
    const e = edge(report, from, to);
    t.ok(e?.http && e.http.requests > 0, `${from} → ${to} carries HTTP requests`);
    t.ok(e?.http?.latencyMs, `${from} → ${to} has a measured latency`);
    return e?.http?.latencyMs?.p50 ?? 0;
  });
  t.ok(latencies[2]! > latencies[0]! && latencies[2]! > latencies[1]!, `llm-service is the slowest edge (p50 ${latencies.join(' / ')} ms)`);
  const dns = report.edges.filter((e: Edge) => e.destination === 'kube-system/coredns' && (e.dns?.queries ?? 0) > 0);
  t.ok(dns.length > 0, 'DNS queries to kube-dns are in the report');
  const probe = edge(report, `${ns}/test-pod`, `${ns}/document-agent`);
  t.ok(probe && probe.policyDenied > 0, 'the probe was policy-denied');
  t.equal(edge(report, `${ns}/document-agent`, `${ns}/agent-coordinator`), undefined, 'replies never make a reverse edge');

  const md = readFileSync(join(out, 'report.md'), 'utf8');
  t.match(md, /^# ✅ PASS/);
  t.match(md, /```mermaid/);
  const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
  t.match(junit, /<testsuite[^>]*failures="0"/);
  const firstFlow = JSON.parse(readFileSync(join(out, 'flows.jsonl'), 'utf8').split('\n')[0]!);
  t.ok(firstFlow.flow || firstFlow.node_status || firstFlow.lost_events, 'flows.jsonl holds GetFlowsResponse lines');
});

t.test('--scenario broken-policy fails and names the violated edge', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'lab-fail-'));
  const res = await hubbleLab(['run', '--duration', '6s', '--scenario', 'broken-policy', '--out', out]);
  t.equal(res.code, 1, `exit 1\n${res.stdout}\n${res.stderr}`);
  t.match(res.stdout, /: FAIL/);
  t.match(res.stdout, /document-agent → genai-network-demo\/llm-service/);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  t.equal(report.compliance.status, 'FAIL');
  t.ok(edge(report, `${ns}/document-agent`, `${ns}/llm-service`)?.policyDenied, 'document-agent → llm-service was policy-dropped');
});

t.test('a long-lived sim: a second run and a dry run make no change; kubectl sees the objects', async (t) => {
  const sim = await startSimCluster({});
  t.teardown(() => sim.stop());
  const mutating = () => (sim.stats().requests as { mutating: number }).mutating;
  const setup = ['run', 'preflight', 'enable-hubble', 'deploy-hubble', 'deploy-demo', 'wait', 'apply-policy', '--kubeconfig', sim.kubeconfigPath, '--yes'];

  const first = await hubbleLab(setup);
  t.equal(first.code, 0, `first run\n${first.stdout}\n${first.stderr}`);
  const afterFirst = mutating();
  t.ok(afterFirst > 0, 'the first run changed the cluster');

  const second = await hubbleLab(setup);
  t.equal(second.code, 0, `second run\n${second.stdout}\n${second.stderr}`);
  t.equal(mutating(), afterFirst, 'the second run made 0 mutating requests');
  t.notMatch(second.stdout, /create |update |set cilium-config|restart DaemonSet/, 'and planned no change');

  const dry = await hubbleLab([...setup.filter((a) => a !== '--yes'), '--dry-run']);
  t.equal(dry.code, 0, `dry run\n${dry.stdout}\n${dry.stderr}`);
  t.equal(mutating(), afterFirst, 'the dry run made 0 mutating requests');

  // hubble-lab port-forward holds Relay for a user; a Hubble client then reads the sim's flows through it.
  const forward = spawn(process.execPath, [bin, 'port-forward', '--kubeconfig', sim.kubeconfigPath], { env: { ...process.env, NO_COLOR: '1' } });
  t.teardown(() => forward.kill('SIGINT'));
  const relay = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`port-forward did not start: ${text}`)), 30_000);
    forward.stdout.on('data', (d) => {
      text += d;
      const m = /Hubble Relay: (127\.0\.0\.1:\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  const observed = await hubbleLab(['observe', '--server', relay, '--last', '5', '-o', 'jsonpb']);
  t.equal(observed.code, 0, `observe through the port-forward\n${observed.stderr}`);
  const lines = observed.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.ok(lines.filter((l) => l.flow).length >= 5, 'flows come back through the port-forward');
  t.ok(lines.every((l) => !l.flow || (l.flow.node_name && l.flow.IP && l.flow.verdict)), 'with node, addresses and verdict');

  const kubectl = await run('kubectl', ['version', '--client']).then(() => true, () => false);
  if (!kubectl) {
    t.comment('kubectl is not installed: skipping the kubectl check');
    return;
  }
  const { stdout } = await run('kubectl', ['--kubeconfig', sim.kubeconfigPath, 'get', 'deploy', '-A', '-o', 'name']);
  for (const name of ['hubble-relay', 'hubble-ui', 'agent-coordinator', 'document-agent', 'llm-service']) {
    t.match(stdout, new RegExp(`deployment.apps/${name}\\b`), `kubectl lists ${name}`);
  }
  const cm = JSON.parse((await run('kubectl', ['--kubeconfig', sim.kubeconfigPath, '-n', 'kube-system', 'get', 'cm', 'cilium-config', '-o', 'json'])).stdout);
  t.equal(cm.data['enable-hubble'], 'true');
});
