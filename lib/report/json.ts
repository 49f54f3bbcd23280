// report.json: the analysis and the verdict as one versioned document (schema: lib/report/report.schema.json).
import type { Analysis, EdgeSummary } from '../analysis/aggregate.ts';
import type { CheckResult, Compliance, Violation } from '../analysis/compliance.ts';
import { observeCommand, type ReportSource } from './observe-command.ts';

export const REPORT_SCHEMA_VERSION = 1;
export const GENERATOR_VERSION = '0.1.0';

export interface ReportViolation extends Violation {
  /** The `hubble-lab observe` command that shows the flows behind it; null when it is not about an edge. */
  observe: string | null;
}

export interface ReportCheck extends Omit<CheckResult, 'violations'> {
  violations: ReportViolation[];
}

export interface ReportCompliance extends Omit<Compliance, 'checks' | 'violations'> {
  checks: ReportCheck[];
  violations: ReportViolation[];
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
}

function findEdge(a: Analysis, v: Violation): EdgeSummary | undefined {
  if (v.source === null) return undefined;
  return a.edges.find((e) => e.source === v.source && e.destination === v.destination);
}

function withObserve(a: Analysis, input: ReportSource, v: Violation): ReportViolation {
  const edge = findEdge(a, v);
  if (!edge) return { ...v, observe: null };
  const client = { name: edge.source, labels: edge.sourceLabels };
  const server = { name: edge.destination, labels: edge.destinationLabels };
  const errors = v.check === 'slo' && v.message.includes('error rate');
  const observe = errors
    ? observeCommand(input, client, server, { replies: true, extra: ['--http-status', '4+', '--http-status', '5+'], window: a.window })
    : observeCommand(input, client, server, { verdict: v.verdict ?? undefined, window: a.window });
  return { ...v, observe };
}

export function buildReport(a: Analysis, compliance: Compliance, input: ReportInput, now: Date = new Date()): Report {
  const checks: ReportCheck[] = compliance.checks.map((c) => ({ ...c, violations: c.violations.map((v) => withObserve(a, input, v)) }));
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    generator: { name: 'hubble-lab', version: GENERATOR_VERSION },
    generatedAt: now.toISOString(),
    input,
    ...a,
    compliance: { ...compliance, checks, violations: checks.flatMap((c) => c.violations) },
  };
}

export function formatReportJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
