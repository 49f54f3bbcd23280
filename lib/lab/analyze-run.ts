// The lab's analysis: the run's flows (the collection analyze ends, or the latest run's flows.jsonl when analyze
// runs alone) into report.md/report.json/junit.xml, gated against manifests/expectations.yaml.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FlowAggregator } from '../analysis/aggregate.ts';
import { clientView } from '../analysis/clients.ts';
import { evaluateCompliance } from '../analysis/compliance.ts';
import { loadExpectations } from '../analysis/expectations.ts';
import { ExitCode, InfraError, InputError } from '../errors.ts';
import { readResponses } from '../hubble/codec/read.ts';
import { labMetrics } from '../metrics/lab-metrics.ts';
import { buildReport } from '../report/json.ts';
import { reportFileNames, reportFormats, writeReports } from '../report/write.ts';
import type { ProbeResult, TrafficSummary } from '../traffic/summary.ts';
import type { CollectorStats } from './collector.ts';
import { demoNamespace, manifestsDir } from './manifests.ts';
import { addLabPolicyReport } from './policy-report.ts';
import { displayPath, latestRunFlows, reportsDir } from './run-folders.ts';
import type { LabContext } from './task.ts';

/** Flows still arriving from the agents after the traffic ends (Relay buffers, proxies finishing). */
export const drainMs = 2000;

export const expectationsPath = join(manifestsDir, 'expectations.yaml');

/** The run's flows.jsonl, written by collect. */
export function flowsPath(ctx: LabContext): string {
  return join(ctx.options.outDir, 'flows.jsonl');
}

/** What the traffic task writes beside the flows: the generator's summary and the probe's outcome. */
export const trafficSummaryFile = 'traffic-summary.json';

function collectedLine(stats: CollectorStats): string {
  const parts = [`${stats.flows} flows collected`];
  if (stats.gaps.length) parts.push(`${stats.gaps.length} stream gap(s), ${stats.gaps.filter((g) => !g.recovered).length} not recovered`);
  if (stats.duplicates) parts.push(`${stats.duplicates} duplicate(s) dropped`);
  if (stats.lostEvents) parts.push(`${stats.lostEvents} lost-events record(s)`);
  return parts.join(', ');
}

interface Analysed {
  aggregator: FlowAggregator;
  /** The flows file the report's drill-down commands read. */
  flowsFile: string;
  traffic?: TrafficSummary;
  probe?: ProbeResult;
}

/** Reports and gates what was analysed; the verdict and exit code go on the context. */
async function reportAndGate(ctx: LabContext, { aggregator, flowsFile, traffic, probe }: Analysed): Promise<void> {
  const expectations = await loadExpectations(expectationsPath);
  const analysis = aggregator.finish();
  // The generator's own account: requests it never got an answer for count against the edge they were sent on.
  if (traffic) analysis.clients = clientView(traffic, probe ?? null, analysis.services, demoNamespace, trafficSummaryFile);
  // With the run's Prometheus, the same window read from metrics and reconciled: a mismatch warns (completeness).
  const { metrics, compliance } = await labMetrics(ctx.shared.metrics, analysis, evaluateCompliance(analysis, expectations, 'expect'), {
    namespaces: [demoNamespace],
    signal: ctx.signal,
  });
  ctx.progress.info(
    metrics.reconciliation
      ? `flows and Hubble metrics: ${metrics.reconciliation.status} (${metrics.reconciliation.checks.length} checks)`
      : (metrics.note ?? ''),
  );
  const report = buildReport(analysis, compliance, {
    // The flows file holds exactly the flows analysed: drill-down commands read it again after the cluster is gone.
    kind: 'file',
    source: flowsFile,
    filters: ['--namespace', demoNamespace],
    records: analysis.totals.flows,
    skippedByFilter: 0,
  });
  report.metrics = metrics;
  await addLabPolicyReport(ctx, report, flowsFile);
  const written = await writeReports(report, ctx.options.outDir, reportFormats);
  ctx.shared.verdict = compliance.status;
  ctx.shared.reportPath = join(ctx.options.outDir, reportFileNames.md);
  ctx.exitCode = compliance.exitCode === 0 ? ExitCode.pass : compliance.exitCode;
  ctx.progress.info(`verdict ${compliance.status}${report.compliance.reasons.length ? `: ${report.compliance.reasons.join('; ')}` : ''}`);
  for (const path of [...(flowsFile === flowsPath(ctx) ? [flowsFile] : []), ...written]) ctx.progress.info(`wrote ${displayPath(path)}`);
}

/**
 * Ends the collection and writes the reports from whatever was collected. `brokenBy` says why the run ended before
 * its traffic was done (a task failed, the cluster went away): the flows collected until then are still reported,
 * and the verdict cannot be better than INCOMPLETE.
 */
export async function analyzeCollected(ctx: LabContext, brokenBy?: string): Promise<void> {
  const { aggregator, collector } = ctx.shared;
  if (!aggregator)
    throw new InfraError('no flows were collected in this run', { hint: 'run the collect task before analyze (hubble-lab run collect traffic analyze)' });
  if (!brokenBy && ctx.shared.trafficDone) await ctx.shared.trafficDone;
  if (collector) {
    ctx.shared.collector = undefined;
    ctx.progress.progress(brokenBy ? 'ending the flow collection' : `draining flows for ${drainMs / 1000}s`);
    const stats = await collector.stop(brokenBy ? 0 : drainMs);
    ctx.progress.info(collectedLine(stats));
    for (const gap of stats.gaps) aggregator.quality.observeGap(gap);
  }
  if (brokenBy) {
    const now = new Date().toISOString();
    aggregator.quality.observeGap({
      from: now,
      to: null,
      seconds: 0,
      recovered: false,
      estimatedLost: 0,
      reason: `the run stopped before its traffic was done: ${brokenBy}`,
    });
  }
  await reportAndGate(ctx, { aggregator, flowsFile: flowsPath(ctx), traffic: ctx.shared.traffic, probe: ctx.shared.probe });
}

/** The traffic summary an earlier run wrote beside its flows, if it did. */
function readTrafficFile(file: string): { summary?: TrafficSummary; probe?: ProbeResult } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as { summary?: TrafficSummary; probe?: ProbeResult | null };
    return { summary: parsed.summary, probe: parsed.probe ?? undefined };
  } catch (err) {
    throw new InputError(`${file}: not JSON (${(err as Error).message})`, { hint: 'remove it, or run the traffic again' });
  }
}

/**
 * analyze run without collect: the latest earlier run's flows.jsonl (and its traffic summary, if it has one) into
 * this run's reports, gated as a full run is. The file read is said in the output and is the report's source.
 */
export async function analyzeLatestRun(ctx: LabContext): Promise<void> {
  const flowsFile = latestRunFlows(reportsDir, ctx.options.outDir);
  if (!flowsFile) {
    throw new InputError(`no flows to analyze: this run collected none and no earlier run left a ${reportsDir}/<time>/flows.jsonl`, {
      hint: 'collect flows in the same run: hubble-lab run collect traffic analyze',
    });
  }
  ctx.progress.info(`reading the latest run's flows: ${displayPath(flowsFile)}`);
  const aggregator = new FlowAggregator();
  for await (const resp of readResponses(flowsFile)) aggregator.add(resp);
  const { summary, probe } = readTrafficFile(join(dirname(flowsFile), trafficSummaryFile));
  if (summary) ctx.progress.info(`the clients' view from ${displayPath(join(dirname(flowsFile), trafficSummaryFile))}`);
  await reportAndGate(ctx, { aggregator, flowsFile, traffic: summary, probe });
}
