// report.json: the analysis and the verdict as one versioned document (schema: lib/report/report.schema.json).
import type { MetricsSection } from '../metrics/lab-metrics.ts';
import type { Analysis, EdgeSummary } from '../analysis/aggregate.ts';
import type { CheckResult, Compliance, Violation } from '../analysis/compliance.ts';
import { formatMessage } from './format.ts';
import { observeCommand, type ObserveCommand, type ReportSource } from './observe-command.ts';
import type { PolicyReport } from '../policy/report.ts';

export const REPORT_SCHEMA_VERSION = 1;
export const GENERATOR_VERSION = '0.1.0';

/** The verdict with its messages written out: what every report shows. */
export interface WrittenViolation extends Omit<Violation, 'message'> {
  message: string;
}

export interface WrittenCheck<V = WrittenViolation> extends Omit<CheckResult, 'summary' | 'violations' | 'notes'> {
  summary: string;
  violations: V[];
  notes: string[];
}

export interface WrittenCompliance<V = WrittenViolation> extends Omit<Compliance, 'reasons' | 'checks' | 'violations'> {
  reasons: string[];
  checks: WrittenCheck<V>[];
  violations: V[];
}

export interface ReportViolation extends WrittenViolation {
  /** The `hubble-lab observe` command that shows the flows behind it, and how many it prints; null when none does. */
  observe: ObserveCommand | null;
}

export type ReportCheck = WrittenCheck<ReportViolation>;
export type ReportCompliance = WrittenCompliance<ReportViolation>;

/** The compliance verdict with every reason, summary, finding and note as text. */
export function writeCompliance(c: Compliance): WrittenCompliance {
  const checks: WrittenCheck[] = c.checks.map((k) => ({
    ...k,
    summary: formatMessage(k.summary),
    violations: k.violations.map((v) => ({ ...v, message: formatMessage(v.message) })),
    notes: k.notes.map(formatMessage),
  }));
  return { ...c, reasons: c.reasons.map(formatMessage), checks, violations: checks.flatMap((k) => k.violations) };
}

export interface ReportInput extends ReportSource {
  /** The filter and selector flags given, as typed. */
  filters: string[];
  /** Records read and flows left out by the filters. */
  records: number;
  skippedByFilter: number;
}

export interface Report extends Analysis {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  generator: { name: 'hubble-lab'; version: string };
  generatedAt: string;
  input: ReportInput;
  compliance: ReportCompliance;
  /** Policies in force, rules no flow used, edges no policy covers, each policy drop explained; when policies were known. */
  policy?: PolicyReport;
  /** The lab's Hubble metrics for the flows' window, reconciled with the flows (lib/metrics/lab-metrics.ts). */
  metrics?: MetricsSection;
}

function findEdge(a: Analysis, v: WrittenViolation): EdgeSummary | undefined {
  if (v.source === null) return undefined;
  return a.edges.find((e) => e.source === v.source && e.destination === v.destination);
}

function withObserve(a: Analysis, input: ReportSource, v: WrittenViolation): ReportViolation {
  const edge = findEdge(a, v);
  if (!edge) return { ...v, observe: null };
  const d = edge.drilldowns;
  const drill =
    v.verdict === 'DROPPED'
      ? d.denied
      : v.check === 'slo' && v.message.includes('error rate')
        ? (d.httpErrors ?? d.forwarded)
        : v.verdict === 'FORWARDED'
          ? d.forwarded
          : null;
  return { ...v, observe: observeCommand(input, a.window, drill) };
}

export function buildReport(a: Analysis, compliance: Compliance, input: ReportInput, now: Date = new Date()): Report {
  const written = writeCompliance(compliance);
  const checks: ReportCheck[] = written.checks.map((c) => ({ ...c, violations: c.violations.map((v) => withObserve(a, input, v)) }));
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    generator: { name: 'hubble-lab', version: GENERATOR_VERSION },
    generatedAt: now.toISOString(),
    input,
    ...a,
    compliance: { ...written, checks, violations: checks.flatMap((c) => c.violations) },
  };
}

export function formatReportJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
