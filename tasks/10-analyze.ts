// Lab step 10: end the flow collection after the traffic, then report and gate against manifests/expectations.yaml.
import { join } from 'node:path';
import { FlowAggregator } from '../lib/analysis/aggregate.ts';
import { evaluateCompliance } from '../lib/analysis/compliance.ts';
import { loadExpectations } from '../lib/analysis/expectations.ts';
import { ExitCode, InfraError } from '../lib/errors.ts';
import type { CollectorStats, FlowCollector } from '../lib/lab/collector.ts';
import { defineTask, type LabContext } from '../lib/lab/task.ts';
import { runStandalone } from '../lib/lab/standalone.ts';
import { buildReport } from '../lib/report/json.ts';
import { addLabPolicyReport } from '../lib/lab/policy-report.ts';
import { reportFormats, writeReports } from '../lib/report/write.ts';
import { demoNamespace, manifestsDir } from '../lib/traffic/manifests.ts';
import { clientView } from '../lib/analysis/clients.ts';
import type { ProbeResult, TrafficSummary } from '../lib/traffic/summary.ts';
import { flowsPath } from './08-collect.ts';
import { labMetrics, type MetricsState } from '../lib/metrics/lab-metrics.ts';

/** Flows still arriving from the agents after the traffic ends (Relay buffers, proxies finishing). */
export const drainMs = 2000;

export const expectationsPath = join(manifestsDir, 'expectations.yaml');

function collectedLine(stats: CollectorStats): string {
  const parts = [`${stats.flows} flows collected`];
  if (stats.gaps.length) parts.push(`${stats.gaps.length} stream gap(s), ${stats.gaps.filter((g) => !g.recovered).length} not recovered`);
  if (stats.duplicates) parts.push(`${stats.duplicates} duplicate(s) dropped`);
  if (stats.lostEvents) parts.push(`${stats.lostEvents} lost-events record(s)`);
  return parts.join(', ');
}

/**
 * Ends the collection and writes the reports from whatever was collected. `brokenBy` says why the run ended before
 * its traffic was done (a task failed, the cluster went away): the flows collected until then are still reported,
 * and the verdict cannot be better than INCOMPLETE.
 */
export async function analyzeCollected(ctx: LabContext, brokenBy?: string): Promise<void> {
  const aggregator = ctx.shared.aggregator as FlowAggregator | undefined;
  const collector = ctx.shared.collector as FlowCollector | undefined;
  if (!aggregator) throw new InfraError('no flows were collected in this run', { hint: 'run the collect task before analyze (hubble-lab run collect traffic analyze)' });
  if (!brokenBy && ctx.shared.trafficDone) await ctx.shared.trafficDone;
  if (collector) {
    ctx.shared.collector = undefined;
    ctx.report.progress(brokenBy ? 'ending the flow collection' : `draining flows for ${drainMs / 1000}s`);
    const stats = await collector.stop(brokenBy ? 0 : drainMs);
    ctx.report.info(collectedLine(stats));
    for (const gap of stats.gaps) aggregator.quality.observeGap(gap);
  }
  if (brokenBy) {
    const now = new Date().toISOString();
    aggregator.quality.observeGap({ from: now, to: null, seconds: 0, recovered: false, estimatedLost: 0, reason: `the run stopped before its traffic was done: ${brokenBy}` });
  }
  const expectations = await loadExpectations(expectationsPath);
  const analysis = aggregator.finish();
  const traffic = ctx.shared.traffic as TrafficSummary | undefined;
  // The generator's own account: requests it never got an answer for count against the edge they were sent on.
  if (traffic) analysis.clients = clientView(traffic, (ctx.shared.probe as ProbeResult | undefined) ?? null, analysis.services, demoNamespace, 'traffic-summary.json');
  // With the run's Prometheus, the same window read from metrics and reconciled: a mismatch warns (completeness).
  const { metrics, compliance } = await labMetrics(ctx.shared.metrics as MetricsState | undefined, analysis, evaluateCompliance(analysis, expectations, 'expect'), {
    namespaces: [demoNamespace],
    signal: ctx.signal,
  });
  ctx.report.info(metrics.reconciliation ? `flows and Hubble metrics: ${metrics.reconciliation.status} (${metrics.reconciliation.checks.length} checks)` : (metrics.note ?? ''));
  const report = buildReport(analysis, compliance, {
    // The run's flows.jsonl holds exactly the flows analysed: drill-down commands read it again after the cluster is gone.
    kind: 'file',
    source: flowsPath(ctx),
    filters: ['--namespace', 'genai-network-demo'],
    records: analysis.totals.flows,
    skippedByFilter: 0,
  });
  report.metrics = metrics;
  await addLabPolicyReport(ctx, report, flowsPath(ctx));
  const written = await writeReports(report, ctx.options.outDir, reportFormats);
  ctx.shared.verdict = compliance.status;
  ctx.exitCode = compliance.exitCode === 0 ? ExitCode.pass : compliance.exitCode;
  ctx.report.info(`verdict ${compliance.status}${compliance.reasons.length ? `: ${compliance.reasons.join('; ')}` : ''}`);
  for (const path of [flowsPath(ctx), ...written]) ctx.report.info(`wrote ${path}`);
}

export const analyze = defineTask({
  id: 'analyze',
  title: 'Analyze the flows and gate',
  kind: 'action',
  async plan(ctx) {
    return { changes: [], notes: [`report and gate with ${expectationsPath} into ${ctx.options.outDir}`] };
  },
  async apply(ctx) {
    await analyzeCollected(ctx);
  },
  async verify(ctx) {
    if (!ctx.shared.verdict) throw new InfraError('no verdict was reached');
  },
});

export default analyze;
await runStandalone(import.meta.url, analyze);
