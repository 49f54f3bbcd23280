// Why a connection was dropped by policy, in words: the policies that select the endpoint in the direction that
// dropped it, and the rule that would have been needed (or the deny rule that wins over any allow).
import type { Policy } from '../flows/types.ts';
import { type PolicySet, evaluateConnection, explainSide } from './evaluate.ts';
import type { Connection, Endpoint, PolicyRef, RuleRef } from './types.ts';
import { stableLabels } from './stable-labels.ts';

export interface DropInput {
  connection: Connection;
  /** The side that dropped, when the flow says (traffic_direction of the drop). */
  direction?: 'ingress' | 'egress';
  /** How reports name the two ends (`genai-network-demo/document-agent`). */
  sourceName?: string;
  destinationName?: string;
  /** Policies the flow itself names as deniers (egress_denied_by / ingress_denied_by): the best source. */
  deniedBy?: readonly Policy[];
}

export interface DropExplanation {
  direction: 'ingress' | 'egress';
  /** Names of the policies that select the endpoint in that direction (or that the flow names as deniers). */
  policies: string[];
  /** Deny rules that match, when a deny rule decided. */
  denyRules: RuleRef[];
  /** The rule that would have allowed the traffic, in words; or the deny rule that wins. */
  missingRule: string;
  /** One sentence: `<policies> select <endpoint> (<selector>) for <direction>; <missingRule>`. */
  text: string;
}

function shortName(name: string | undefined, ep: Endpoint): string {
  if (name) return name.includes('/') ? name.slice(name.indexOf('/') + 1) : name;
  if (ep.kind === 'pod') return ep.name ?? `a pod of ${ep.namespace}`;
  return ep.kind === 'node' ? 'the node' : ep.ip;
}

function refName(ref: { name?: string; namespace?: string; kind?: string }): string {
  return ref.name ?? '?';
}

/**
 * The labels that name a peer: those whose keys the policies already select by (the vocabulary of the set), else
 * its stable labels (app, tier, app.kubernetes.io/*).
 */
function peerLabels(labels: Record<string, string>, vocabulary: ReadonlySet<string> | undefined): string {
  const known = vocabulary
    ? Object.keys(labels)
        .filter((k) => vocabulary.has(k))
        .sort()
    : [];
  const chosen = known.length ? Object.fromEntries(known.map((k) => [k, labels[k]!])) : stableLabels(labels);
  const text = Object.entries(chosen)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return text || 'any pod';
}

/** The peer as a rule would have to name it: labels (and namespace when it is another), the world, a node. */
export function describePeer(peer: Endpoint, subject: Endpoint, vocabulary?: ReadonlySet<string>): string {
  switch (peer.kind) {
    case 'pod': {
      const labels = peerLabels(peer.labels, vocabulary);
      return subject.kind === 'pod' && peer.namespace === subject.namespace ? labels : `${labels} in namespace ${peer.namespace}`;
    }
    case 'node':
      // Seen from a pod, its own node is `host` and every other node `remote-node`.
      return peer.kubeApiserver ? 'kube-apiserver' : subject.kind === 'pod' && peer.name === subject.nodeName ? 'host' : 'remote-node';
    case 'world': {
      const names = peer.names?.length ? ` (${peer.names.join(', ')})` : '';
      return `world ${peer.ip}${names}`;
    }
  }
}

/**
 * Explains one policy drop. With a policy set the policies come from it; a flow's own denied_by fields win over
 * it. Without either the missing rule is still named, from the flow's endpoints alone.
 */
export function explainDrop(input: DropInput, set?: PolicySet, vocabulary?: ReadonlySet<string>): DropExplanation {
  const conn = input.connection;
  let direction = input.direction;
  if (!direction && set) direction = evaluateConnection(set, conn).dropDirection;
  direction ??= 'ingress';
  const subject = direction === 'egress' ? conn.source : conn.destination;
  const peer = direction === 'egress' ? conn.destination : conn.source;
  const subjectName = shortName(direction === 'egress' ? input.sourceName : input.destinationName, subject);
  const side = set ? explainSide(set, conn, direction) : undefined;
  const fromFlow = (input.deniedBy ?? []).map(refName);
  const selecting = side?.selecting ?? [];
  const policies = fromFlow.length ? [...new Set(fromFlow)] : [...new Set(selecting.map((s) => s.policy.name))];
  const denyRules = side?.deniedBy ?? [];
  const port = `${conn.protocol}/${conn.port}`;
  let missingRule: string;
  if (denyRules.length) {
    missingRule = `deny rule ${denyRules.map((r) => `${r.policy.name} ${r.path}`).join(', ')} matches ${describePeer(peer, subject, vocabulary)} on ${port}, and a deny rule wins over any allow`;
  } else if (fromFlow.length && !side) {
    missingRule = `a deny rule of ${policies.join(', ')} matches ${describePeer(peer, subject, vocabulary)} on ${port}, and a deny rule wins over any allow`;
  } else {
    missingRule = `no ${direction} rule allows ${describePeer(peer, subject, vocabulary)} on ${port}`;
  }
  const selectors = [...new Set(selecting.map((s) => s.selector))];
  const who = `${subjectName}${selectors.length ? ` (${selectors.join('; ')})` : ''}`;
  let head: string;
  if (policies.length) head = `${policies.join(', ')} ${policies.length === 1 ? 'selects' : 'select'} ${who} for ${direction}`;
  else if (set) head = `no policy given selects ${who} for ${direction}`;
  else head = `${who} is isolated for ${direction} by a policy not given here`;
  return { direction, policies, denyRules, missingRule, text: `${head}; ${missingRule}` };
}

/** A rule named for people: `genai-network-policy spec.egress[0]`. */
export function ruleName(r: RuleRef): string {
  return `${r.policy.name} ${r.path}`;
}

export function policyName(ref: PolicyRef): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}
