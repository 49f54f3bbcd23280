// `hubble-lab policy suggest|check` end to end: files, stdin, a live Relay, a cluster's own policies, exit codes,
// and bad input named by file and line.
import t from 'tap';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { main } from '../../lib/cli.ts';
import { synthJsonpbLines } from '../fixtures/synth.ts';
import { R } from '../../lib/sim/apiserver/resources.ts';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { loadManifests } from '../../lib/lab/manifests.ts';
import type { KObject } from '../../lib/sim/apiserver/store.ts';
import { captureIO } from '../fixtures/cli-io.ts';

const flowsText = [...synthJsonpbLines({ count: 3000, seed: 2 })].join('\n') + '\n';
const brokenPolicy = new URL('../../manifests/policy/broken-policy.yaml', import.meta.url).pathname;

async function run(args: string[], stdin?: Readable) {
  const c = captureIO(stdin ? { stdin } : {});
  const code = await main(['policy', ...args], c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

t.test('suggest prints YAML, or writes one file per policy; check of the same flows passes', async (t) => {
  const dir = t.testdir({ 'flows.jsonl': flowsText });
  const flows = join(dir, 'flows.jsonl');
  const printed = await run(['suggest', '--input', flows]);
  t.equal(printed.code, 0, printed.stderr);
  const docs = parseAllDocuments(printed.stdout).map((d) => d.toJS());
  t.same(
    docs.map((d) => `${d.kind} ${d.metadata.namespace}/${d.metadata.name}`),
    [
      'NetworkPolicy genai-network-demo/agent-coordinator-from-flows',
      'NetworkPolicy genai-network-demo/document-agent-from-flows',
      'NetworkPolicy genai-network-demo/llm-service-from-flows',
      'NetworkPolicy genai-network-demo/traffic-generator-from-flows',
    ],
  );
  const fromStdin = await run(['suggest', '--input', '-'], Readable.from([flowsText]));
  t.equal(fromStdin.stdout, printed.stdout, 'stdin gives the same bytes');

  const out = join(dir, 'policies');
  const written = await run(['suggest', '--input', flows, '--out', out]);
  t.equal(written.code, 0);
  t.match(written.stdout, /^hubble-lab policy suggest: 4 NetworkPolicies from 2999 flows\n/);
  t.same(
    readdirSync(out).sort(),
    docs.map((d) => `genai-network-demo.${d.metadata.name}.yaml`),
  );
  t.equal(
    readdirSync(out)
      .sort()
      .map((f) => readFileSync(join(out, f), 'utf8'))
      .join('---\n'),
    printed.stdout,
    'the files hold what was printed',
  );

  const checked = await run(['check', '--policy', out, '--input', flows]);
  t.equal(checked.code, 0, 'nothing forwarded would drop');
  t.match(
    checked.stdout,
    /^hubble-lab policy check: 4 policies against 2999 flows\nWould drop \(forwarded, now denied\): 0 flows\nStill denied: \d+ flows on 2 edges\n/,
  );

  const cilium = await run(['suggest', '--input', flows, '--format', 'cilium', '--l7']);
  t.equal(cilium.code, 0);
  t.match(cilium.stdout, /kind: CiliumNetworkPolicy[\s\S]*rules:\n\s+http:\n\s+- method: POST\n\s+path: \/api\/v1\/analyze/);
});

t.test('check: exit 1 when a forwarded flow would drop, and the JSON a machine reads', async (t) => {
  const dir = t.testdir({ 'flows.jsonl': flowsText });
  const text = await run(['check', '--policy', brokenPolicy, '--input', join(dir, 'flows.jsonl')]);
  t.equal(text.code, 1);
  t.match(text.stdout, 'genai-network-policy selects document-agent (tier=processing) for egress; no egress rule allows tier=inference on TCP/80');
  const json = await run(['check', '--policy', brokenPolicy, '--input', join(dir, 'flows.jsonl'), '--json']);
  t.equal(json.code, 1);
  const r = JSON.parse(json.stdout);
  t.same(Object.keys(r).slice(0, 3), ['wouldDrop', 'stillDenied', 'wouldAllow']);
  t.type(r.wouldDrop.allowedFlows, 'number');
  t.ok(r.wouldDrop.allowedFlows > 0);
  t.type(r.stillDenied.flows, 'number');
  t.type(r.wouldAllow.flows, 'number');
  t.match(r.wouldDrop.edges[0], {
    source: String,
    destination: String,
    protocol: 'TCP',
    port: 80,
    flows: Number,
    side: String,
    decidedBy: String,
    rules: Array,
    examples: Array,
  });
});

t.test('check says when named ports cannot be resolved from flows', async (t) => {
  const dir = t.testdir({
    'flows.jsonl': flowsText,
    'named.yaml':
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: named, namespace: genai-network-demo}\nspec:\n  podSelector: {matchLabels: {tier: processing}}\n  ingress:\n  - ports: [{port: http}]\n',
  });
  const r = await run(['check', '--policy', join(dir, 'named.yaml'), '--input', join(dir, 'flows.jsonl')]);
  t.equal(r.code, 1, 'the rule matches nothing, so what it should allow would drop');
  t.match(r.stderr, 'hubble-lab: note: named ports (http) cannot be resolved from flows');
});

t.test('bad input: a clear line, exit 2', async (t) => {
  const dir = t.testdir({
    'flows.jsonl': flowsText,
    'broken.yaml':
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: x\n  namespace: demo\nspec:\n  podSelector: {}\n  ingress:\n  - from: [\n',
    'invalid.yaml':
      '# a comment\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ok, namespace: demo}\nspec: {podSelector: {}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: bad-port\n  namespace: demo\nspec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 70000\n',
    'empty.jsonl': '',
  });
  const flows = join(dir, 'flows.jsonl');
  const cases: [string[], RegExp][] = [
    [[], /policy: say suggest or check/],
    [['apply'], /policy: unknown subcommand "apply"/],
    [['suggest'], /policy suggest: no flows/],
    [['suggest', '--input', flows, '--server', 'x'], /--input and --server cannot be used together/],
    [['suggest', '--input', flows, '--format', 'calico'], /--format takes k8s or cilium, not "calico"/],
    [['suggest', '--input', flows, '--l7'], /--l7 needs --format cilium/],
    [['suggest', '--input', flows, '--policy', 'x.yaml'], /policy suggest: --policy is a flag of policy check/],
    [['suggest', '--input', join(dir, 'missing.jsonl')], /missing\.jsonl/],
    [['suggest', '--input', join(dir, 'empty.jsonl')], /has no flows/],
    [['suggest', '--input', flows, '--namespace', 'nowhere'], /no workload of nowhere in the flows/],
    [['check', '--input', flows], /policy check: no policies to check/],
    [['check', '--input', flows, '--policy', join(dir, 'nope.yaml')], /cannot read policies at .*nope\.yaml: no such file or folder/],
    [['check', '--input', flows, '--policy', join(dir, 'broken.yaml')], /broken\.yaml:10: /],
    [
      ['check', '--input', flows, '--policy', join(dir, 'invalid.yaml')],
      /invalid\.yaml:8: NetworkPolicy demo\/bad-port: spec\.ingress\[0\]\.ports\[0\]\.port: must be between 1 and 65535/,
    ],
    [['check', '--input', flows, '--policy', brokenPolicy, '--format', 'k8s'], /policy check: --format is a flag of policy suggest/],
  ];
  for (const [args, message] of cases) {
    const r = await run(args);
    t.equal(r.code, 2, `exit 2: policy ${args.join(' ')}`);
    t.match(r.stderr, message, args.join(' '));
    t.equal(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('  hint:')).length,
      1,
      'one line (and a hint)',
    );
  }
});

/** `hubble-lab relay` serving a file on 127.0.0.1, in-process. */
async function startRelay(file: string): Promise<{ address: string; stop: () => Promise<number> }> {
  const stop = new AbortController();
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (b: Buffer) => (out += b.toString()));
  const exit = main(['relay', '--input', file, '--listen', '127.0.0.1:0'], {
    stdin: Readable.from([]),
    stdout,
    stderr: new PassThrough(),
    env: {},
    signal: stop.signal,
  });
  const deadline = Date.now() + 10_000;
  while (!/read \d+ records/.test(out)) {
    if (Date.now() > deadline) throw new Error(`relay did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const address = / on (127\.0\.0\.1:\d+) /.exec(out)![1]!;
  return { address, stop: async () => (stop.abort(), await exit) };
}

t.test('--server: the same suggestion from a live Relay as from the file it serves', async (t) => {
  const dir = t.testdir({ 'flows.jsonl': flowsText });
  const relay = await startRelay(join(dir, 'flows.jsonl'));
  t.teardown(relay.stop);
  const fromFile = await run(['suggest', '--input', join(dir, 'flows.jsonl')]);
  const fromServer = await run(['suggest', '--server', relay.address]);
  t.equal(fromServer.code, 0, fromServer.stderr);
  t.equal(fromServer.stdout, fromFile.stdout);
  const down = await run(['check', '--policy', brokenPolicy, '--server', '127.0.0.1:1']);
  t.equal(down.code, 2);
  t.match(down.stderr, /127\.0\.0\.1:1/);
});

t.test("--kubeconfig: the cluster's own policies are checked too (apply this one as well?)", async (t) => {
  const sim = await startSimCluster({ nodes: 1 });
  t.teardown(() => sim.stop());
  const { registry } = sim.internals;
  registry.create(R.namespaces, '', { metadata: { name: 'genai-network-demo' } });
  for (const p of loadManifests(brokenPolicy)) registry.create(R.networkpolicies, 'genai-network-demo', structuredClone(p) as KObject);
  const dir = t.testdir({ 'flows.jsonl': flowsText });
  const flows = join(dir, 'flows.jsonl');
  const clusterOnly = await run(['check', '--kubeconfig', sim.kubeconfigPath, '--input', flows]);
  t.equal(clusterOnly.code, 1, 'the broken policy in the cluster drops forwarded traffic');
  t.match(clusterOnly.stdout, /^hubble-lab policy check: 1 policy against 2999 flows/);
  t.match(clusterOnly.stdout, /genai-network-policy selects document-agent \(tier=processing\) for egress/);
  // The fix, applied on top of what the cluster has: allows add up, so the drop goes away.
  writeFileSync(
    join(dir, 'fix.yaml'),
    'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: processing-to-inference, namespace: genai-network-demo}\nspec:\n  podSelector: {matchLabels: {tier: processing}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{podSelector: {matchLabels: {tier: inference}}}]\n    ports: [{protocol: TCP, port: 80}]\n',
  );
  const withFix = await run(['check', '--kubeconfig', sim.kubeconfigPath, '--policy', join(dir, 'fix.yaml'), '--input', flows, '--json']);
  const r = JSON.parse(withFix.stdout);
  t.notOk(
    r.wouldDrop.edges.some(
      (e: { source: string; destination: string }) => e.source === 'genai-network-demo/document-agent' && e.destination === 'genai-network-demo/llm-service',
    ),
    'document-agent → llm-service is allowed with the fix',
  );
  const badContext = await run(['check', '--kubeconfig', sim.kubeconfigPath, '--context', 'nope', '--input', flows]);
  t.equal(badContext.code, 2);
  t.match(badContext.stderr, `no context "nope" in ${sim.kubeconfigPath} (contexts: `);
});
