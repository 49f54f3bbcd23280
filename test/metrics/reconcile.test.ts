// Reconciling the analysis of flows with the analysis of metrics for the same window: which numbers are compared,
// the tolerance, and the warning a mismatch gives.
import t from 'tap';
import { FlowAggregator } from '../../lib/analysis/aggregate.ts';
import { evaluateCompliance } from '../../lib/analysis/compliance.ts';
import { mismatchWarning, reconcile, withMismatchWarning } from '../../lib/metrics/reconcile.ts';
import { writeCompliance } from '../../lib/report/json.ts';
import { ConnectionFlows } from '../../lib/sim/hubble/flows.ts';
import { clusterName, demoEndpoint } from '../sim/hubble/fixtures.ts';

function flowsAnalysis() {
  const agg = new FlowAggregator();
  const client = demoEndpoint('a-5d9c7b8f4-abcde', 'a', 'sim-worker', '127.244.1.10');
  const server = demoEndpoint('b-6f8b9c7d5-fghij', 'b', 'sim-worker2', '127.244.2.11');
  for (let i = 0; i < 50; i++) {
    const conn = new ConnectionFlows({ client, server, protocol: 'TCP', clientPort: 41000 + i, serverPort: 80 }, (f) => agg.addFlow(f), { clusterName });
    conn.packet('client', { SYN: true });
    conn.httpRequest('ingress', { method: 'GET', url: '/' });
    conn.httpResponse('ingress', { code: 200, method: 'GET', url: '/', latencyNs: 1_000_000n });
  }
  const denied = new ConnectionFlows({ client: server, server: client, protocol: 'TCP', clientPort: 42000, serverPort: 80 }, (f) => agg.addFlow(f), {
    clusterName,
  });
  denied.drop('ingress', 'POLICY_DENIED', { SYN: true });
  return agg.finish();
}

t.test('the same numbers reconcile; each kind of check is listed', async (t) => {
  const a = flowsAnalysis();
  const r = reconcile(a, structuredClone(a));
  t.equal(r.status, 'ok');
  t.same(
    r.checks.map((c) => [c.kind, c.name]),
    [
      ['http-requests', 'http requests demo/a → demo/b'],
      ['drops', 'drops POLICY_DENIED'],
      ['flows-by-verdict', 'flows DROPPED'],
      ['flows-by-verdict', 'flows FORWARDED'],
    ],
  );
  t.equal(mismatchWarning(r), undefined);
  t.match(r.tolerance, /HTTP requests and drops: \|flows − metrics\| ≤ max\(2, 2%\)/);
});

t.test('outside the tolerance is a mismatch, named in the warning; inside is not', async (t) => {
  const a = flowsAnalysis();
  const near = structuredClone(a);
  near.edges.find((e) => e.http)!.http!.requests += 2;
  t.equal(reconcile(a, near).status, 'ok', '2 of 50 requests: within max(2, 2%)');

  const far = structuredClone(a);
  far.edges.find((e) => e.http)!.http!.requests += 3;
  far.drops[0]!.count = 10;
  const r = reconcile(a, far);
  t.equal(r.status, 'mismatch');
  t.same(
    r.checks.filter((c) => !c.ok).map((c) => c.name),
    ['http requests demo/a → demo/b', 'drops POLICY_DENIED'],
  );
  t.equal(
    mismatchWarning(r),
    'flows and Hubble metrics disagree for the same window: http requests demo/a → demo/b (flows 50, metrics 53, tolerance 2); drops POLICY_DENIED (flows 1, metrics 10, tolerance 2)',
  );
});

t.test('a mismatch is a warning of the completeness check; the verdict stays', async (t) => {
  const a = flowsAnalysis();
  const compliance = evaluateCompliance(a, undefined, 'off');
  t.equal(withMismatchWarning(compliance, reconcile(a, structuredClone(a))), compliance, 'nothing to add when they agree');
  const far = structuredClone(a);
  far.edges.find((e) => e.http)!.http!.requests += 10;
  const warned = withMismatchWarning(compliance, reconcile(a, far));
  const written = writeCompliance(warned);
  const completeness = written.checks.find((c) => c.id === 'completeness')!;
  t.equal(completeness.status, 'warn');
  t.match(
    completeness.summary,
    /^flows and Hubble metrics disagree for the same window: http requests demo\/a → demo\/b \(flows 50, metrics 60, tolerance 2\)$/,
  );
  t.same(written.violations.at(-1), {
    check: 'completeness',
    severity: 'warn',
    source: null,
    destination: null,
    rule: null,
    message: completeness.summary,
    verdict: null,
  });
  t.equal(warned.status, compliance.status, 'the verdict does not change');
  t.equal(warned.exitCode, compliance.exitCode);
});
