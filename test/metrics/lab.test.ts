// The lab with metrics on the embedded cluster: with this machine's prometheus the report has a reconciled metrics
// section and `analyze --prometheus` reproduces the lab's edges; without one the report says metrics were not
// collected and the flows still decide the verdict.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateSchema, type JsonSchema } from '../../lib/analysis/json-schema.ts';
import { forwardService } from '../../lib/kube/port-forward.ts';
import { tolerances } from '../../lib/metrics/reconcile.ts';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { expectationsPath } from '../../lib/lab/analyze-run.ts';
import { runHubbleLab } from '../fixtures/cli-process.ts';
import { brokenPolicyRun, sharedLabRun } from '../fixtures/lab-run.ts';
import { prometheusMissing } from '../fixtures/prometheus.ts';
import { kubeConfigOf } from '../fixtures/sim-kube.ts';

const ns = 'genai-network-demo';
const schema = JSON.parse(readFileSync(new URL('../../lib/report/report.schema.json', import.meta.url), 'utf8')) as JsonSchema;
const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');
const edgesOf = (r: any) => (r.edges as any[]).map((e) => `${e.source} → ${e.destination}`).sort();
const httpOf = (r: any) => Object.fromEntries((r.edges as any[]).filter((e) => e.http).map((e) => [`${e.source} → ${e.destination}`, e.http.requests]));

t.test('the lab reconciles flows with metrics, and analyze --prometheus reproduces its edges', { skip: prometheusMissing }, async (t) => {
  const sim = await startSimCluster({});
  t.teardown(() => sim.stop());
  const dir = t.testdir();
  const out = join(dir, 'lab');
  const lab = await runHubbleLab(['run', '--duration', '8s', '--out', out, '--kubeconfig', sim.kubeconfigPath], 300_000);
  t.equal(lab.code, 0, `${lab.stdout}\n${lab.stderr}`);
  const report = JSON.parse(read(out, 'report.json'));
  t.match(report.metrics, { source: /^http:\/\/127\.0\.0\.1:\d+$/, note: null, reconciliation: { status: 'ok' } }, 'report.json: metrics reconciled');
  const kinds = new Set(report.metrics.reconciliation.checks.map((c: any) => c.kind));
  t.same([...kinds].sort(), ['drops', 'flows-by-verdict', 'http-requests']);
  for (const edge of [
    `${ns}/traffic-generator → ${ns}/agent-coordinator`,
    `${ns}/agent-coordinator → ${ns}/document-agent`,
    `${ns}/document-agent → ${ns}/llm-service`,
  ]) {
    const c = report.metrics.reconciliation.checks.find((x: any) => x.name === `http requests ${edge}`);
    t.ok(c && c.ok && c.flows > 0, `${edge}: ${c?.flows} requests in flows, ${c?.metrics} in metrics`);
  }
  t.same(validateSchema(report, schema), [], 'report.json with its metrics section validates');
  t.match(read(out, 'report.md'), /## Flows and metrics\n\nHubble metrics from http:\/\/127\.0\.0\.1:\d+ for the flows' window \(.+\): ✅ they agree/);

  // The run's Prometheus keeps running in the sim: the report again, from metrics only.
  const fwd = await forwardService(kubeConfigOf(sim), { namespace: 'kube-system', service: 'prometheus', servicePort: 9090, localPort: 19290 });
  t.teardown(() => fwd.close());
  const out2 = join(dir, 'from-metrics');
  const res = await runHubbleLab(
    [
      'analyze',
      '--prometheus',
      `http://${fwd.address}`,
      '--since',
      report.window.start,
      '--until',
      report.metrics.window.end,
      '--namespace',
      ns,
      '--expect',
      expectationsPath,
      '--out',
      out2,
    ],
    60_000,
  );
  const fromMetrics = JSON.parse(read(out2, 'report.json'));
  // Counters are read at the scrape after the flows' last one, so a request in flight at the window's end can be in
  // the metrics only: the counts agree within the reconciliation's tolerance, and the workflow's edges are in both.
  const workflow = [
    `${ns}/traffic-generator → ${ns}/agent-coordinator`,
    `${ns}/agent-coordinator → ${ns}/document-agent`,
    `${ns}/document-agent → ${ns}/llm-service`,
  ];
  for (const edge of workflow) {
    t.ok(edgesOf(report).includes(edge) && edgesOf(fromMetrics).includes(edge), `${edge} is an edge in both reports`);
  }
  const flowsHttp = httpOf(report);
  const metricsHttp = httpOf(fromMetrics);
  for (const edge of new Set([...Object.keys(flowsHttp), ...Object.keys(metricsHttp)])) {
    const [a, b] = [flowsHttp[edge] ?? 0, metricsHttp[edge] ?? 0];
    const tolerance = Math.max(tolerances.counts.absolute, Math.floor(tolerances.counts.relative * Math.max(a, b)));
    t.ok(Math.abs(a - b) <= tolerance, `${edge}: ${a} HTTP requests in flows, ${b} in metrics (tolerance ${tolerance})`);
  }
  for (const edge of workflow) t.ok(metricsHttp[edge]! > 0, `${edge}: requests from metrics`);
  t.equal(fromMetrics.input.kind, 'prometheus');
  t.same(validateSchema(fromMetrics, schema), [], 'the report from metrics validates');
  t.equal(res.code, 0, `the gate passes on the metrics too\n${res.stdout}\n${res.stderr}`);
  t.equal(fromMetrics.compliance.status, report.compliance.status);
});

t.test('analyze --prometheus: bad input is refused with a clear message and exit 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--prometheus', 'not a url'], /--prometheus "not a url": not a URL/],
    [['--prometheus', 'ftp://x'], /only http and https are supported/],
    [['--prometheus', 'http://127.0.0.1:9', '--verdict', 'DROPPED'], /--verdict is not available with --prometheus: metrics carry no such detail/],
    [['--prometheus', 'http://127.0.0.1:9', '--input', 'flows.json'], /--prometheus and --input cannot be used together/],
    [['--prometheus', 'http://127.0.0.1:9', '--since', 'yesterday'], /--since: cannot read "yesterday" as a time/],
    [['--prometheus', 'http://127.0.0.1:9', '--since', '1m', '--until', '5m'], /--until \(.*\) is not after --since/],
  ];
  const dir = t.testdir();
  for (const [args, message] of cases) {
    const res = await runHubbleLab(['analyze', ...args, '--out', join(dir, 'bad')], 30_000);
    t.equal(res.code, 2, args.join(' '));
    t.match(res.stderr, message);
  }
  const down = await runHubbleLab(['analyze', '--prometheus', 'http://127.0.0.1:9', '--out', join(dir, 'down')], 30_000);
  t.equal(down.code, 2, 'an unreachable Prometheus is an infrastructure error');
  t.match(down.stderr, /Prometheus at http:\/\/127\.0\.0\.1:9 did not answer/);
});

t.test('without a prometheus binary the report says metrics were not collected; the flows still decide the verdict', async (t) => {
  // The broken-policy run the lab's files share, on its own embedded cluster, whose prom/prometheus image looks for the
  // binary where HUBBLE_LAB_PROMETHEUS says: no binary there. It fails on the flows, as it does with metrics.
  const lab = await sharedLabRun(t, brokenPolicyRun.args, brokenPolicyRun.env);
  t.equal(lab.code, 1, `FAIL from the flows, not incomplete or an error\n${lab.stdout}\n${lab.stderr}`);
  const report = JSON.parse(read(lab.out, 'report.json'));
  t.equal(report.compliance.status, 'FAIL');
  t.match(report.metrics, { source: null, window: null, reconciliation: null, note: /^metrics were not collected: no prometheus binary on this machine/ });
  t.match(read(lab.out, 'report.md'), /## Flows and metrics\n\nmetrics were not collected: /);
  t.same(validateSchema(report, schema), [], 'report.json validates');
});
