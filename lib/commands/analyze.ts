// `hubble-lab analyze`: one pass over flows from a file or a live Relay into report.md/json, junit.xml and a gate verdict.
import { join } from 'node:path';
import { optionFlag, optionString, optionValues, type OptionSpec, type ParsedArgs } from '../args.ts';
import type { Command, CommandIO } from '../command.ts';
import { readFile } from 'node:fs/promises';
import { ExitCode, InputError, UsageError, formatError } from '../errors.ts';
import { clientView, targetsNamespace } from '../analysis/clients.ts';
import type { ProbeResult, TrafficSummary } from '../traffic/summary.ts';
import type { Flow, GetFlowsRequest, GetFlowsResponse } from '../flows/types.ts';
import { FlowAggregator } from '../analysis/aggregate.ts';
import { evaluateCompliance, GATE_MODES, type GateMode } from '../analysis/compliance.ts';
import { loadExpectations, type Expectations } from '../analysis/expectations.ts';
import { createReadStats, describeMalformed, readResponseBatches, type ReadOptions, type ReadStats } from '../hubble/codec/read.ts';
import { maxLineBytesOption, parseMaxLineBytes } from '../hubble/codec/lines.ts';
import { inputReadOf, type InputRead, type UnknownValue } from '../analysis/quality.ts';
import { ALL_FLOWS, buildGetFlowsRequest, observeFilterOptions, observeSelectorOptions } from '../hubble/filter/flags.ts';
import { compileFlowFilters } from '../hubble/filter/match.ts';
import { parseGoDuration } from '../hubble/filter/time.ts';
import { parseTimestamp, timestampToNanos } from '../hubble/grpc/timestamp.ts';
import { annotations } from '../report/github.ts';
import { buildReport, formatReportJson, type Report, type ReportInput } from '../report/json.ts';
import { makeOutDir, reportFormats, writeReports, type ReportFormat } from '../report/write.ts';
import { attachPolicyReport } from '../report/policy.ts';
import { compileLocated, readPolicyFiles } from '../policy/load.ts';
import { ObservationTable } from '../policy/observations.ts';
import { fmtInt, fmtPct, plural } from '../report/format.ts';
import { prometheusOption } from '../metrics/prometheus-option.ts';

const SOURCE = 'Source';
const OUTPUT = 'Output and gate';

const ownOptions: OptionSpec[] = [
  {
    name: 'input',
    short: 'i',
    type: 'string',
    valueName: 'FILE',
    group: SOURCE,
    description: 'flows file: hubble observe -o jsonpb/json or the Hubble exporter, plain or gzip; - for stdin',
  },
  maxLineBytesOption,
  {
    name: 'server',
    type: 'string',
    valueName: 'ADDR',
    group: SOURCE,
    description: 'Hubble Relay (or agent) to read live flows from, with --since/--until or --follow --duration',
  },
  prometheusOption,
  {
    name: 'duration',
    type: 'string',
    valueName: 'DURATION',
    group: SOURCE,
    description: 'with --follow: stop after this long (60s, 5m); Ctrl-C also stops and writes the reports',
  },
  { name: 'out', type: 'string', valueName: 'DIR', group: OUTPUT, description: 'folder for the reports (default reports/<timestamp>/)' },
  {
    name: 'format',
    type: 'string',
    valueName: 'LIST',
    group: OUTPUT,
    default: 'md,json,junit',
    description: 'reports to write: any of md, json, junit, comma-separated',
  },
  { name: 'json', type: 'boolean', group: OUTPUT, description: 'print report.json to stdout (the summary goes to stderr)' },
  {
    name: 'traffic-summary',
    type: 'string',
    valueName: 'FILE',
    group: SOURCE,
    description: 'the clients’ own account (a lab run’s traffic-summary.json): requests they never got an answer for count against their edge’s service levels',
  },
  {
    name: 'expect',
    type: 'string',
    valueName: 'FILE',
    group: OUTPUT,
    description: 'expectations (YAML): allowed and denied edges, service levels, check modes',
  },
  {
    name: 'policy',
    type: 'string',
    repeatable: true,
    valueName: 'FILE|DIR',
    group: OUTPUT,
    description: 'the policies in force: each policy drop explained with them, a Policy section (unused rules, uncovered edges) and suggested-policy.yaml',
  },
  {
    name: 'kubeconfig',
    type: 'string',
    valueName: 'FILE',
    group: OUTPUT,
    description: "also take the cluster's own policies as the policies in force (with --context, or the current context)",
  },
  { name: 'context', type: 'string', valueName: 'NAME', group: OUTPUT, description: 'kubeconfig context whose policies are in force' },
  {
    name: 'gate',
    type: 'string',
    valueName: 'MODE',
    group: OUTPUT,
    description: 'expect (default with --expect), any-drop (default without: the lab guide’s rule, any policy drop fails) or off (never fail)',
  },
];

const details = `Examples:
  hubble-lab analyze --input flows.json
  hubble-lab analyze --input flows.json.gz --namespace genai-network-demo --expect expectations.yaml
  hubble-lab analyze --server localhost:4245 --follow --duration 60s --out reports/live
  hubble observe -o jsonpb --all | hubble-lab analyze --input - --json > report.json
  hubble-lab analyze --prometheus http://127.0.0.1:9090 --since 15m --namespace genai-network-demo --expect expectations.yaml

Edges go from client to server: replies (is_reply) are counted on their request's edge, never as a reverse
edge. An HTTP request seen at both the client's egress proxy and the server's ingress proxy counts once, with the
server side's latency. Latency and status codes exist only where an L7 policy sends traffic through Cilium's
proxy; without one the report says so. Filter flags are those of hubble observe; lost events and node status
are always counted, whatever the filters.

Exit codes: 0 PASS, 1 FAIL, 3 INCOMPLETE (lost events or unavailable nodes, with incomplete: fail in the
expectations), 2 bad flags, an unreadable file or expectations, or a server that cannot be reached (the reports
are still written from what was read before a failure).`;

export const analyzeCommand: Command = {
  name: 'analyze',
  summary: 'analyze flows into report.md/report.json/junit.xml and gate CI on the compliance verdict',
  usage: 'analyze (--input FILE|- | --server ADDR | --prometheus URL) [selectors] [filters] [--expect FILE] [--gate MODE] [--out DIR]',
  options: [...ownOptions, ...observeSelectorOptions, ...observeFilterOptions],
  details,
  run,
};

const ownNames = new Set(ownOptions.map((o) => o.name));
const SELECTOR_NAMES = new Set(observeSelectorOptions.map((o) => o.name));

/** The selector and filter flags as given, for the report (`--namespace x --verdict DROPPED`). */
function filterFlags(args: ParsedArgs): string[] {
  const out: string[] = [];
  for (const o of args.ordered) {
    if (ownNames.has(o.name)) continue;
    out.push(`--${o.name}`);
    if (o.value !== true) out.push(String(o.value));
  }
  return out;
}

function formats(args: ParsedArgs): ReportFormat[] {
  const list = (optionString(args, 'format') ?? reportFormats.join(','))
    .split(',')
    .map((f) => f.trim().toLowerCase())
    .filter(Boolean)
    .map((f) => (f === 'markdown' ? 'md' : f === 'xml' ? 'junit' : f));
  for (const f of list) {
    if (!(reportFormats as readonly string[]).includes(f))
      throw new UsageError(`analyze: unknown report format "${f}"`, { hint: `use any of ${reportFormats.join(', ')}, comma-separated` });
  }
  return [...new Set(list)] as ReportFormat[];
}

function gateMode(args: ParsedArgs, hasExpect: boolean): GateMode {
  const value = optionString(args, 'gate');
  if (value === undefined) return hasExpect ? 'expect' : 'any-drop';
  if (!(GATE_MODES as readonly string[]).includes(value)) throw new UsageError(`analyze: unknown --gate "${value}"`, { hint: `use ${GATE_MODES.join(', ')}` });
  if (value === 'expect' && !hasExpect) throw new UsageError('analyze: --gate expect needs --expect FILE');
  return value as GateMode;
}

function defaultOutDir(now: Date): string {
  return join(
    'reports',
    now
      .toISOString()
      .replace(/\.\d+Z$/, 'Z')
      .replace(/:/g, '-'),
  );
}

interface Collected {
  agg: FlowAggregator;
  read: InputRead;
  unknownValues: UnknownValue[];
  stats: ReadStats | undefined;
  records: number;
  failure: unknown;
}

/** A time window for files, as hubble applies it: by each record's own time. */
function windowFilter(req: GetFlowsRequest): ((resp: GetFlowsResponse) => boolean) | undefined {
  if (req.since === undefined && req.until === undefined) return undefined;
  const since = req.since === undefined ? undefined : timestampToNanos(parseTimestamp(req.since)!);
  const until = req.until === undefined ? undefined : timestampToNanos(parseTimestamp(req.until)!);
  return (resp) => {
    const t = resp.time ?? resp.flow?.time;
    const parsed = t === undefined ? undefined : parseTimestamp(t);
    const ns = parsed === undefined ? 0n : timestampToNanos(parsed);
    return (since === undefined || ns >= since) && (until === undefined || ns <= until);
  };
}

/** Hands each flow the filters kept to the policy explanations, beside the aggregator. */
type FlowTap = (resp: GetFlowsResponse) => void;

async function collectFile(path: string, req: GetFlowsRequest, io: CommandIO, readOptions: ReadOptions, tap?: FlowTap): Promise<Collected> {
  if (req.number !== undefined && !req.first && req.number !== ALL_FLOWS) {
    throw new UsageError('analyze: --last is not available with --input', { hint: 'pick flows from a file with --since/--until or --first N' });
  }
  const matches = compileFlowFilters(req.whitelist, req.blacklist);
  const inWindow = windowFilter(req);
  const agg = new FlowAggregator({ accept: (flow: Flow) => matches(flow) });
  const stats = createReadStats();
  const limit = req.first ? (req.number ?? Infinity) : Infinity;
  let records = 0;
  let failure: unknown;
  try {
    const input = path === '-' ? { stream: io.stdin, name: '<stdin>' } : path;
    reading: for await (const batch of readResponseBatches(input, stats, readOptions)) {
      for (const resp of batch) {
        records++;
        if (inWindow && !inWindow(resp)) continue;
        agg.add(resp);
        if (tap && resp.flow && matches(resp.flow)) tap(resp);
        if (agg.flowsCounted >= limit) break reading;
      }
      if (io.signal.aborted) {
        agg.quality.note('Reading was interrupted: the report covers the flows read until then.');
        break;
      }
    }
  } catch (err) {
    // Nothing at all could be read (no such file, not readable): an input error. Otherwise the report covers what was.
    if (records === 0 && stats.lines === 0) throw err;
    failure = err;
    agg.quality.setFailure(firstLine(err), stats.lastRecordLine || null);
  }
  return { agg, read: inputReadOf(stats, path), unknownValues: [...stats.unknownValues.values()], stats, records, failure };
}

/** A lab run's traffic-summary.json: `{summary, probe}` as the traffic task writes it. */
async function loadTrafficSummary(path: string): Promise<{ summary: TrafficSummary; probe: ProbeResult | null }> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code ? e.code : `not JSON (${e.message})`;
    throw new InputError(`cannot read traffic summary ${path}: ${why}`, { hint: 'pass the traffic-summary.json a lab run wrote beside its report' });
  }
  const v = value as { summary?: { mode?: unknown; steps?: unknown; workflows?: unknown }; probe?: unknown };
  if (!v || typeof v !== 'object' || v.summary?.mode !== 'traffic' || typeof v.summary.steps !== 'object' || typeof v.summary.workflows !== 'object') {
    throw new InputError(`${path}: not a traffic summary (expected {"summary": {"mode": "traffic", "steps": …, "workflows": …}, "probe": …})`);
  }
  return { summary: v.summary as unknown as TrafficSummary, probe: (v.probe as ProbeResult | undefined) ?? null };
}

function firstLine(err: unknown): string {
  return formatError(err).split('\n')[0]!;
}

async function collectServer(address: string, req: GetFlowsRequest, args: ParsedArgs, io: CommandIO, tap?: FlowTap): Promise<Collected> {
  const durationText = optionString(args, 'duration');
  let durationMs: number | undefined;
  if (durationText !== undefined) {
    const ns = parseGoDuration(durationText);
    if (ns === undefined || ns <= 0) throw new UsageError(`analyze: --duration: cannot read "${durationText}" as a duration`, { hint: 'e.g. 30s, 5m, 1h30m' });
    if (!req.follow) throw new UsageError('analyze: --duration needs --follow', { hint: 'hubble-lab analyze --server ADDR --follow --duration 60s' });
    durationMs = ns / 1e6;
  }
  if (!args.ordered.some((o) => SELECTOR_NAMES.has(o.name))) {
    // hubble's default for a bare live request is --last 20: too few to analyze, so nothing is assumed.
    throw new UsageError('analyze: say which flows to read from the server', {
      hint: 'use --since/--until (a time window), --follow --duration 60s (live), --all or --last N',
    });
  }
  // The gRPC client loads only for --server: a file needs none of it.
  const { connectObserver } = await import('../hubble/client.ts');
  const client = await connectObserver(address, { what: 'Hubble server' });
  const agg = new FlowAggregator();
  let records = 0;
  let failure: unknown;
  const signal = durationMs === undefined ? io.signal : AbortSignal.any([io.signal, AbortSignal.timeout(durationMs)]);
  try {
    try {
      const status = await client.serverStatus();
      agg.quality.observeServerStatus(status.unavailable_nodes ?? []);
    } catch (err) {
      agg.quality.note(`ServerStatus failed, so unavailable nodes may be missing from this report: ${formatError(err)}`);
    }
    try {
      for await (const resp of client.getFlows(req, { signal })) {
        records++;
        agg.add(resp);
        tap?.(resp);
      }
    } catch (err) {
      if (records === 0) throw err;
      failure = err;
      agg.quality.setFailure(`the stream broke after ${records} records: ${firstLine(err)}`, null);
    }
    if (io.signal.aborted) agg.quality.note('Interrupted: the report covers the flows received until then.');
    else if (req.follow && !signal.aborted && failure === undefined) {
      // A followed stream ends only when it is stopped: one that ended by itself left flows unread.
      agg.quality.setFailure(
        `the server ended the stream after ${records} records, before it was stopped${durationText ? ` (--duration ${durationText})` : ''}`,
        null,
      );
    }
  } finally {
    client.close();
  }
  const read: InputRead = {
    lines: null,
    records,
    malformed: 0,
    malformedExamples: [],
    skipped: 0,
    diagnosis: records === 0 ? `the server sent no record for this request (${address})` : null,
    failure: null,
  };
  return { agg, read, unknownValues: [], stats: undefined, records, failure };
}

function summaryLines(report: Report, written: string[]): string {
  const c = report.compliance;
  const t = report.totals;
  const lines = [`hubble-lab analyze: ${c.status} (exit ${c.exitCode})`];
  for (const r of c.reasons) lines.push(`  ${r}`);
  lines.push(
    `  ${fmtInt(t.flows)} flows, ${fmtInt(t.edges)} edges, ${fmtInt(t.httpRequests)} HTTP requests${t.httpRequests ? ` (${fmtPct(t.httpErrors / t.httpRequests)} errors)` : ''}, ${fmtInt(t.dnsQueries)} DNS queries, ${fmtInt(t.policyDenied)} policy-denied flows`,
  );
  if (!report.quality.complete)
    lines.push(`  incomplete data: ${plural(t.lostEvents, 'lost event')}, ${plural(report.quality.nodes.unavailable.length, 'unavailable node')}`);
  if (written.length) lines.push(`  reports: ${written.join(', ')}`);
  return lines.join('\n') + '\n';
}

/** The report and gate flags, the same whether the analysis comes from flows or from metrics. */
function outputOptions(args: ParsedArgs) {
  const expectPath = optionString(args, 'expect');
  const now = new Date();
  return {
    wanted: formats(args),
    expectPath,
    gate: gateMode(args, expectPath !== undefined),
    json: optionFlag(args, 'json'),
    now,
    outDir: optionString(args, 'out') ?? defaultOutDir(now),
  };
}

/** --prometheus: the same report and gate from Hubble metrics instead of flows (lib/metrics/analyze-prometheus.ts). */
async function runFromMetrics(args: ParsedArgs, io: CommandIO): Promise<number> {
  const { wanted, expectPath, gate, json, now, outDir } = outputOptions(args);
  const expectations = expectPath === undefined ? undefined : await loadExpectations(expectPath);
  // Loaded only here: the metrics client (undici) is of no use to an analysis of flows.
  const { analysisFromPrometheus } = await import('../metrics/analyze-prometheus.ts');
  const { analysis, source, filters } = await analysisFromPrometheus(args, now);
  const compliance = evaluateCompliance(analysis, expectations, gate);
  const report = buildReport(analysis, compliance, { kind: 'prometheus', source, filters, records: 0, skippedByFilter: 0 }, now);
  const written = await writeReports(report, outDir, wanted, io.env);
  (json ? io.stderr : io.stdout).write(summaryLines(report, written));
  if (json) io.stdout.write(formatReportJson(report));
  return compliance.exitCode === 0 ? ExitCode.pass : compliance.exitCode;
}

async function run(args: ParsedArgs, io: CommandIO): Promise<number> {
  if (args.positionals.length > 0) {
    throw new UsageError(`analyze: unexpected argument "${args.positionals[0]}"`, { hint: 'the flows file goes after --input' });
  }
  if (optionString(args, 'prometheus') !== undefined) return runFromMetrics(args, io);
  const input = optionString(args, 'input');
  const server = optionString(args, 'server');
  if (input !== undefined && server !== undefined) throw new UsageError('analyze: --input and --server cannot be used together');
  if (input === undefined && server === undefined) {
    throw new UsageError('analyze: no flows to analyze', { hint: 'pass --input FILE (- for stdin) or --server ADDR' });
  }
  const { wanted, expectPath, gate, json, now, outDir } = outputOptions(args);
  const req = buildGetFlowsRequest(args, { live: server !== undefined, now, warn: (line) => io.stderr.write(`hubble-lab: ${line}\n`) });
  // Expectations are read first: a broken file should fail before minutes of following a live stream.
  const expectations: Expectations | undefined = expectPath === undefined ? undefined : await loadExpectations(expectPath);
  const summaryPath = optionString(args, 'traffic-summary');
  const traffic = summaryPath === undefined ? undefined : await loadTrafficSummary(summaryPath);

  // Policies are read before the flows too; without them only policy drops are kept, to be explained from the flows.
  const policyFiles = optionValues(args, 'policy');
  const kubeconfig = optionString(args, 'kubeconfig');
  const context = optionString(args, 'context');
  const fromCluster = kubeconfig !== undefined || context !== undefined;
  const policies = policyFiles.length || fromCluster ? readPolicyFiles(policyFiles) : undefined;
  if (policies && fromCluster) {
    // The Kubernetes client is loaded only for a cluster: it costs most of a small analysis' start-up and memory.
    const [{ readClusterPolicies }, { loadKubeConfig }] = await Promise.all([import('../policy/cluster.ts'), import('../kube/config.ts')]);
    policies.push(...(await readClusterPolicies(loadKubeConfig({ ...(kubeconfig ? { kubeconfig } : {}), ...(context ? { context } : {}) }))));
  }
  if (policies) compileLocated(policies);
  const policyFlows = new ObservationTable();
  const tap: FlowTap = (resp) => {
    if (policies || resp.flow?.verdict === 'DROPPED') policyFlows.add(resp);
  };

  const collected =
    input !== undefined
      ? await collectFile(input, req, io, { maxLineBytes: parseMaxLineBytes(optionString(args, 'max-line-bytes'), 'analyze') }, tap)
      : await collectServer(server!, req, args, io, tap);
  const { agg, stats, failure } = collected;
  const analysis = agg.finish({ ...collected.read, failure: agg.quality.failure }, collected.unknownValues);
  if (traffic) {
    const ns = targetsNamespace(traffic.summary) ?? 'default';
    analysis.clients = clientView(traffic.summary, traffic.probe, analysis.services, ns, summaryPath!);
  }
  const compliance = evaluateCompliance(analysis, expectations, gate);
  const reportInput: ReportInput = {
    kind: input !== undefined ? 'file' : 'server',
    source: input ?? server!,
    filters: filterFlags(args),
    records: collected.records,
    skippedByFilter: agg.skippedByFilter,
  };
  const report = buildReport(analysis, compliance, reportInput, now);
  if (policies && wanted.length) makeOutDir(outDir);
  await attachPolicyReport(report, policyFlows, policies ? { policies, ...(wanted.length ? { suggestTo: outDir } : {}) } : {});

  const written = await writeReports(report, outDir, wanted, io.env);

  const human = json ? io.stderr : io.stdout;
  if (stats) {
    const malformed = describeMalformed(stats);
    if (malformed) io.stderr.write(`hubble-lab: ${malformed}\n`);
  }
  if (io.env.GITHUB_ACTIONS === 'true') for (const line of annotations(report)) human.write(`${line}\n`);
  human.write(summaryLines(report, written));
  if (json) io.stdout.write(formatReportJson(report));

  // The read failed midway: the reports say INCOMPLETE and why; the error itself is told once more, on stderr.
  if (failure !== undefined) io.stderr.write(`hubble-lab: ${formatError(failure)}\n`);
  return compliance.exitCode === 0 ? ExitCode.pass : compliance.exitCode;
}
