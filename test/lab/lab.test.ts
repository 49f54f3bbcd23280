// The lab end to end on the embedded cluster, as a user runs it: `hubble-lab run` to PASS with its reports,
// the broken-policy scenario to FAIL, and a long-lived sim where a second run and a dry run change nothing.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { hubbleLabBin, runHubbleLab } from '../fixtures/cli-process.ts';
import { goPeer, runGoPeer } from '../fixtures/go-peer.ts';
import { brokenPolicyRun, sharedLabRun } from '../fixtures/lab-run.ts';

const hubbleLab = (args: string[], timeoutMs = 150_000) => runHubbleLab(args, timeoutMs);
const run = promisify(execFile);

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

t.test('--scenario broken-policy fails and names the violated edge', async (t) => {
  // Shared with test/lab/policy.test.ts and test/metrics/lab.test.ts, which ask for it last: run first here, so the
  // files' runs overlap.
  const res = await sharedLabRun(t, brokenPolicyRun.args, brokenPolicyRun.env);
  const out = res.out;
  t.equal(res.code, 1, `exit 1\n${res.stdout}\n${res.stderr}`);
  t.match(res.stdout, /: FAIL/);
  t.match(res.stdout, /document-agent → genai-network-demo\/llm-service/);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  t.equal(report.compliance.status, 'FAIL');
  t.ok(edge(report, `${ns}/document-agent`, `${ns}/llm-service`)?.policyDenied, 'document-agent → llm-service was policy-dropped');
});

t.test('npm run lab: the whole lab on a fresh embedded cluster passes with its reports', async (t) => {
  // The same run as test/lab/policy.test.ts reads: whichever file asks first runs it.
  const res = await sharedLabRun(t, ['--duration', '8s']);
  const out = res.out;
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
  const forward = spawn(process.execPath, [hubbleLabBin, 'port-forward', '--kubeconfig', sim.kubeconfigPath], { env: { ...process.env, NO_COLOR: '1' } });
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
  const lines = observed.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.ok(lines.filter((l) => l.flow).length >= 5, 'flows come back through the port-forward');
  t.ok(
    lines.every((l) => !l.flow || (l.flow.node_name && l.flow.IP && l.flow.verdict)),
    'with node, addresses and verdict',
  );

  // The same forward read by grpc-go and Go protojson, as the hubble CLI reads it (test/go-peer).
  const peer = await goPeer();
  if (peer.bin === undefined) {
    if (process.env.HUBBLE_LAB_REQUIRE_GO_PEER) t.fail(`the Go peer is required here but cannot be built: ${peer.reason}`);
    else t.comment(`Go peer not available (${peer.reason}): skipping the grpc-go check`);
  } else {
    const status = await runGoPeer(peer.bin, ['status', relay]);
    t.equal(status.code, 0, `hubble status through the port-forward\n${status.stderr}`);
    const st = JSON.parse(status.stdout);
    t.match(st, { num_connected_nodes: 3, num_unavailable_nodes: 0 }, 'every node of the sim (three by default) connected');
    t.ok(BigInt(st.num_flows ?? '0') > 0n, `Relay holds flows (${st.num_flows})`);
    const nodes = await runGoPeer(peer.bin, ['nodes', relay]);
    t.same(
      JSON.parse(nodes.stdout).nodes.map((n: { state: string }) => n.state),
      ['NODE_CONNECTED', 'NODE_CONNECTED', 'NODE_CONNECTED'],
    );

    const observe = async (number: number) => {
      const got = await runGoPeer(peer.bin!, ['observe', relay, JSON.stringify({ number })]);
      t.equal(got.code, 0, `GetFlows through the port-forward\n${got.stderr}`);
      return got.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).flow)
        .filter((f) => f);
    };
    const perNode = new Map<string, number>();
    for (const f of await observe(20)) perNode.set(f.node_name, (perNode.get(f.node_name) ?? 0) + 1);
    const counts = [...perNode.values()];
    // With 60 flows or more over three nodes, one of them has 20 at least.
    t.ok(counts.every((n) => n <= 20) && (Number(st.num_flows) < 60 || Math.max(...counts) === 20), `the last 20 flows of each node (${counts})`);
    const flows = await observe(100_000);
    t.ok(
      flows.every((f) => f.verdict && f.node_name && f.time),
      'each with verdict, node and time',
    );
    t.ok(
      flows.some((f) => f.source?.pod_name && f.source.identity > 0 && f.destination?.pod_name && f.destination.identity > 0),
      'pods with their identities on both sides',
    );
    const tcp = (f: { l4?: { TCP?: { flags?: Record<string, boolean> } } }) => f.l4?.TCP?.flags ?? {};
    const synAcks = flows.filter((f) => tcp(f).SYN && tcp(f).ACK);
    const syns = flows.filter((f) => tcp(f).SYN && !tcp(f).ACK && f.verdict === 'FORWARDED');
    t.ok(synAcks.length > 0 && syns.length > 0, `connections seen opening (${syns.length} SYN, ${synAcks.length} SYN-ACK)`);
    t.ok(
      synAcks.every((f) => f.is_reply === true),
      'a SYN-ACK is a reply: is_reply true',
    );
    t.ok(
      syns.every((f) => f.is_reply === false),
      'a SYN is not: is_reply false, present',
    );
  }

  const kubectl = await run('kubectl', ['version', '--client']).then(
    () => true,
    () => false,
  );
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
