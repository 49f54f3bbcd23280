// Analysis from Hubble metrics against analysis from flows, for the same demo window: the lab runs on the embedded
// cluster with this machine's prometheus; then the report's analysis is built from the run's Prometheus and from
// the run's flows.jsonl, each timed; and the series each context option costs, from the same demo flows.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowAggregator } from '../lib/analysis/aggregate.ts';
import { readResponseBatches, createReadStats } from '../lib/hubble/codec/read.ts';
import { forwardService } from '../lib/kube/port-forward.ts';
import { analyzeFromMetrics } from '../lib/metrics/analysis.ts';
import { findPrometheus } from '../lib/metrics/prometheus-binary.ts';
import { PrometheusClient } from '../lib/metrics/prometheus.ts';
import { reconcile } from '../lib/metrics/reconcile.ts';
import { waitForScrape } from '../lib/metrics/lab-metrics.ts';
import { startSimCluster } from '../lib/sim/cluster.ts';
import { parseMetricList } from '../lib/sim/hubble/metrics-config.ts';
import { HubbleMetrics } from '../lib/sim/hubble/metrics.ts';
import { parseExposition } from '../lib/metrics/exposition.ts';
import type { Flow } from '../lib/flows/types.ts';
import { hubbleMetrics } from '../lib/lab/cilium-config.ts';
import { runHubbleLab } from '../test/fixtures/cli-process.ts';
import { fmtMs, machine, timeMedian } from './lib.ts';
import { kubeConfigOf } from '../test/fixtures/sim-kube.ts';

const ns = 'genai-network-demo';
const heading = '## analyze --prometheus against analyze of flows (bench/metrics.bench.ts)';

if (!findPrometheus()) {
  process.stdout.write(`${heading}\n\nNot measured: no prometheus binary on this machine (apt-get install prometheus).\n`);
  process.exit(0);
}

const sim = await startSimCluster({});
const out = mkdtempSync(join(tmpdir(), 'bench-metrics-'));
const lab = await runHubbleLab(['run', '--duration', '20s', '--out', out, '--kubeconfig', sim.kubeconfigPath], 600_000);
if (lab.code !== 0 && lab.code !== 1) {
  process.stderr.write(lab.stdout + lab.stderr);
  throw new Error(`the lab ended with exit ${lab.code}`);
}
const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
const lastFlow = new Date(report.window.end);
const flowsFile = join(out, 'flows.jsonl');

const forward = await forwardService(kubeConfigOf(sim), { namespace: 'kube-system', service: 'prometheus', servicePort: 9090, localPort: 19190 });
const prom = new PrometheusClient(`http://${forward.address}`);
const { version } = await prom.buildInfo();
// As the lab does: counters at the scrapes around the flows' window.
const window = { start: new Date(report.window.start), end: await waitForScrape(prom, lastFlow, { job: 'hubble-metrics', timeoutMs: 30_000 }) };

let flowsAnalysis: ReturnType<FlowAggregator['finish']> | undefined;
const fromFlows = await timeMedian(async () => {
  const agg = new FlowAggregator();
  for await (const batch of readResponseBatches(flowsFile, createReadStats())) for (const r of batch) agg.add(r);
  flowsAnalysis = agg.finish();
});
let metricsAnalysis: Awaited<ReturnType<typeof analyzeFromMetrics>> | undefined;
const fromMetrics = await timeMedian(async () => {
  metricsAnalysis = await analyzeFromMetrics(prom, window, { namespaces: [ns] });
});
const r = reconcile(flowsAnalysis!, metricsAnalysis!.analysis);

// Series per option: the run's flows through one agent's metrics per configuration (all nodes' flows in one: the
// sum over agents of per-node series is at least this, at most three times it).
const flows: Flow[] = [];
for await (const batch of readResponseBatches(flowsFile, createReadStats())) for (const resp of batch) if (resp.flow) flows.push(resp.flow);
const ctx = (id: string) => `sourceContext=${id};destinationContext=${id}`;
const configs: [string, string][] = [
  ["the guide's list, no context (http instead of httpV2)", 'dns drop tcp flow port-distribution icmp http'],
  ["the lab's (workload|pod|reserved-identity on dns, drop, flow, port-distribution, httpV2, policy)", hubbleMetrics],
  ['flow with workload contexts', `flow:${ctx('workload|pod|reserved-identity')}`],
  ['flow with pod contexts', `flow:${ctx('pod')}`],
  ['flow with ip contexts', `flow:${ctx('ip')}`],
  ['httpV2, no context', 'httpV2'],
  ['httpV2 with workload contexts and labelsContext', hubbleMetrics.split(' ').find((m) => m.startsWith('httpV2'))!],
  ['httpV2 with pod contexts', `httpV2:${ctx('pod')}`],
];
const series = configs.map(([what, spec]) => {
  const m = new HubbleMetrics(parseMetricList(spec), { openMetrics: false });
  for (const f of flows) m.process(f);
  const scrape = parseExposition(m.render(false));
  return { what, series: scrape.samples.length };
});

await forward.close();
await sim.stop();

const lines = [
  heading,
  '',
  `The lab on the embedded cluster (\`hubble-lab run --duration 20s\`), Prometheus ${version} from this machine scraping the three agents`,
  `every 5 s. Window: the run's flows, ${window.start.toISOString()} to ${window.end.toISOString()} (${((window.end.getTime() - window.start.getTime()) / 1000).toFixed(1)} s),`,
  `${flowsAnalysis!.totals.flows.toLocaleString('en-US')} flows in flows.jsonl (namespace ${ns}). Both build the report's Analysis in this process (no report`,
  `writing); medians of 5 runs after a warm-up. ${machine()}.`,
  '',
  '| what | median | queries / records | edges | HTTP requests |',
  '| --- | ---: | ---: | ---: | ---: |',
  `| analyze of the window's flows (flows.jsonl, anchor) | ${fmtMs(fromFlows.medianMs)} | ${flowsAnalysis!.totals.flows.toLocaleString('en-US')} records | ${flowsAnalysis!.edges.length} | ${flowsAnalysis!.totals.httpRequests} |`,
  `| analyze --prometheus, same window | ${fmtMs(fromMetrics.medianMs)} | ${metricsAnalysis!.queries} queries | ${metricsAnalysis!.analysis.edges.length} | ${metricsAnalysis!.analysis.totals.httpRequests} |`,
  '',
  `Reconciliation of the two: ${r.status} (${r.checks.filter((c) => c.ok).length}/${r.checks.length} checks within tolerance${
    r.checks.some((c) => !c.ok)
      ? `; off: ${r.checks
          .filter((c) => !c.ok)
          .map((c) => `${c.name} ${c.flows} vs ${c.metrics}`)
          .join(', ')}`
      : ''
  }). The metrics' cost does not grow with the`,
  'flow count: it is a fixed number of queries over series whose number depends on the workload pairs, not on traffic.',
  '',
  'Series one agent would serve for the same demo flows, per configuration (the cost of the context labels):',
  '',
  '| hubble-metrics | series |',
  '| --- | ---: |',
  ...series.map((s) => `| ${s.what.replace(/\|/g, '\\|')} | ${s.series} |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
