// Compiles policy objects into a PolicySet and decides connections against it, as Cilium enforces them.
import type {
  CompileOptions,
  Connection,
  Decision,
  Endpoint,
  L7Rules,
  PodEndpoint,
  PolicyMatch,
  PolicyRef,
  Protocol,
  RejectedPolicy,
  RuleRef,
  SideDecision,
} from './types.ts';
import { type CompiledPolicy, type CompiledRule, type MatchContext, PolicyInvalid, isObject } from './compiled.ts';
import { type CiliumLabels, endpointCiliumLabels, podCiliumLabels } from './selectors.ts';
import { compileNetworkPolicy } from './networkpolicy.ts';
import { compileCiliumPolicy } from './cilium.ts';

/** Compiled policies indexed by the namespace of the pods they can select. */
export interface PolicySet {
  readonly byNamespace: ReadonlyMap<string, readonly CompiledPolicy[]>;
  readonly clusterwide: readonly CompiledPolicy[];
  /** Objects that did not compile; like a policy the agent refuses, they have no effect. */
  readonly rejected: readonly RejectedPolicy[];
  readonly clusterName: string;
  readonly allowLocalhost: boolean;
}

const apiGroups: Record<string, string> = {
  NetworkPolicy: 'networking.k8s.io/',
  CiliumNetworkPolicy: 'cilium.io/',
  CiliumClusterwideNetworkPolicy: 'cilium.io/',
};

function describe(obj: unknown): Omit<RejectedPolicy, 'reason'> {
  const o = isObject(obj) ? obj : {};
  const meta = isObject(o.metadata) ? o.metadata : {};
  return {
    kind: typeof o.kind === 'string' ? o.kind : '',
    name: typeof meta.name === 'string' ? meta.name : '',
    namespace: typeof meta.namespace === 'string' ? meta.namespace : '',
  };
}

function compileOne(obj: unknown, clusterName: string): CompiledPolicy[] {
  if (!isObject(obj)) throw new PolicyInvalid('(object)', 'a policy must be an object');
  const kind = obj.kind;
  if (typeof kind !== 'string' || !(kind in apiGroups)) {
    throw new PolicyInvalid('kind', `${JSON.stringify(kind)} is not NetworkPolicy, CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy`);
  }
  if (typeof obj.apiVersion === 'string' && !obj.apiVersion.startsWith(apiGroups[kind]!)) {
    throw new PolicyInvalid('apiVersion', `${obj.apiVersion} does not serve ${kind}`);
  }
  if (kind === 'NetworkPolicy') return [compileNetworkPolicy(obj)];
  return compileCiliumPolicy(obj, kind as 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy', clusterName);
}

/**
 * Compiles policy objects (as an API server stores them) once, so each connection costs only the policies of
 * the two pods' namespaces. An object that does not validate is listed in `rejected`, never thrown.
 */
export function compilePolicies(objects: Iterable<unknown>, options: CompileOptions = {}): PolicySet {
  const clusterName = options.clusterName ?? 'default';
  const byNamespace = new Map<string, CompiledPolicy[]>();
  const clusterwide: CompiledPolicy[] = [];
  const rejected: RejectedPolicy[] = [];
  for (const obj of objects) {
    let compiled: CompiledPolicy[];
    try {
      compiled = compileOne(obj, clusterName);
    } catch (err) {
      if (!(err instanceof PolicyInvalid)) throw err;
      rejected.push({ ...describe(obj), reason: err.message });
      continue;
    }
    for (const p of compiled) {
      if (p.namespace === undefined) {
        clusterwide.push(p);
        continue;
      }
      const list = byNamespace.get(p.namespace);
      if (list) list.push(p);
      else byNamespace.set(p.namespace, [p]);
    }
  }
  return { byNamespace, clusterwide, rejected, clusterName, allowLocalhost: options.allowLocalhost ?? true };
}

const noPolicies: readonly CompiledPolicy[] = [];

function uniqueRefs(rules: readonly CompiledRule[]): PolicyRef[] {
  const seen = new Set<string>();
  const out: PolicyRef[] = [];
  for (const { policy } of rules) {
    const key = `${policy.kind}/${policy.namespace}/${policy.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(policy);
  }
  return out;
}

/**
 * What the proxy enforces for the matched allow rules. A matched rule without L7 rules (or the implicit
 * localhost allow) still goes through the proxy once some rule on the port needs it, and allows every request.
 */
function proxyRules(allows: readonly CompiledRule[], implicitAllow: boolean): L7Rules | undefined {
  const first = allows.find((r) => r.l7)?.l7;
  if (!first) return undefined;
  const allowsAll = implicitAllow || allows.some((r) => !r.l7);
  if (first.kind === 'http') {
    if (allowsAll) return { kind: 'http', rules: [{}] };
    return { kind: 'http', rules: allows.flatMap((r) => (r.l7?.kind === 'http' ? r.l7.rules : [])) };
  }
  if (allowsAll) return { kind: 'dns', rules: [{ matchPattern: '*' }] };
  return { kind: 'dns', rules: allows.flatMap((r) => (r.l7?.kind === 'dns' ? r.l7.rules : [])) };
}

/** Match types from the most specific down, the order in which Cilium's policy map lookup prefers its entries. */
const specificity: readonly PolicyMatch[] = ['L3-L4', 'L4-Only', 'L3-Proto', 'Proto-Only', 'L3-Only', 'all'];

function ruleMatch(rule: CompiledRule, ctx: MatchContext): PolicyMatch {
  switch (rule.l4(ctx)) {
    case 'port':
      return rule.l3 ? 'L3-L4' : 'L4-Only';
    case 'proto':
      return rule.l3 ? 'L3-Proto' : 'Proto-Only';
    default:
      return rule.l3 ? 'L3-Only' : 'all';
  }
}

/**
 * The entry the datapath would find among the matching rules: the most specific match type, and the policies of
 * every rule that made an entry of that type (rules of several policies add up to one entry).
 */
function strongest(rules: readonly CompiledRule[], ctx: MatchContext): { match: PolicyMatch; by: CompiledRule[] } | undefined {
  let best = -1;
  let by: CompiledRule[] = [];
  for (const rule of rules) {
    const rank = specificity.indexOf(ruleMatch(rule, ctx));
    if (best === -1 || rank < best) {
      best = rank;
      by = [rule];
    } else if (rank === best) by.push(rule);
  }
  return best === -1 ? undefined : { match: specificity[best]!, by };
}

const notEnforced = (): SideDecision => ({ enforced: false, isolated: false, allowed: true, allowedBy: [], deniedBy: [], match: 'none', matchedBy: [] });

/** Everything one direction's policies say about a connection: who selects the subject, and the rules that match. */
interface SideRules {
  enforced: boolean;
  isolated: boolean;
  allows: CompiledRule[];
  denies: CompiledRule[];
  /** The policies that select the subject for this direction (only gathered when asked for). */
  selecting: CompiledPolicy[];
  ctx: MatchContext;
  pod: PodEndpoint;
}

function collectSide(
  set: PolicySet,
  pod: PodEndpoint,
  peer: Endpoint,
  destination: Endpoint,
  dir: 'ingress' | 'egress',
  protocol: Protocol,
  port: number,
  gatherSelecting: boolean,
): SideRules {
  let subjectLabels: CiliumLabels | undefined;
  let peerLabels: CiliumLabels | undefined;
  const podLabels = () => (subjectLabels ??= podCiliumLabels(pod, set.clusterName));
  const ctx: MatchContext = {
    subject: pod,
    peer,
    destination,
    protocol,
    port,
    peerLabels: () => (peerLabels ??= endpointCiliumLabels(peer, pod.nodeName, set.clusterName)),
  };
  const out: SideRules = { enforced: false, isolated: false, allows: [], denies: [], selecting: [], ctx, pod };
  for (const policies of [set.byNamespace.get(pod.namespace) ?? noPolicies, set.clusterwide]) {
    for (const p of policies) {
      const d = p[dir];
      if (!d || !p.selects(pod, podLabels)) continue;
      out.enforced = true;
      if (gatherSelecting) out.selecting.push(p);
      if (d.isolates) out.isolated = true;
      for (const rule of d.rules) {
        if (rule.matchesPort(ctx) && rule.matchesPeer(ctx)) (rule.deny ? out.denies : out.allows).push(rule);
      }
    }
  }
  return out;
}

function decideSide(
  set: PolicySet,
  subject: Endpoint,
  peer: Endpoint,
  destination: Endpoint,
  dir: 'ingress' | 'egress',
  protocol: Protocol,
  port: number,
): SideDecision {
  // Only pods are policy subjects here; nodes and the world are not enforced on.
  if (subject.kind !== 'pod') return notEnforced();
  const { enforced, isolated, allows, denies, ctx, pod } = collectSide(set, subject, peer, destination, dir, protocol, port, false);
  if (!enforced) return notEnforced();
  // The pod's own node (kubelet probes) is always let in, as with Cilium's allow-localhost default.
  const implicitAllow = set.allowLocalhost && dir === 'ingress' && peer.kind === 'node' && peer.name === pod.nodeName;
  const side: SideDecision = { enforced, isolated, allowed: true, allowedBy: uniqueRefs(allows), deniedBy: uniqueRefs(denies), match: 'none', matchedBy: [] };
  if (denies.length > 0) {
    const entry = strongest(denies, ctx)!;
    side.allowed = false;
    side.dropReason = 'POLICY_DENY';
    side.match = entry.match;
    side.matchedBy = uniqueRefs(entry.by);
  } else if (isolated && allows.length === 0 && !implicitAllow) {
    side.allowed = false;
    side.dropReason = 'POLICY_DENIED';
  } else {
    const entry = strongest(allows, ctx);
    // The localhost allow is an entry for the host identity on any port (L3-Only); without default deny, an
    // entry for any peer, protocol and port lets the rest in.
    const fallback: PolicyMatch = implicitAllow ? 'L3-Only' : 'all';
    if (entry && specificity.indexOf(entry.match) <= specificity.indexOf(fallback)) {
      side.match = entry.match;
      side.matchedBy = uniqueRefs(entry.by);
    } else side.match = fallback;
    const l7 = proxyRules(allows, implicitAllow);
    if (l7) side.l7 = l7;
  }
  return side;
}

/**
 * Decides the first packet of a connection: the source's egress and the destination's ingress must both allow
 * it (deny rules win over allows; a pod selected by a policy for a direction is default-deny there). Replies and
 * later packets of an allowed connection are the caller's to pass, as conntrack does; evaluate only new
 * connections, after Service translation (destination = the chosen backend, port = its target port).
 */
export function evaluateConnection(set: PolicySet, conn: Connection): Decision {
  const { source, destination, protocol, port } = conn;
  const egress = decideSide(set, source, destination, destination, 'egress', protocol, port);
  const ingress = decideSide(set, destination, source, destination, 'ingress', protocol, port);
  const decision: Decision = { allowed: egress.allowed && ingress.allowed, egress, ingress };
  if (!egress.allowed) {
    decision.dropReason = egress.dropReason!;
    decision.dropDirection = 'egress';
  } else if (!ingress.allowed) {
    decision.dropReason = ingress.dropReason!;
    decision.dropDirection = 'ingress';
  } else if (egress.l7 || ingress.l7) {
    decision.l7 = {};
    if (egress.l7) decision.l7.egress = egress.l7;
    if (ingress.l7) decision.l7.ingress = ingress.l7;
  }
  return decision;
}

/** A policy that selects an endpoint for a direction, with its subject selector as written. */
export interface SelectingPolicy {
  policy: PolicyRef;
  selector: string;
  /** Selecting puts the endpoint in default deny for the direction. */
  isolates: boolean;
}

/** One side of a connection explained: which policies select the subject there, and which rules decided. */
export interface SideExplanation {
  selecting: SelectingPolicy[];
  /** Rules that match the connection and allow it, each named by its policy and place (`spec.egress[0]`). */
  allowedBy: RuleRef[];
  deniedBy: RuleRef[];
  /** The pod's own node is let in without a rule (allow-localhost). */
  implicitAllow: boolean;
}

function ruleRefs(rules: readonly CompiledRule[]): RuleRef[] {
  const seen = new Set<string>();
  const out: RuleRef[] = [];
  for (const r of rules) {
    const key = `${r.policy.kind}/${r.policy.namespace}/${r.policy.name}/${r.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ policy: r.policy, path: r.path });
  }
  return out;
}

/**
 * The why behind one side of evaluateConnection: for the source's egress or the destination's ingress, the
 * policies selecting the pod there and the matching rules. Slower than evaluateConnection; meant for reports.
 */
export function explainSide(set: PolicySet, conn: Connection, dir: 'ingress' | 'egress'): SideExplanation {
  const subject = dir === 'egress' ? conn.source : conn.destination;
  const peer = dir === 'egress' ? conn.destination : conn.source;
  if (subject.kind !== 'pod') return { selecting: [], allowedBy: [], deniedBy: [], implicitAllow: false };
  const side = collectSide(set, subject, peer, conn.destination, dir, conn.protocol, conn.port, true);
  const implicitAllow = set.allowLocalhost && dir === 'ingress' && peer.kind === 'node' && peer.name === subject.nodeName;
  return {
    selecting: side.selecting.map((p) => ({ policy: p.ref, selector: p.selector, isolates: p[dir]?.isolates ?? false })),
    allowedBy: ruleRefs(side.allows),
    deniedBy: ruleRefs(side.denies),
    implicitAllow,
  };
}

/** Every label key the policies' selectors name (without `k8s:`/`any:`): the vocabulary users select pods by. */
export function selectorKeys(objects: Iterable<unknown>): Set<string> {
  const keys = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!isObject(v)) return;
    for (const [k, child] of Object.entries(v)) {
      if (k === 'matchLabels' && isObject(child)) for (const key of Object.keys(child)) keys.add(key.replace(/^(k8s|any):/, ''));
      else if (k === 'matchExpressions' && Array.isArray(child)) {
        for (const e of child) if (isObject(e) && typeof e.key === 'string') keys.add(e.key.replace(/^(k8s|any):/, ''));
      } else walk(child);
    }
  };
  for (const obj of objects) walk(isObject(obj) ? (obj.spec ?? obj.specs) : undefined);
  return keys;
}

/** Every rule of a set with its direction and whether it denies, in the set's order. */
export function rulesOf(set: PolicySet): { rule: RuleRef; direction: 'ingress' | 'egress'; deny: boolean }[] {
  const out: { rule: RuleRef; direction: 'ingress' | 'egress'; deny: boolean }[] = [];
  const seen = new Set<string>();
  for (const policies of [...set.byNamespace.values(), set.clusterwide]) {
    for (const p of policies) {
      for (const direction of ['ingress', 'egress'] as const) {
        for (const r of p[direction]?.rules ?? []) {
          const key = `${r.policy.kind}/${r.policy.namespace}/${r.policy.name}/${r.path}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({ rule: { policy: r.policy, path: r.path }, direction, deny: r.deny });
        }
      }
    }
  }
  return out;
}
