// The official hubble CLI against the embedded cluster's Relay through `hubble-lab port-forward`: status, nodes, the
// demo's flows (--last, --follow, --protocol http|dns) and the policy probe's drops. One cluster for the whole file.
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Flow } from '../../lib/flows/types.ts';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { hubbleLabBin, runHubbleLab } from '../fixtures/cli-process.ts';
import { hubbleCliOrSkip, runHubble } from '../fixtures/hubble-cli.ts';

const ns = 'genai-network-demo';
const lines = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));
const flowsOf = (jsonpb: string): Flow[] => lines(jsonpb).flatMap((l) => (JSON.parse(l) as { flow?: Flow }).flow ?? []);
const pod = (f: Flow, side: 'source' | 'destination') => `${f[side]?.namespace ?? ''}/${f[side]?.pod_name ?? ''}`;

async function tests(bin: string): Promise<void> {
  const sim = await startSimCluster({});
  t.teardown(() => sim.stop());
  const kubeconfig = sim.kubeconfigPath;
  const setup = await runHubbleLab([
    'run',
    'preflight',
    'enable-hubble',
    'deploy-hubble',
    'deploy-demo',
    'wait',
    'apply-policy',
    '--kubeconfig',
    kubeconfig,
    '--yes',
  ]);
  if (setup.code !== 0) throw new Error(`the lab's setup failed:\n${setup.stdout}\n${setup.stderr}`);

  const forward = spawn(process.execPath, [hubbleLabBin, 'port-forward', '--kubeconfig', kubeconfig], { env: { ...process.env, NO_COLOR: '1' } });
  t.teardown(() => void forward.kill('SIGINT'));
  const relay = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`port-forward did not start: ${text}`)), 60_000);
    forward.stdout.on('data', (d) => {
      text += d;
      const m = /Hubble Relay: (127\.0\.0\.1:\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  const server = ['--server', relay];

  // Following from before the traffic starts: the demo's flows must arrive while they happen.
  const stopFollow = new AbortController();
  const following = runHubble(bin, ['observe', ...server, '--follow', '-o', 'jsonpb'], { signal: stopFollow.signal, timeoutMs: 240_000 });
  const traffic = await runHubbleLab(['run', 'traffic', '--kubeconfig', kubeconfig, '--yes', '--duration', '6s', '--out', join(t.testdir(), 'traffic')]);
  await new Promise((r) => setTimeout(r, 1500));
  stopFollow.abort();
  const followed = await following;

  t.test('the lab traffic ran, with its policy probe', async (t) => {
    t.equal(traffic.code, 0, `${traffic.stdout}\n${traffic.stderr}`);
    t.match(traffic.stdout, /probe test-pod → document-agent-service: denied/);
  });

  t.test('hubble status and hubble list nodes: every node connected', async (t) => {
    for (let i = 0; i < 2; i++) {
      const status = await runHubble(bin, ['status', ...server]);
      t.equal(status.code, 0, status.stderr);
      t.match(
        status.stdout,
        new RegExp(`^Healthcheck \\(via ${relay}\\): Ok\\nCurrent/Max Flows: [\\d,]+/[\\d,]+ \\([\\d.]+%\\)\\nFlows/s: \\S+\\nConnected Nodes: 3/3\\n$`),
      );
    }
    const list = await runHubble(bin, ['list', 'nodes', ...server]);
    t.equal(list.code, 0, list.stderr);
    const rows = lines(list.stdout).slice(1);
    t.equal(rows.length, 3, 'three nodes');
    for (const row of rows) t.match(row, /^\S+\/\S+\s+Connected\s/, `${row.split(/\s+/)[0]}: cluster/node, connected`);
  });

  t.test("--follow streamed the demo's flows as they happened, and ended on Ctrl-C", async (t) => {
    t.equal(followed.code, 0, `the CLI ends cleanly when interrupted ${followed.stderr}`);
    const flows = flowsOf(followed.stdout);
    t.ok(flows.length > 50, `${flows.length} flows followed`);
    for (const [from, to] of [
      [`${ns}/traffic-generator`, `${ns}/agent-coordinator`],
      [`${ns}/agent-coordinator`, `${ns}/document-agent`],
      [`${ns}/document-agent`, `${ns}/llm-service`],
    ] as const) {
      t.ok(
        flows.some((f) => pod(f, 'source').startsWith(from) && pod(f, 'destination').startsWith(to) && f.l7?.http),
        `${from} → ${to}: HTTP`,
      );
    }
  });

  t.test('--last N: the last N flows of each node', async (t) => {
    // The demo's flows are among the last 500 of each node (fewer than the ring holds), whatever runs in the background.
    for (const n of [5, 500]) {
      const got = await runHubble(bin, ['observe', ...server, '--last', String(n), '-o', 'jsonpb']);
      t.equal(got.code, 0, got.stderr);
      const flows = flowsOf(got.stdout);
      const perNode = new Map<string, number>();
      for (const f of flows) perNode.set(f.node_name ?? '', (perNode.get(f.node_name ?? '') ?? 0) + 1);
      t.ok(
        flows.length > 0 && [...perNode.values()].every((c) => c <= n),
        `--last ${n}: ${flows.length} flows, at most ${n} per node (${[...perNode.values()]})`,
      );
      if (n === 5) t.equal(Math.max(...perNode.values()), n, 'a busy node gives its last 5');
      if (n === 500)
        t.ok(
          flows.some((f) => f.source?.namespace === ns || f.destination?.namespace === ns),
          "among them the demo's",
        );
    }
  });

  t.test("--protocol http and --protocol dns: the demo's HTTP calls and its DNS lookups", async (t) => {
    const http = flowsOf((await runHubble(bin, ['observe', ...server, '--all', '--protocol', 'http', '-o', 'jsonpb'])).stdout);
    t.ok(http.length > 0 && http.every((f) => f.l7?.http), `${http.length} flows, all HTTP`);
    t.ok(
      http.some((f) => f.l7?.type === 'RESPONSE' && f.l7.http?.code === 200 && pod(f, 'source').startsWith(`${ns}/llm-service`)),
      'llm-service answering 200',
    );
    const dns = flowsOf((await runHubble(bin, ['observe', ...server, '--all', '--protocol', 'dns', '-o', 'jsonpb'])).stdout);
    t.ok(dns.length > 0 && dns.every((f) => f.l7?.dns), `${dns.length} flows, all DNS`);
    t.ok(
      dns.some((f) => f.l7?.dns?.query?.includes(`.${ns}.svc.cluster.local.`)),
      "lookups of the demo's Services",
    );
    const compact = await runHubble(bin, ['observe', ...server, '--all', '--protocol', 'http', '-o', 'compact', '--color', 'never']);
    t.match(
      compact.stdout,
      new RegExp(`${ns}/agent-coordinator-\\S+ \\(ID:\\d+\\) -> ${ns}/document-agent-\\S+ \\(ID:\\d+\\) http-request FORWARDED \\(HTTP/1\\.1 `),
    );
  });

  t.test("--verdict DROPPED: the probe's POLICY_DENIED drops, from test-pod to document-agent", async (t) => {
    const drops = flowsOf((await runHubble(bin, ['observe', ...server, '--all', '--verdict', 'DROPPED', '-o', 'jsonpb'])).stdout);
    const probe = drops.filter((f) => pod(f, 'source').startsWith(`${ns}/test-pod`));
    t.ok(probe.length > 0, `${probe.length} of ${drops.length} drops are the probe's`);
    t.ok(
      probe.every((f) => f.drop_reason_desc === 'POLICY_DENIED' && pod(f, 'destination').startsWith(`${ns}/document-agent`)),
      'each POLICY_DENIED, to document-agent',
    );
    // The compact lines name both pods (<>: a drop is neither request nor reply); hubble-lab observe through the
    // same forward prints the same text.
    const flags = ['--all', '--verdict', 'DROPPED', '-o', 'compact', '--color', 'never'];
    const [cli, ours] = await Promise.all([runHubble(bin, ['observe', ...server, ...flags]), runHubbleLab(['observe', ...server, ...flags])]);
    t.match(
      cli.stdout,
      new RegExp(`${ns}/test-pod:\\d+ \\(ID:\\d+\\) <> ${ns}/document-agent-\\S+:\\d+ \\(ID:\\d+\\) Policy denied DROPPED \\(TCP Flags: SYN\\)`),
    );
    t.equal(ours.stdout, cli.stdout, 'hubble-lab observe --server prints the same lines');
  });
}

const bin = hubbleCliOrSkip(t);
if (bin !== undefined) await tests(bin);
