// The compiled form every policy kind is turned into, so one evaluator serves NetworkPolicy and Cilium policies.
import type { Endpoint, L7Rules, PodEndpoint, PolicyRef, Protocol } from './types.ts';

/** A label of a security identity, with its source (`k8s`, `reserved`, …). */
export interface CiliumLabel {
  source: string;
  key: string;
  value: string;
}

/** Cilium labels indexed by key; a selector key names a source (`k8s:app`) or matches any source (`app`). */
export type CiliumLabels = ReadonlyMap<string, readonly CiliumLabel[]>;

/** What a rule looks at while one direction of one connection is evaluated. */
export interface MatchContext {
  /** The pod whose policy is being evaluated (source for egress, destination for ingress). */
  subject: PodEndpoint;
  /** The other end. */
  peer: Endpoint;
  /** The destination, whose named ports the rule's named ports resolve against. */
  destination: Endpoint;
  protocol: Protocol;
  port: number;
  /** The peer's Cilium labels as seen from the subject's node; computed at most once per evaluation. */
  peerLabels(): CiliumLabels;
}

/** How specific the port part of a matching rule is: a port (or range, or named port), a protocol only, or anything. */
export type PortMatch = 'port' | 'proto' | 'any';

export interface CompiledRule {
  policy: PolicyRef;
  /** Where the rule is in its object (`spec.ingress[0]`, `specs[1].egressDeny[0].toPorts[2]`), to name it to users. */
  path: string;
  deny: boolean;
  matchesPort(ctx: MatchContext): boolean;
  matchesPeer(ctx: MatchContext): boolean;
  /** The rule names particular peers (identities in Cilium's policy map), not every peer. */
  l3: boolean;
  /** For a packet the rule matches: how specific its matching port entry is. */
  l4(ctx: MatchContext): PortMatch;
  /** Only on allow rules whose port carries http/dns rules. */
  l7?: L7Rules;
}

export interface DirectionPolicy {
  /** Selecting the subject puts it in default deny for this direction. */
  isolates: boolean;
  rules: CompiledRule[];
}

export interface CompiledPolicy {
  ref: PolicyRef;
  /** undefined for clusterwide policies. */
  namespace: string | undefined;
  /** The subject selector as users write it (`tier=processing`, `all pods`), for explanations. */
  selector: string;
  selects(pod: PodEndpoint, podLabels: () => CiliumLabels): boolean;
  ingress?: DirectionPolicy;
  egress?: DirectionPolicy;
}

/** A policy field that does not validate; `path` names the field as in the object (spec.ingress[0].ports[1]). */
export class PolicyInvalid extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'PolicyInvalid';
    this.path = path;
  }
}

/** `spec` + `ingress` → `spec.ingress`; at the top level the field alone. */
export function fieldPath(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An optional list field: absent or null is empty; anything else must be an array. */
export function listField(obj: Record<string, unknown>, field: string, path: string): unknown[] {
  const v = obj[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new PolicyInvalid(fieldPath(path, field), 'must be a list');
  return v;
}

/** An optional object field: absent or null gives undefined. */
export function objectField(obj: Record<string, unknown>, field: string, path: string): Record<string, unknown> | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new PolicyInvalid(fieldPath(path, field), 'must be an object');
  return v;
}

/** A label selector in one line: `tier=processing, app in (a,b)`; an empty selector is `all pods`. */
export function describeSelector(sel: unknown): string {
  if (!isObject(sel)) return 'all pods';
  const parts: string[] = [];
  if (isObject(sel.matchLabels)) for (const [k, v] of Object.entries(sel.matchLabels)) parts.push(`${k}=${String(v)}`);
  if (Array.isArray(sel.matchExpressions)) {
    for (const e of sel.matchExpressions) {
      if (!isObject(e)) continue;
      const values = Array.isArray(e.values) ? `(${e.values.join(',')})` : '';
      const op = e.operator === 'Exists' ? 'exists' : e.operator === 'DoesNotExist' ? 'does not exist' : e.operator === 'NotIn' ? 'notin' : 'in';
      parts.push(values ? `${String(e.key)} ${op} ${values}` : `${String(e.key)} ${op}`);
    }
  }
  return parts.length ? parts.join(', ') : 'all pods';
}
