// `hubble-lab analyze --policy`: every policy drop explained, the report's Policy section and suggested-policy.yaml;
// without --policy the drops are still explained, from the flows alone.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../lib/cli.ts';
import { synthJsonpbLines } from '../fixtures/synth.ts';
import { captureIO } from '../fixtures/cli-io.ts';
import { R } from '../../lib/sim/apiserver/resources.ts';
import type { KObject } from '../../lib/sim/apiserver/store.ts';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { loadManifests } from '../../lib/lab/manifests.ts';

const flowsText = [...synthJsonpbLines({ count: 3000, seed: 2 })].join('\n') + '\n';
const brokenPolicy = new URL('../../manifests/policy/broken-policy.yaml', import.meta.url).pathname;

async function analyze(args: string[]) {
  const c = captureIO();
  const code = await main(['analyze', ...args], c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

interface DropEdge {
  source: string;
  destination: string;
  policies?: string[];
  missingRule?: string;
}

t.test('--policy: drops explained with the policies given, the Policy section, the suggestion beside the report', async (t) => {
  const dir = t.testdir({ 'flows.jsonl': flowsText });
  const out = join(dir, 'out');
  const r = await analyze(['--input', join(dir, 'flows.jsonl'), '--policy', brokenPolicy, '--out', out, '--gate', 'off']);
  t.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  t.same(
    report.policy.applied.map((p: { name: string }) => p.name),
    ['genai-network-policy'],
  );
  const edges: DropEdge[] = report.drops.filter((d: { policy: boolean }) => d.policy).flatMap((d: { edges: DropEdge[] }) => d.edges);
  const toCoordinator = edges.find((e) => e.destination === 'genai-network-demo/agent-coordinator');
  t.match(toCoordinator, { source: 'genai-network-demo/document-agent', policies: [], missingRule: 'no ingress rule allows tier=processing on TCP/80' });
  t.ok(
    edges.every((e) => typeof e.missingRule === 'string'),
    'every policy drop explained',
  );
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  t.match(md, /\n## Policy\n\nApplied: 1 policy\./);
  t.match(md, /  - why: no policy given selects agent-coordinator for ingress; no ingress rule allows tier=processing on TCP\/80/);
  t.ok(existsSync(join(out, 'suggested-policy.yaml')));
  t.match(md, '[suggested-policy.yaml](suggested-policy.yaml)');
});

t.test('without --policy: the drops are explained from the flows, with no Policy section', async (t) => {
  const dir = t.testdir({ 'flows.jsonl': flowsText });
  const out = join(dir, 'out');
  const r = await analyze(['--input', join(dir, 'flows.jsonl'), '--out', out, '--gate', 'off', '--format', 'json,md']);
  t.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  t.equal(report.policy, undefined);
  const edge = report.drops.find((d: { policy: boolean }) => d.policy).edges[0] as DropEdge;
  t.match(edge, { policies: [], missingRule: /^no ingress rule allows app=document-agent, tier=processing on TCP\/80$/ });
  t.notOk(existsSync(join(out, 'suggested-policy.yaml')));
  t.notMatch(readFileSync(join(out, 'report.md'), 'utf8'), '## Policy');
});

t.test('--policy with a broken file: exit 2 naming file and line, before any flow is read', async (t) => {
  const dir = t.testdir({
    'bad.yaml':
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: demo}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: nonsense}}]\n',
  });
  const r = await analyze(['--input', join(dir, 'missing.jsonl'), '--policy', join(dir, 'bad.yaml')]);
  t.equal(r.code, 2);
  t.match(r.stderr, /bad\.yaml:1: NetworkPolicy demo\/x: spec\.egress\[0\]\.to\[0\]\.ipBlock\.cidr: must be a CIDR/);
});

t.test("--kubeconfig: the cluster's policies are the policies in force", async (t) => {
  const sim = await startSimCluster({ nodes: 1 });
  t.teardown(() => sim.stop());
  sim.internals.registry.create(R.namespaces, '', { metadata: { name: 'genai-network-demo' } });
  for (const p of loadManifests(brokenPolicy)) sim.internals.registry.create(R.networkpolicies, 'genai-network-demo', structuredClone(p) as KObject);
  const dir = t.testdir({ 'flows.jsonl': flowsText });
  const out = join(dir, 'out');
  const r = await analyze(['--input', join(dir, 'flows.jsonl'), '--kubeconfig', sim.kubeconfigPath, '--out', out, '--format', 'json', '--gate', 'off']);
  t.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  t.same(report.policy.applied, [
    {
      kind: 'NetworkPolicy',
      namespace: 'genai-network-demo',
      name: 'genai-network-policy',
      source: 'cluster NetworkPolicy genai-network-demo/genai-network-policy',
    },
  ]);
  const bad = await analyze(['--input', join(dir, 'flows.jsonl'), '--kubeconfig', sim.kubeconfigPath, '--context', 'nope', '--out', out]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, `no context "nope" in ${sim.kubeconfigPath} (contexts: `);
});
