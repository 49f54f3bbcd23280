// The compliance gate: a pure function of the analysis and the expectations, giving PASS, FAIL or INCOMPLETE and why.
import type { Analysis, EdgeSummary } from './aggregate.ts';
import type { CheckMode, EdgeRule, EndpointSelector, Expectations, IncompleteMode, PortSpec, SloLimits } from './expectations.ts';
import { missedFlows } from './quality.ts';
import { deniedMessage } from './drops.ts';
import { unansweredOnEdge } from './clients.ts';
import { count, joinMessages, millis, msg, share, type Message } from './message.ts';

/**
 * `expect`: the checks of the expectations file. `any-drop`: the lab guide's rule, any policy-denied flow fails
 * (with the file's checks too when one is given). `off`: everything is evaluated and reported, the exit code is 0.
 */
export type GateMode = 'expect' | 'any-drop' | 'off';
export const GATE_MODES: readonly GateMode[] = ['expect', 'any-drop', 'off'];

export type Verdict = 'PASS' | 'FAIL' | 'INCOMPLETE';
export type CheckStatus = 'pass' | 'fail' | 'warn' | 'incomplete' | 'skipped' | 'not-configured';
export type CheckId = 'policy-drops' | 'allowed-dropped' | 'deny-enforced' | 'drift' | 'slo' | 'completeness';

export interface Violation {
  check: CheckId;
  severity: 'fail' | 'warn' | 'incomplete';
  source: string | null;
  destination: string | null;
  /** The expectations rule involved, as `allow[0] (expect.yaml:4)`. */
  rule: string | null;
  message: Message;
  /** The flows behind the finding: which verdict to look at. */
  verdict: 'DROPPED' | 'FORWARDED' | null;
}

export interface CheckResult {
  id: CheckId;
  title: string;
  mode: CheckMode | IncompleteMode;
  status: CheckStatus;
  summary: Message;
  violations: Violation[];
  notes: Message[];
}

export interface Compliance {
  status: Verdict;
  gate: GateMode;
  expectations: string | null;
  exitCode: number;
  /** Why the verdict is what it is, one line each, most important first. */
  reasons: Message[];
  checks: CheckResult[];
  violations: Violation[];
  notConfigured: CheckId[];
}

const TITLES: Record<CheckId, string> = {
  'policy-drops': 'No policy-denied flows (the lab guide’s rule)',
  'allowed-dropped': 'Allowed traffic was not dropped by policy',
  'deny-enforced': 'Expected denials were enforced',
  drift: 'No traffic outside the allowed edges',
  slo: 'Service levels met',
  completeness: 'Data complete (every record read, no lost events, every node available)',
};

// ---------- matching ----------

const globCache = new Map<string, RegExp>();

/** `*` matches any characters, `?` one; the whole text must match. */
export function globMatch(pattern: string, text: string): boolean {
  let re = globCache.get(pattern);
  if (!re) {
    const body = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    re = new RegExp(`^${body}$`);
    globCache.set(pattern, re);
  }
  return re.test(text);
}

export function selectorMatches(sel: EndpointSelector, name: string, labels: Record<string, string>): boolean {
  if (sel.name !== undefined && !globMatch(sel.name, name)) return false;
  if (sel.namespace !== undefined) {
    const slash = name.indexOf('/');
    if (slash === -1 || !globMatch(sel.namespace, name.slice(0, slash))) return false;
  }
  for (const [k, v] of Object.entries(sel.labels ?? {})) {
    const actual = labels[k];
    if (actual === undefined || !globMatch(v, actual)) return false;
  }
  return true;
}

function portCovered(spec: readonly PortSpec[], protocol: string, port: number | null): boolean {
  if (port === null) return true;
  return spec.some((p) => p.port === port && (p.protocol === undefined || p.protocol === protocol));
}

function endpointsMatch(rule: { from: EndpointSelector; to: EndpointSelector }, e: EdgeSummary): boolean {
  return selectorMatches(rule.from, e.source, e.sourceLabels) && selectorMatches(rule.to, e.destination, e.destinationLabels);
}

/** The rule covers the edge: endpoints match and (without ports) always, or some port of the edge is listed. */
function ruleApplies(rule: EdgeRule, e: EdgeSummary): boolean {
  if (!endpointsMatch(rule, e)) return false;
  if (!rule.ports || e.ports.length === 0) return true;
  return e.ports.some((p) => p.port !== null && portCovered(rule.ports!, p.protocol, p.port));
}

/** Ports the edge used that no matching allow rule lists; undefined when no rule matches the endpoints at all. */
function portsOutsideAllow(rules: readonly EdgeRule[], e: EdgeSummary): string[] | undefined {
  const matching = rules.filter((r) => endpointsMatch(r, e));
  if (matching.length === 0) return undefined;
  if (matching.some((r) => !r.ports)) return [];
  const allowed = matching.flatMap((r) => r.ports!);
  return e.ports.filter((p) => !portCovered(allowed, p.protocol, p.port)).map((p) => `${p.protocol}/${p.port}`);
}

function edgeName(e: EdgeSummary): string {
  return `${e.source} → ${e.destination}`;
}

function sideText(e: EdgeSummary): string {
  const sides = [
    e.policyDeniedBy.ingress ? `${e.policyDeniedBy.ingress} at the server's ingress` : '',
    e.policyDeniedBy.egress ? `${e.policyDeniedBy.egress} at the client's egress` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return sides ? ` (${sides})` : '';
}

function violation(
  check: CheckId,
  severity: Violation['severity'],
  e: EdgeSummary | null,
  message: Message,
  rule: string | null,
  verdict: Violation['verdict'],
): Violation {
  return { check, severity, source: e?.source ?? null, destination: e?.destination ?? null, rule, message, verdict };
}

// ---------- checks ----------

function result(id: CheckId, mode: CheckMode | IncompleteMode, violations: Violation[], passSummary: Message, notes: Message[] = []): CheckResult {
  const fails = violations.filter((v) => v.severity === 'fail').length;
  const incomplete = violations.some((v) => v.severity === 'incomplete');
  let status: CheckStatus;
  if (mode === 'off') status = 'skipped';
  else if (fails > 0) status = 'fail';
  else if (incomplete) status = 'incomplete';
  else if (violations.length > 0) status = 'warn';
  else status = 'pass';
  const summary: Message =
    status === 'skipped'
      ? ['turned off']
      : violations.length === 0
        ? passSummary
        : violations.length === 1
          ? violations[0]!.message
          : msg`${count(violations.length, 'finding')}: ${joinMessages(
              violations.slice(0, 3).map((v) => (v.source ? [`${v.source} → ${v.destination}`] : v.message)),
              '; ',
            )}${violations.length > 3 ? '; …' : ''}`;
  return { id, title: TITLES[id], mode, status, summary, violations: mode === 'off' ? [] : violations, notes };
}

function notConfigured(id: CheckId, why: string): CheckResult {
  return { id, title: TITLES[id], mode: 'off', status: 'not-configured', summary: [why], violations: [], notes: [] };
}

function severityOf(mode: CheckMode): 'fail' | 'warn' {
  return mode === 'fail' ? 'fail' : 'warn';
}

function checkPolicyDrops(a: Analysis, mode: CheckMode): CheckResult {
  const sev = severityOf(mode);
  const violations = a.edges
    .filter((e) => e.policyDenied > 0)
    .map((e) =>
      violation('policy-drops', sev, e, msg`${edgeName(e)}: ${deniedMessage(e.policyDenied, e.policyDeniedSyns)} by policy${sideText(e)}`, null, 'DROPPED'),
    );
  return result('policy-drops', mode, violations, ['no flow was dropped by policy']);
}

function checkAllowedDropped(a: Analysis, allow: readonly EdgeRule[], deny: readonly EdgeRule[], mode: CheckMode): CheckResult {
  const sev = severityOf(mode);
  const violations: Violation[] = [];
  for (const e of a.edges) {
    if (e.policyDenied === 0 || deny.some((r) => ruleApplies(r, e))) continue;
    const rule = allow.find((r) => ruleApplies(r, e));
    if (!rule) continue;
    violations.push(
      violation(
        'allowed-dropped',
        sev,
        e,
        msg`${edgeName(e)} is allowed by ${rule.label} but had ${deniedMessage(e.policyDenied, e.policyDeniedSyns)} by policy${sideText(e)}`,
        rule.label,
        'DROPPED',
      ),
    );
  }
  return result('allowed-dropped', mode, violations, ['no allowed edge had policy drops']);
}

function checkDenyEnforced(a: Analysis, deny: readonly EdgeRule[], mode: CheckMode): CheckResult {
  const sev = severityOf(mode);
  const violations: Violation[] = [];
  const notes: Message[] = [];
  for (const rule of deny) {
    const edges = a.edges.filter((e) => ruleApplies(rule, e));
    const what = rule.name ? `${rule.name} (${rule.label})` : rule.label;
    if (edges.length === 0) {
      violations.push(violation('deny-enforced', 'warn', null, [`${what} saw no traffic: the denial was not tested`], rule.label, null));
      continue;
    }
    for (const e of edges) {
      if (e.delivered > 0) {
        violations.push(
          violation(
            'deny-enforced',
            sev,
            e,
            msg`${edgeName(e)} must be denied (${what}) but reached the server: ${count(e.delivered, 'flow')} delivered or answered`,
            rule.label,
            'FORWARDED',
          ),
        );
      } else if (e.policyDenied > 0) {
        notes.push(msg`${edgeName(e)}: enforced (${what}), ${deniedMessage(e.policyDenied, e.policyDeniedSyns)} by policy${sideText(e)}`);
      } else {
        notes.push(msg`${edgeName(e)}: not answered (${what}), but no policy drop was seen either (${count(e.dropped, 'drop')})`);
      }
    }
  }
  return result('deny-enforced', mode, violations, msg`${count(deny.length, 'expected denial')} enforced`, notes);
}

function checkDrift(a: Analysis, allow: readonly EdgeRule[], deny: readonly EdgeRule[], mode: CheckMode): CheckResult {
  const sev = severityOf(mode);
  const violations: Violation[] = [];
  for (const e of a.edges) {
    // Traffic the network refused is the policy doing its job, not a new dependency.
    if (e.forwarded === 0 || (e.policyDenied > 0 && e.delivered === 0)) continue;
    if (deny.some((r) => endpointsMatch(r, e))) continue;
    const outside = portsOutsideAllow(allow, e);
    if (outside === undefined) {
      violations.push(
        violation(
          'drift',
          sev,
          e,
          msg`${edgeName(e)} is not in allow (${count(e.flows, 'flow')}${e.http ? msg`, ${count(e.http.requests, 'HTTP request')}` : ''})`,
          null,
          'FORWARDED',
        ),
      );
    } else if (outside.length > 0) {
      violations.push(violation('drift', sev, e, [`${edgeName(e)} used ${outside.join(', ')}, which no allow rule lists`], null, 'FORWARDED'));
    }
  }
  return result('drift', mode, violations, ['every edge is in allow']);
}

function sloLimitsFor(exp: NonNullable<Expectations['slo']>, e: EdgeSummary): { limits: SloLimits; label: string } | undefined {
  const rule = exp.edges.find((r) => endpointsMatch(r, e));
  if (rule) return { limits: rule, label: rule.label };
  return exp.default ? { limits: exp.default, label: 'slo.default' } : undefined;
}

function checkSlo(a: Analysis, slo: NonNullable<Expectations['slo']>, mode: CheckMode): CheckResult {
  const sev = severityOf(mode);
  const violations: Violation[] = [];
  const notes: Message[] = [];
  for (const e of a.edges) {
    const http = e.http;
    // Requests the client sent and never got an answer for are failures of this edge, though no response flow shows them.
    const lost = unansweredOnEdge(a.clients, e.source, e.destination);
    if (!http && lost.unanswered === 0) continue;
    const applied = sloLimitsFor(slo, e);
    if (!applied) continue;
    const { limits, label } = applied;
    const requests = (http?.requests ?? 0) + lost.unanswered;
    if (requests < limits.minRequests) {
      notes.push(msg`${edgeName(e)}: ${count(requests, 'request')}, fewer than ${limits.minRequests}: not judged`);
      continue;
    }
    const errors = (http?.errors ?? 0) + lost.unanswered;
    const outcomes = (http?.responses ?? 0) + lost.unanswered;
    const errorRate = outcomes > 0 ? errors / outcomes : null;
    if (limits.maxErrorRate !== undefined && errorRate !== null && errorRate > limits.maxErrorRate) {
      const unanswered =
        lost.unanswered > 0 ? msg`, of which ${count(lost.unanswered, 'request')} never got an answer (the client's ${lost.steps.join(', ')})` : '';
      violations.push(
        violation(
          'slo',
          sev,
          e,
          msg`${edgeName(e)}: error rate ${share(errorRate)} (${errors}/${outcomes}${unanswered}) over ${share(limits.maxErrorRate)} (${label})`,
          label,
          'FORWARDED',
        ),
      );
    }
    if (limits.maxP99Ms !== undefined) {
      if (!http?.latencyMs) notes.push([`${edgeName(e)}: no latency measured (no RESPONSE flow carried one)`]);
      else if (http.latencyMs.p99 > limits.maxP99Ms) {
        violations.push(
          violation('slo', sev, e, msg`${edgeName(e)}: p99 ${millis(http.latencyMs.p99)} over ${millis(limits.maxP99Ms)} (${label})`, label, 'FORWARDED'),
        );
      }
    }
  }
  const w = a.clients?.workflows;
  if (w && w.started > 0 && w.completed < w.started)
    notes.push(msg`the clients completed ${w.completed} of ${count(w.started, 'workflow')} (${w.failed} failed)`);
  if (!a.edges.some((e) => e.http)) notes.push(['no HTTP flows: service levels need an L7 visibility policy to be measured']);
  return result('slo', mode, violations, ['every edge within its limits'], notes);
}

/** The share of malformed lines above which a report is INCOMPLETE, unless the expectations set another. */
export const DEFAULT_MAX_MALFORMED_SHARE = 0.01;

function lineList(lines: readonly { line: number; reason: string }[], max = 3): string {
  return lines
    .slice(0, max)
    .map((m) => `line ${m.line}: ${m.reason}`)
    .join('; ');
}

/**
 * What the data rests on. Some gaps always make the verdict INCOMPLETE, whatever the mode: nothing read, a read
 * cut short, too many unreadable lines. A report about nothing, or about part of an input that claims to be
 * whole, must never pass. Lost events and unavailable nodes follow the mode.
 */
function checkCompleteness(a: Analysis, mode: IncompleteMode, maxMalformedShare: number): CheckResult {
  const q = a.quality;
  const input = q.input;
  const always: Message[] = [];
  const warnings: Message[] = [];
  if (a.totals.flows === 0) {
    if (input.records === 0) always.push([`no Hubble record was read: ${input.diagnosis ?? 'the input held none'}`]);
    else if (q.flowsFiltered > 0) always.push(msg`none of the ${count(q.flowsFiltered, 'flow')} read matched the filters: the report would be about nothing`);
    else always.push(msg`${count(input.records, 'record')} read, but no flow among them (only lost-events or node-status records)`);
  }
  if (input.failure) {
    const where = input.failure.lastGoodLine !== null ? msg` after line ${input.failure.lastGoodLine} (the last record read)` : '';
    always.push(msg`the input ended early${where}: ${input.failure.reason}; the report covers the ${count(input.records, 'record')} read before`);
  }
  // Flows the collection itself missed make the data INCOMPLETE whatever the mode.
  always.push(...missedFlows(q).map((text) => [text]));
  if (input.malformed > 0) {
    const malformedShare = input.malformed / Math.max(1, input.malformed + input.records + input.skipped);
    const text = msg`${count(input.malformed, 'malformed line')} skipped (${share(malformedShare)} of the records; first: ${lineList(input.malformedExamples)})`;
    if (malformedShare > maxMalformedShare) always.push(msg`${text}, over the ${share(maxMalformedShare)} allowed`);
    else warnings.push(text);
  }
  for (const u of q.unknownValues) {
    warnings.push(
      msg`${count(u.count, 'record')} with ${u.field} ${JSON.stringify(u.value)}, unknown to this version: counted under that name, never as forwarded or dropped${u.lines.length ? ` (first on line ${u.lines.join(', ')})` : ''}`,
    );
  }
  const byMode: Message[] = [];
  if (q.lostEvents.total > 0 || q.lostEvents.records > 0) {
    const by = Object.entries(q.lostEvents.bySource)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ');
    byMode.push(msg`${count(q.lostEvents.total, 'event')} lost (${by}): counts are lower bounds`);
  }
  for (const n of q.nodes.unavailable) {
    byMode.push([
      `node ${n.name} was ${n.state === 'NODE_UNAVAILABLE' ? 'unavailable' : n.state}${n.time ? ` from ${n.time}` : ''}${n.message ? ` (${n.message})` : ''}: its flows are missing`,
    ]);
  }
  const passSummary: Message = ['every record read, no lost events, no unavailable node'];
  const violations = always.map((m) => violation('completeness', 'incomplete', null, m, null, null));
  const notes: Message[] = [];
  if (mode === 'pass') notes.push(...byMode.map((m) => msg`${m} (accepted: incomplete: pass)`));
  else violations.push(...byMode.map((m) => violation('completeness', mode === 'fail' ? 'incomplete' : 'warn', null, m, null, null)));
  violations.push(...warnings.map((m) => violation('completeness', 'warn', null, m, null, null)));
  // `incomplete: pass` accepts lost events and unavailable nodes; it cannot turn the unconditional gaps into a pass.
  return result('completeness', mode, violations, passSummary, notes);
}

/** Evaluates every check. Without expectations the verdict is PASS unless there are policy drops (the lab guide's rule). */
export function evaluateCompliance(a: Analysis, exp: Expectations | undefined, gate: GateMode): Compliance {
  const checks: CheckResult[] = [];
  const notConfiguredIds: CheckId[] = [];
  const anyDrop = gate === 'any-drop' || (gate === 'off' && !exp);
  checks.push(anyDrop ? checkPolicyDrops(a, 'fail') : { ...checkPolicyDrops(a, 'off'), summary: ['judged by the expectations (allow/deny) instead'] });
  const why = exp ? `not in ${exp.source}` : 'no expectations file (--expect)';
  const allow = exp?.allow;
  const deny = exp?.deny ?? [];
  if (exp && allow) checks.push(checkAllowedDropped(a, allow, deny, exp.checks.allowedDropped));
  else checks.push(notConfigured('allowed-dropped', `${why}: needs an allow list`));
  if (exp && exp.deny) checks.push(checkDenyEnforced(a, exp.deny, exp.checks.denyEnforced));
  else checks.push(notConfigured('deny-enforced', `${why}: needs a deny list`));
  if (exp && allow) checks.push(checkDrift(a, allow, deny, exp.checks.drift));
  else checks.push(notConfigured('drift', `${why}: needs an allow list`));
  if (exp && exp.slo) checks.push(checkSlo(a, exp.slo, exp.checks.slo));
  else checks.push(notConfigured('slo', `${why}: needs slo limits`));
  checks.push(checkCompleteness(a, exp?.incomplete ?? 'warn', exp?.maxMalformedShare ?? DEFAULT_MAX_MALFORMED_SHARE));
  for (const c of checks) if (c.status === 'not-configured') notConfiguredIds.push(c.id);

  const failed = checks.filter((c) => c.status === 'fail');
  const incomplete = checks.filter((c) => c.status === 'incomplete');
  // A read cut short is INCOMPLETE even where a check failed on the part read: more data could change any check.
  const cut = a.quality.input.failure !== null;
  const status: Verdict = cut ? 'INCOMPLETE' : failed.length > 0 ? 'FAIL' : incomplete.length > 0 ? 'INCOMPLETE' : 'PASS';
  const reasons: Message[] = [];
  if (cut) for (const c of incomplete) reasons.push(msg`${c.title}: ${c.summary}`);
  for (const c of failed) reasons.push(msg`${c.title}: ${c.summary}${cut ? ' (on the part read)' : ''}`);
  if (!cut) for (const c of incomplete) reasons.push(msg`${c.title}: ${c.summary}`);
  if (status === 'PASS') {
    const passed = checks.filter((c) => c.status === 'pass' || c.status === 'warn').map((c) => c.id);
    reasons.push(
      msg`${count(passed.length, 'check')} passed (${passed.join(', ')})${notConfiguredIds.length ? `; not configured: ${notConfiguredIds.join(', ')}` : ''}`,
    );
    for (const c of checks.filter((c) => c.status === 'warn')) reasons.push(msg`warning — ${c.title}: ${c.summary}`);
  }
  const exitCode = gate === 'off' ? 0 : status === 'FAIL' ? 1 : status === 'INCOMPLETE' ? 3 : 0;
  return {
    status,
    gate,
    expectations: exp?.source ?? null,
    exitCode,
    reasons,
    checks,
    violations: checks.flatMap((c) => c.violations),
    notConfigured: notConfiguredIds,
  };
}
