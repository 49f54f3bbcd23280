// Policy what-if: every observed flow evaluated against a policy set as Cilium would enforce it, sorted into
// forwarded flows that would now be dropped, denied flows that stay denied, and denied flows that would be allowed.
import type { FlowExample } from '../analysis/drops.ts';
import { type PolicySet, evaluateConnection, explainSide } from './evaluate.ts';
import { explainDrop, ruleName } from './explain.ts';
import { dnsRuleAllows, httpRuleAllows } from './l7.ts';
import type { Observation } from './observations.ts';
import type { Connection, Decision, RejectedPolicy } from './types.ts';

export interface CheckEdge {
  source: string;
  destination: string;
  protocol: string;
  port: number;
  /** Flows of the edge in this outcome (both directions of forwarded connections). */
  flows: number;
  /** The side whose policy decides: egress of the source or ingress of the destination; absent when neither is selected. */
  side?: 'egress' | 'ingress';
  /** POLICY_DENIED (no rule allows), POLICY_DENY (a deny rule) or L7 (the proxy would refuse the request). */
  reason?: string;
  /** The rules that decide (`genai-network-policy spec.egress[0]`); empty for default deny. */
  rules: string[];
  /** One sentence: why. */
  decidedBy: string;
  /** HTTP requests or DNS names concerned, for L7 outcomes. */
  requests?: string[];
  examples: FlowExample[];
}

export interface CheckResult {
  wouldDrop: { allowedFlows: number; edges: CheckEdge[] };
  stillDenied: { flows: number; edges: CheckEdge[] };
  wouldAllow: { flows: number; edges: CheckEdge[] };
  /** Forwarded flows that stay allowed. */
  stillAllowed: { flows: number };
  /** Flows not evaluated, by why. */
  skipped: Record<string, number>;
  /** Policy objects that do not compile: they have no effect. */
  rejected: RejectedPolicy[];
}

type Outcome = { allowed: boolean; side?: 'egress' | 'ingress'; reason?: string; decidedBy: string; rules: string[]; request?: string };

function connectionOf(o: Observation): Connection {
  return { source: o.client.endpoint, destination: o.server.endpoint, protocol: o.protocol, port: o.port };
}

/** What the proxies would do with this observation's request, when the connection is allowed and proxied. */
function l7Outcome(o: Observation, d: Decision): Outcome | undefined {
  const sides = (['egress', 'ingress'] as const).filter((s) => d.l7?.[s]);
  for (const side of sides) {
    const rules = d.l7![side]!;
    if (o.http && rules.kind === 'http' && !httpRuleAllows(rules.rules, o.http.method, o.http.path)) {
      const request = `${o.http.method} ${o.http.path}`;
      return {
        allowed: false,
        side,
        reason: 'L7',
        rules: [],
        decidedBy: `the ${side} proxy refuses ${request} (403): no http rule on ${o.protocol}/${o.port} matches it`,
        request,
      };
    }
    if (o.dnsQuery && rules.kind === 'dns' && !dnsRuleAllows(rules.rules, o.dnsQuery)) {
      return { allowed: false, side, reason: 'L7', rules: [], decidedBy: `the DNS proxy refuses ${o.dnsQuery}: no dns rule matches it`, request: o.dnsQuery };
    }
  }
  return undefined;
}

function decide(set: PolicySet, o: Observation, vocabulary: ReadonlySet<string>): Outcome {
  const conn = connectionOf(o);
  const d = evaluateConnection(set, conn);
  if (!d.allowed) {
    const side = d.dropDirection!;
    const why = explainDrop({ connection: conn, direction: side, sourceName: o.client.name, destinationName: o.server.name }, set, vocabulary);
    return { allowed: false, side, reason: d.dropReason!, rules: why.denyRules.map(ruleName), decidedBy: why.text };
  }
  const l7 = l7Outcome(o, d);
  if (l7) return l7;
  const rules: string[] = [];
  const parts: string[] = [];
  for (const side of ['egress', 'ingress'] as const) {
    if (!d[side].enforced) continue;
    const why = explainSide(set, conn, side);
    const names = why.allowedBy.map(ruleName);
    rules.push(...names);
    if (names.length) parts.push(`${side}: ${names.join(', ')}`);
    else if (why.implicitAllow) parts.push(`${side}: the pod's own node is always allowed in`);
    else parts.push(`${side}: no policy isolates it`);
  }
  return { allowed: true, rules, decidedBy: parts.length ? `allowed by ${parts.join('; ')}` : 'no policy selects either end (default allow)' };
}

const EXAMPLES_PER_EDGE = 3;
const REQUESTS_PER_EDGE = 10;

class EdgeGroup {
  private readonly edges = new Map<string, CheckEdge>();
  total = 0;

  add(o: Observation, out: Outcome, flows: number): void {
    this.total += flows;
    const key = `${o.client.name}\0${o.server.name}\0${o.protocol}\0${o.port}\0${out.decidedBy}`;
    let e = this.edges.get(key);
    if (!e) {
      e = {
        source: o.client.name,
        destination: o.server.name,
        protocol: o.protocol,
        port: o.port,
        flows: 0,
        rules: out.rules,
        decidedBy: out.decidedBy,
        examples: [],
      };
      if (out.side) e.side = out.side;
      if (out.reason ?? o.reason) e.reason = out.reason ?? o.reason!;
      this.edges.set(key, e);
    }
    e.flows += flows;
    if (out.request) {
      e.requests ??= [];
      if (e.requests.length < REQUESTS_PER_EDGE && !e.requests.includes(out.request)) e.requests.push(out.request);
    }
    for (const ex of o.examples) if (e.examples.length < EXAMPLES_PER_EDGE) e.examples.push(ex);
  }

  list(): CheckEdge[] {
    return [...this.edges.values()].sort((a, b) => b.flows - a.flows || (a.source + a.destination < b.source + b.destination ? -1 : 1) || a.port - b.port);
  }
}

/**
 * Evaluates observed traffic against a policy set. Forwarded connections are evaluated once per observation and
 * count with their replies; denied flows are evaluated each as a new connection, as Cilium drops each attempt.
 */
export function checkPolicies(
  set: PolicySet,
  observations: readonly Observation[],
  vocabulary: ReadonlySet<string>,
  skipped: ReadonlyMap<string, number> = new Map(),
): CheckResult {
  const wouldDrop = new EdgeGroup();
  const stillDenied = new EdgeGroup();
  const wouldAllow = new EdgeGroup();
  let stillAllowed = 0;
  for (const o of observations) {
    const out = decide(set, o, vocabulary);
    if (o.class === 'forwarded') {
      const n = o.flows + o.replies;
      if (out.allowed) stillAllowed += n;
      else wouldDrop.add(o, out, n);
    } else if (out.allowed) wouldAllow.add(o, out, o.flows);
    else stillDenied.add(o, out, o.flows);
  }
  return {
    wouldDrop: { allowedFlows: wouldDrop.total, edges: wouldDrop.list() },
    stillDenied: { flows: stillDenied.total, edges: stillDenied.list() },
    wouldAllow: { flows: wouldAllow.total, edges: wouldAllow.list() },
    stillAllowed: { flows: stillAllowed },
    skipped: Object.fromEntries([...skipped.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
    rejected: [...set.rejected],
  };
}

function edgeLines(e: CheckEdge): string[] {
  const lines = [`  ${e.source} → ${e.destination} ${e.protocol}/${e.port}: ${e.flows} ${e.flows === 1 ? 'flow' : 'flows'}`, `    ${e.decidedBy}`];
  if (e.requests?.length) lines.push(`    requests: ${e.requests.join(', ')}`);
  for (const ex of e.examples)
    lines.push(
      `    e.g. ${ex.time ?? ''} ${ex.source} -> ${ex.destination} ${ex.verdict}${ex.reason ? ` ${ex.reason}` : ''}${ex.summary ? ` (${ex.summary})` : ''}`,
    );
  return lines;
}

/** The result for people: the three outcomes with their edges, rules and examples. */
export function formatCheck(r: CheckResult): string {
  const out: string[] = [];
  const section = (title: string, n: number, edges: CheckEdge[]) => {
    out.push(`${title}: ${n} ${n === 1 ? 'flow' : 'flows'}${edges.length ? ` on ${edges.length} ${edges.length === 1 ? 'edge' : 'edges'}` : ''}`);
    for (const e of edges) out.push(...edgeLines(e));
  };
  section('Would drop (forwarded, now denied)', r.wouldDrop.allowedFlows, r.wouldDrop.edges);
  section('Still denied', r.stillDenied.flows, r.stillDenied.edges);
  section('Would allow (denied, now allowed)', r.wouldAllow.flows, r.wouldAllow.edges);
  out.push(`Still allowed: ${r.stillAllowed.flows} forwarded flows`);
  const skipped = Object.entries(r.skipped);
  if (skipped.length) out.push(`Not evaluated: ${skipped.map(([why, n]) => `${n} ${why}`).join('; ')}`);
  for (const p of r.rejected) out.push(`Ignored policy ${p.kind} ${p.namespace ? `${p.namespace}/` : ''}${p.name}: ${p.reason}`);
  return out.join('\n') + '\n';
}
