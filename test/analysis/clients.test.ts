// The clients' view in the analysis: requests that never got an answer are failures of the edge they were sent on.
import t from 'tap';
import { FlowAggregator } from '../../lib/analysis/aggregate.ts';
import { clientView, targetsNamespace } from '../../lib/analysis/clients.ts';
import { evaluateCompliance } from '../../lib/analysis/compliance.ts';
import { writeCompliance } from '../../lib/report/json.ts';
import { parseExpectations } from '../../lib/analysis/expectations.ts';
import type { Flow } from '../../lib/flows/types.ts';
import { ConnectionFlows, type SimEndpoint } from '../../lib/sim/hubble/flows.ts';
import type { TrafficSummary } from '../../lib/traffic/summary.ts';

const ns = 'genai-network-demo';
const ep = (app: string, ip: string): SimEndpoint => ({
  ip,
  node: 'n1',
  endpoint: { identity: 300, namespace: ns, labels: [`k8s:app=${app}`], pod_name: `${app}-7d9f8b6c5-x2x4z` },
});

/** The broken-policy run: document-agent's calls to llm-service are denied, so each of its SYNs is dropped. */
function brokenPolicyFlows(): Flow[] {
  const out: Flow[] = [];
  for (let i = 0; i < 4; i++) {
    const conn = new ConnectionFlows(
      {
        client: ep('document-agent', '10.0.1.5'),
        server: ep('llm-service', '10.0.2.7'),
        protocol: 'TCP',
        clientPort: 40000 + i,
        serverPort: 80,
        service: { name: 'llm-service', namespace: ns },
      },
      (f) => out.push(f),
      { clusterName: 'c' },
    );
    conn.drop('egress', 'POLICY_DENIED', { SYN: true });
  }
  return out;
}

const summary: TrafficSummary = {
  mode: 'traffic',
  seed: 1,
  durationMs: 20000,
  plannedDurationMs: 20000,
  interrupted: false,
  targets: { llm: `http://llm-service.${ns}.svc.cluster.local` },
  batches: { normal: 3, burst: 1, error: 1 },
  workflows: { started: 16, completed: 0, failed: 16 },
  steps: {
    generate: {
      service: 'llm-service',
      measuredBy: 'document-agent',
      requests: 16,
      byStatus: { timeout: 16 },
      unexpected: 16,
      latencyMs: { p50: 5000, p95: 5019.9, max: 5020 },
    },
    timeout: {
      service: 'llm-service',
      measuredBy: 'traffic-generator',
      requests: 2,
      byStatus: { timeout: 2 },
      expect: 'timeout',
      unexpected: 0,
      latencyMs: null,
    },
  },
  errors: { count: 16, top: [{ message: 'generate: timeout', count: 16 }] },
  polls: { task: { workflows: 0, polls: 0, perWorkflow: null, byOutcome: {} }, results: { workflows: 0, polls: 0, perWorkflow: null, byOutcome: {} } },
};

const expectations = parseExpectations(
  `allow:\n  - from: ${ns}/document-agent\n    to: ${ns}/llm-service\nslo:\n  default:\n    maxErrorRate: 0.01\nchecks: { allowedDropped: warn }\n`,
  'e.yaml',
);

t.test('unanswered requests fail the service-level check of their edge, and say why', async (t) => {
  const agg = new FlowAggregator();
  for (const flow of brokenPolicyFlows()) agg.addFlow(flow);
  const analysis = agg.finish();
  t.same(analysis.services, { [`${ns}/llm-service`]: [`${ns}/llm-service`] }, 'the Service led to its workload');
  t.equal(
    evaluateCompliance(analysis, expectations, 'expect').checks.find((c) => c.id === 'slo')!.status,
    'pass',
    'without the clients’ view no HTTP flow shows a failure',
  );

  t.equal(targetsNamespace(summary), ns);
  analysis.clients = clientView(summary, null, analysis.services, ns, 'traffic-summary.json');
  const generate = analysis.clients.steps.find((s) => s.step === 'generate')!;
  t.same([generate.client, generate.server, generate.unanswered], [`${ns}/document-agent`, `${ns}/llm-service`, 16]);
  const c = writeCompliance(evaluateCompliance(analysis, expectations, 'expect'));
  const slo = c.checks.find((k) => k.id === 'slo')!;
  t.equal(slo.status, 'fail');
  t.match(
    slo.violations[0]!.message,
    /document-agent → genai-network-demo\/llm-service: error rate 100% \(16\/16, of which 16 requests never got an answer \(the client's generate\)\) over 1\.0%/,
  );
  t.match(slo.notes.join('\n'), /the clients completed 0 of 16 workflows \(16 failed\)/);
  t.equal(c.status, 'FAIL');
  // The deliberate timeout scenario on traffic-generator → llm-service is expected, so it is no failure.
  t.notMatch(slo.violations.map((v) => v.message).join('\n'), /traffic-generator/);
});
