// What a report says about policy: the policies applied, rules no observed flow used, forwarded traffic no policy
// covers, and for every policy drop the policies that select the endpoint and the rule that was missing.
import { type PolicySet, evaluateConnection, explainSide, rulesOf } from './evaluate.ts';
import { explainDrop } from './explain.ts';
import type { LocatedPolicy } from './load.ts';
import type { Observation } from './observations.ts';
import type { Endpoint } from './types.ts';

export interface PolicyDropExplanation {
  source: string;
  destination: string;
  protocol: string;
  port: number;
  /** The side that dropped: the source's egress or the destination's ingress. */
  direction: 'ingress' | 'egress';
  flows: number;
  /** Policies selecting the endpoint in that direction (or named by the flows as the deniers). */
  policies: string[];
  missingRule: string;
  explanation: string;
}

export interface PolicyReport {
  /** The policies the explanations and coverage were computed with, and where each came from. */
  applied: { kind: string; namespace: string; name: string; source: string }[];
  /** Allow rules that no forwarded flow matched: allowing more than the traffic needs. */
  unusedRules: { kind: string; namespace: string; policy: string; rule: string; direction: 'ingress' | 'egress' }[];
  /** Forwarded edges neither end's policies select: allowed by default, not by a rule. */
  uncovered: { source: string; destination: string; protocol: string; port: number; flows: number }[];
  /** Workloads in forwarded traffic that no policy selects in either direction. */
  unselected: string[];
  drops: PolicyDropExplanation[];
  /** The suggested least-privilege policy written beside the report, by file name. */
  suggested?: string;
}

function byFlowsThenName<T extends { flows: number; source: string; destination: string; port: number }>(a: T, b: T): number {
  return (
    b.flows - a.flows ||
    (a.source < b.source ? -1 : a.source > b.source ? 1 : 0) ||
    (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0) ||
    a.port - b.port
  );
}

/** Explains every policy-denied observation; the flows' own denied_by fields come first, then the policy set. */
export function explainDrops(observations: readonly Observation[], set: PolicySet | undefined, vocabulary?: ReadonlySet<string>): PolicyDropExplanation[] {
  const out = new Map<string, PolicyDropExplanation>();
  for (const o of observations) {
    if (o.class !== 'denied') continue;
    const e = explainDrop(
      {
        connection: { source: o.client.endpoint, destination: o.server.endpoint, protocol: o.protocol, port: o.port },
        ...(o.direction ? { direction: o.direction } : {}),
        sourceName: o.client.name,
        destinationName: o.server.name,
        deniedBy: o.deniedBy,
      },
      set,
      vocabulary,
    );
    const key = `${o.client.name}\0${o.server.name}\0${o.protocol}\0${o.port}\0${e.direction}`;
    const known = out.get(key);
    if (known) known.flows += o.flows;
    else
      out.set(key, {
        source: o.client.name,
        destination: o.server.name,
        protocol: o.protocol,
        port: o.port,
        direction: e.direction,
        flows: o.flows,
        policies: e.policies,
        missingRule: e.missingRule,
        explanation: e.text,
      });
  }
  return [...out.values()].sort(byFlowsThenName);
}

function selectedAtAll(set: PolicySet, ep: Endpoint): boolean {
  const conn = { source: ep, destination: ep, protocol: 'TCP' as const, port: 1 };
  return explainSide(set, conn, 'egress').selecting.length > 0 || explainSide(set, conn, 'ingress').selecting.length > 0;
}

/** The policy part of a report, from the policies in force and the traffic observed under them. */
export function policyReport(
  located: readonly LocatedPolicy[],
  set: PolicySet,
  vocabulary: ReadonlySet<string>,
  observations: readonly Observation[],
): PolicyReport {
  const used = new Set<string>();
  const uncovered = new Map<string, PolicyReport['uncovered'][number]>();
  const workloads = new Map<string, Endpoint>();
  for (const o of observations) {
    if (o.class !== 'forwarded') continue;
    const conn = { source: o.client.endpoint, destination: o.server.endpoint, protocol: o.protocol, port: o.port };
    const d = evaluateConnection(set, conn);
    for (const side of [o.client, o.server]) if (side.endpoint.kind === 'pod' && !workloads.has(side.name)) workloads.set(side.name, side.endpoint);
    for (const side of ['egress', 'ingress'] as const) {
      if (!d[side].enforced) continue;
      for (const r of explainSide(set, conn, side).allowedBy) used.add(`${r.policy.kind}/${r.policy.namespace}/${r.policy.name}/${r.path}`);
    }
    if (!d.egress.enforced && !d.ingress.enforced && (o.client.endpoint.kind === 'pod' || o.server.endpoint.kind === 'pod')) {
      const key = `${o.client.name}\0${o.server.name}\0${o.protocol}\0${o.port}`;
      const u = uncovered.get(key);
      if (u) u.flows += o.flows + o.replies;
      else uncovered.set(key, { source: o.client.name, destination: o.server.name, protocol: o.protocol, port: o.port, flows: o.flows + o.replies });
    }
  }
  const unusedRules = rulesOf(set)
    .filter((r) => !r.deny && !used.has(`${r.rule.policy.kind}/${r.rule.policy.namespace}/${r.rule.policy.name}/${r.rule.path}`))
    .map((r) => ({ kind: r.rule.policy.kind, namespace: r.rule.policy.namespace, policy: r.rule.policy.name, rule: r.rule.path, direction: r.direction }));
  return {
    applied: located.map((p) => {
      const meta = (p.object.metadata ?? {}) as { name?: string; namespace?: string };
      return { kind: String(p.object.kind), namespace: meta.namespace ?? '', name: meta.name ?? '', source: p.source };
    }),
    unusedRules,
    uncovered: [...uncovered.values()].sort(byFlowsThenName),
    unselected: [...workloads]
      .filter(([, ep]) => !selectedAtAll(set, ep))
      .map(([name]) => name)
      .sort(),
    drops: explainDrops(observations, set, vocabulary),
  };
}
