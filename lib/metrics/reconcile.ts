// Flows against metrics for the same window: per-edge HTTP request counts, drops by reason and flows by verdict,
// each within a stated tolerance. Pure: two Analyses in, the checks out.
import type { Analysis } from '../analysis/aggregate.ts';
import type { CheckResult, Compliance, Violation } from '../analysis/compliance.ts';
import { joinMessages, msg } from '../analysis/message.ts';

export interface ReconciliationCheck {
  /** What is compared: `http requests A → B`, `drops POLICY_DENIED`, `flows FORWARDED`. */
  name: string;
  kind: 'http-requests' | 'drops' | 'flows-by-verdict';
  flows: number;
  metrics: number;
  /** The largest difference accepted. */
  tolerance: number;
  ok: boolean;
}

export interface Reconciliation {
  status: 'ok' | 'mismatch';
  /** How the tolerance is computed, for the report. */
  tolerance: string;
  checks: ReconciliationCheck[];
}

/**
 * Counters are read at the scrapes around the window, flows at their own times: traffic in the seconds between a
 * scrape and the window's edge is in one and not the other. Request and drop counts of a workflow are small and
 * exact; flows by verdict include background traffic (probes, DNS), so they get the wider band.
 */
export const tolerances = {
  counts: { absolute: 2, relative: 0.02 },
  flows: { absolute: 20, relative: 0.05 },
} as const;

export const toleranceText =
  `HTTP requests and drops: |flows − metrics| ≤ max(${tolerances.counts.absolute}, ${tolerances.counts.relative * 100}%); ` +
  `flows by verdict: ≤ max(${tolerances.flows.absolute}, ${tolerances.flows.relative * 100}%) of the larger count`;

function check(name: string, kind: ReconciliationCheck['kind'], flows: number, metrics: number): ReconciliationCheck {
  const t = kind === 'flows-by-verdict' ? tolerances.flows : tolerances.counts;
  const tolerance = Math.max(t.absolute, Math.floor(t.relative * Math.max(flows, metrics)));
  return { name, kind, flows, metrics, tolerance, ok: Math.abs(flows - metrics) <= tolerance };
}

export function reconcile(fromFlows: Analysis, fromMetrics: Analysis): Reconciliation {
  const checks: ReconciliationCheck[] = [];
  const http = new Map<string, { flows: number; metrics: number }>();
  const slot = (k: string) => http.get(k) ?? (http.set(k, { flows: 0, metrics: 0 }), http.get(k)!);
  for (const e of fromFlows.edges) if (e.http) slot(`${e.source} → ${e.destination}`).flows += e.http.requests;
  for (const e of fromMetrics.edges) if (e.http) slot(`${e.source} → ${e.destination}`).metrics += e.http.requests;
  for (const [edge, n] of [...http].sort(([a], [b]) => (a < b ? -1 : 1))) checks.push(check(`http requests ${edge}`, 'http-requests', n.flows, n.metrics));

  const reasons = new Map<string, { flows: number; metrics: number }>();
  for (const d of fromFlows.drops) reasons.set(d.reason, { flows: d.count, metrics: 0 });
  for (const d of fromMetrics.drops) reasons.set(d.reason, { flows: reasons.get(d.reason)?.flows ?? 0, metrics: d.count });
  for (const [reason, n] of [...reasons].sort(([a], [b]) => (a < b ? -1 : 1))) checks.push(check(`drops ${reason}`, 'drops', n.flows, n.metrics));

  const verdicts = new Set([...Object.keys(fromFlows.totals.verdicts), ...Object.keys(fromMetrics.totals.verdicts)]);
  for (const v of [...verdicts].sort())
    checks.push(check(`flows ${v}`, 'flows-by-verdict', fromFlows.totals.verdicts[v] ?? 0, fromMetrics.totals.verdicts[v] ?? 0));

  return { status: checks.every((c) => c.ok) ? 'ok' : 'mismatch', tolerance: toleranceText, checks };
}

/** The completeness warning a mismatch gives, naming the checks that failed; undefined when all agree. */
export function mismatchWarning(r: Reconciliation): string | undefined {
  const bad = r.checks.filter((c) => !c.ok);
  if (!bad.length) return undefined;
  return `flows and Hubble metrics disagree for the same window: ${bad.map((c) => `${c.name} (flows ${c.flows}, metrics ${c.metrics}, tolerance ${c.tolerance})`).join('; ')}`;
}

/**
 * The verdict with a reconciliation mismatch as a warning of the completeness check: the data may be partial, the
 * verdict does not change. A check turned off (`incomplete: pass` keeps it on) stays as it is.
 */
export function withMismatchWarning(compliance: Compliance, r: Reconciliation): Compliance {
  const text = mismatchWarning(r);
  if (!text) return compliance;
  const warning: Violation = { check: 'completeness', severity: 'warn', source: null, destination: null, rule: null, message: [text], verdict: null };
  const checks: CheckResult[] = compliance.checks.map((c) => {
    if (c.id !== 'completeness' || c.status === 'skipped') return c;
    const violations = [...c.violations, warning];
    const status = c.status === 'pass' ? 'warn' : c.status;
    const summary =
      violations.length === 1
        ? [text]
        : msg`${violations.length} findings: ${joinMessages(
            violations.slice(0, 3).map((v) => v.message),
            '; ',
          )}${violations.length > 3 ? '; …' : ''}`;
    return { ...c, status, summary, violations };
  });
  const added = checks.some((c, i) => c !== compliance.checks[i]);
  return added ? { ...compliance, checks, violations: [...compliance.violations, warning] } : compliance;
}
