// Policy in the lab: the report's Policy section and explained drops, and the round trip: the policy suggested from
// one run, applied to the next with `run --policy`, passes with no allowed edge dropped and the probe still denied.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runHubbleLab } from '../fixtures/cli-process.ts';
import { brokenPolicyRun, sharedLabRun } from '../fixtures/lab-run.ts';

const ns = 'genai-network-demo';
const hubbleLab = (args: string[]) => runHubbleLab(args, 150_000);

interface Report {
  compliance: { status: string; checks: { id: string; violations: unknown[] }[] };
  edges: { source: string; destination: string; policyDenied: number }[];
  drops: { reason: string; policy: boolean; edges: { source: string; destination: string; policies?: string[]; missingRule?: string }[] }[];
  policy?: { applied: { name: string }[]; drops: { source: string; destination: string; explanation: string }[]; suggested?: string };
}

const readReport = (dir: string) => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;
const probeEdge = (r: Report) => r.edges.find((e) => e.source === `${ns}/test-pod` && e.destination === `${ns}/document-agent`);

t.test('round trip: suggested from a run, applied to the next, PASS with the probe still denied', async (t) => {
  // The run test/lab/lab.test.ts checks as a whole lab: whichever file asks first runs it.
  const r1 = await sharedLabRun(t, ['--duration', '8s']);
  const first = r1.out;
  t.equal(r1.code, 0, `first run passes\n${r1.stdout}\n${r1.stderr}`);
  const suggested = join(first, 'suggested-policy.yaml');
  t.ok(existsSync(suggested), 'suggested-policy.yaml beside the report');
  const docs = parseAllDocuments(readFileSync(suggested, 'utf8')).map((d) => d.toJS());
  t.ok(
    docs.some((d) => d.metadata.name === 'document-agent-from-flows'),
    'a policy for document-agent',
  );
  const report1 = readReport(first);
  t.ok(
    report1.policy?.applied.some((p) => p.name === 'genai-network-policy'),
    'the guide’s policy is listed as applied',
  );
  const md1 = readFileSync(join(first, 'report.md'), 'utf8');
  t.match(md1, /## Policy\n/);
  t.match(md1, '[suggested-policy.yaml](suggested-policy.yaml)');
  const probeDrop = report1.drops.find((d) => d.policy)?.edges.find((e) => e.source === `${ns}/test-pod`);
  t.match(
    probeDrop,
    { policies: ['genai-network-policy', 'genai-l7-visibility-processing'], missingRule: /^no ingress rule allows app=test-pod(, run=test-pod)? on TCP\/80$/ },
    'the probe drop names the policies and the missing rule',
  );

  const second = join(t.testdir(), 'second');
  // Shorter than the first: every batch pattern still runs (the generator plays each one), on edges the first run saw.
  const r2 = await hubbleLab(['run', '--duration', '5s', '--policy', suggested, '--out', second]);
  t.equal(r2.code, 0, `second run with the suggested policy passes\n${r2.stdout}\n${r2.stderr}`);
  const report2 = readReport(second);
  t.equal(report2.compliance.status, 'PASS');
  t.same(report2.compliance.checks.find((c) => c.id === 'allowed-dropped')?.violations, [], 'no allowed edge was dropped');
  t.ok((probeEdge(report2)?.policyDenied ?? 0) > 0, 'the probe is still denied');
  t.notOk(
    report2.policy?.applied.some((p) => p.name === 'genai-network-policy'),
    'the guide’s policy was not applied',
  );
  t.ok(
    report2.policy?.applied.some((p) => p.name === 'document-agent-from-flows'),
    'the suggested one was',
  );
});

t.test('broken-policy: the report names genai-network-policy and the missing egress rule', async (t) => {
  const r = await sharedLabRun(t, brokenPolicyRun.args, brokenPolicyRun.env);
  const out = r.out;
  t.equal(r.code, 1, `FAIL\n${r.stdout}\n${r.stderr}`);
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  t.match(
    md,
    /genai-network-policy(, genai-l7-visibility-processing)? selects? document-agent \(tier=processing\) for egress; no egress rule allows tier=inference on TCP\/80/,
  );
  const report = readReport(out);
  const edge = report.drops.find((d) => d.policy)?.edges.find((e) => e.source === `${ns}/document-agent` && e.destination === `${ns}/llm-service`);
  t.match(edge, { policies: Array, missingRule: 'no egress rule allows tier=inference on TCP/80' });
  t.ok(edge?.policies?.includes('genai-network-policy'));
});

t.test('run --policy with a file that is not policy YAML: exit 2 before anything runs', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'kind: NetworkPolicy\nmetadata: [\n' });
  const r = await hubbleLab(['run', '--policy', join(dir, 'bad.yaml'), '--dry-run']);
  t.equal(r.code, 2);
  t.match(r.stderr, /bad\.yaml:\d+: /);
});
