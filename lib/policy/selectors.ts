// Label selectors: Kubernetes LabelSelector over plain labels, and Cilium endpoint selectors over source-prefixed labels.
import type { Endpoint, PodEndpoint } from './types.ts';
import { PolicyInvalid, isObject, type CiliumLabel, type CiliumLabels } from './compiled.ts';
import { plainLookup, satisfies, selectorRequirements, type LabelLookup, type LabelSelector, type Requirement } from '../kube/label-selector.ts';

export type { LabelSelector };

/** Validates a LabelSelector as the API server does and turns it into requirements. */
function requirements(sel: unknown, path: string): Requirement[] {
  if (!isObject(sel)) throw new PolicyInvalid(path, 'must be a label selector object');
  const matchLabels = sel.matchLabels ?? {};
  if (!isObject(matchLabels)) throw new PolicyInvalid(`${path}.matchLabels`, 'must be a map of strings');
  for (const [key, value] of Object.entries(matchLabels)) {
    if (typeof value !== 'string') throw new PolicyInvalid(`${path}.matchLabels.${key}`, 'must be a string');
  }
  const exprs = sel.matchExpressions ?? [];
  if (!Array.isArray(exprs)) throw new PolicyInvalid(`${path}.matchExpressions`, 'must be a list');
  exprs.forEach((e: unknown, i) => {
    const at = `${path}.matchExpressions[${i}]`;
    if (!isObject(e) || typeof e.key !== 'string' || e.key === '') throw new PolicyInvalid(at, 'needs a key');
    const values = e.values ?? [];
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
      throw new PolicyInvalid(`${at}.values`, 'must be a list of strings');
    }
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) throw new PolicyInvalid(`${at}.values`, `must be non-empty when operator is ${e.operator}`);
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length !== 0) throw new PolicyInvalid(`${at}.values`, `must be empty when operator is ${e.operator}`);
        break;
      default:
        throw new PolicyInvalid(`${at}.operator`, `"${String(e.operator)}" is not one of In, NotIn, Exists, DoesNotExist`);
    }
  });
  return selectorRequirements({ matchLabels: matchLabels as Record<string, string>, matchExpressions: exprs })!;
}

/** A Kubernetes LabelSelector as a predicate over plain labels; an empty selector matches everything. */
export function compileLabelSelector(sel: unknown, path: string): (labels: Record<string, string>) => boolean {
  const reqs = requirements(sel, path);
  if (reqs.length === 0) return () => true;
  return (labels) => satisfies(reqs, plainLookup(labels));
}

/** Whether labels satisfy a Kubernetes LabelSelector. Throws on a selector the API server would refuse. */
export function labelSelectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  return satisfies(requirements(selector, 'selector'), plainLookup(labels));
}

/** The labels of a namespace as namespaceSelector sees them, with the name label the API server guarantees. */
export function namespaceLabelsOf(pod: PodEndpoint): Record<string, string> {
  return { ...pod.namespaceLabels, 'kubernetes.io/metadata.name': pod.namespace };
}

// --- Cilium labels ----------------------------------------------------------------------------------------

// The label types live beside the compiled form that matches on them (compiled.ts); re-exported for callers here.
export type { CiliumLabel, CiliumLabels };

export const podNamespaceKey = 'io.kubernetes.pod.namespace';
const namespaceLabelsPrefix = 'io.cilium.k8s.namespace.labels.';

function indexLabels(list: CiliumLabel[]): CiliumLabels {
  const m = new Map<string, CiliumLabel[]>();
  for (const l of list) {
    const at = m.get(l.key);
    if (at) at.push(l);
    else m.set(l.key, [l]);
  }
  return m;
}

/** The labels Cilium derives for a pod's security identity. */
export function podCiliumLabels(pod: PodEndpoint, clusterName: string): CiliumLabels {
  const list: CiliumLabel[] = Object.entries(pod.labels).map(([key, value]) => ({ source: 'k8s', key, value }));
  list.push({ source: 'k8s', key: podNamespaceKey, value: pod.namespace });
  for (const [key, value] of Object.entries(namespaceLabelsOf(pod))) {
    list.push({ source: 'k8s', key: namespaceLabelsPrefix + key, value });
  }
  list.push({ source: 'k8s', key: 'io.cilium.k8s.policy.cluster', value: clusterName });
  if (pod.serviceAccount) list.push({ source: 'k8s', key: 'io.cilium.k8s.policy.serviceaccount', value: pod.serviceAccount });
  return indexLabels(list);
}

/** The labels of any endpoint as seen from `localNode` (a node is `host` there and `remote-node` elsewhere). */
export function endpointCiliumLabels(ep: Endpoint, localNode: string | undefined, clusterName: string): CiliumLabels {
  if (ep.kind === 'pod') return podCiliumLabels(ep, clusterName);
  const reserved = (key: string): CiliumLabel => ({ source: 'reserved', key, value: '' });
  const list = [reserved(ep.kind === 'world' ? 'world' : ep.name === localNode ? 'host' : 'remote-node')];
  if (ep.kubeApiserver) list.push(reserved('kube-apiserver'));
  return indexLabels(list);
}

/** `k8s:app` → {source k8s, key app}; `app` → {source any, key app}. */
export function parseCiliumKey(text: string): { source: string; key: string } {
  const i = text.indexOf(':');
  return i > 0 ? { source: text.slice(0, i), key: text.slice(i + 1) } : { source: 'any', key: i === 0 ? text.slice(1) : text };
}

const none: readonly string[] = [];

function ciliumLookup(labels: CiliumLabels): LabelLookup {
  return (selectorKey) => {
    const { source, key } = parseCiliumKey(selectorKey);
    const found = labels.get(key);
    if (!found) return none;
    return found.filter((l) => source === 'any' || l.source === source).map((l) => l.value);
  };
}

export type CiliumMatcher = (labels: CiliumLabels) => boolean;

function ciliumMatcher(reqs: Requirement[]): CiliumMatcher {
  if (reqs.length === 0) return () => true;
  return (labels) => satisfies(reqs, ciliumLookup(labels));
}

/** Scope of a Cilium selector: the policy's namespace, or undefined for a clusterwide policy. */
export interface SelectorScope {
  namespace: string | undefined;
}

/**
 * The subject selector (endpointSelector) of a Cilium policy: a namespaced policy only ever selects pods of its
 * own namespace, whatever namespace the selector names.
 */
export function compileCiliumSubjectSelector(sel: unknown, path: string, scope: SelectorScope): CiliumMatcher {
  if (scope.namespace === undefined) return ciliumMatcher(requirements(sel, path));
  // Cilium overwrites the selector's own namespace match with the policy's namespace.
  const own = isObject(sel) && isObject(sel.matchLabels) ? { ...sel, matchLabels: { ...sel.matchLabels } } : sel;
  if (isObject(own) && isObject(own.matchLabels)) delete own.matchLabels[`k8s:${podNamespaceKey}`];
  const reqs = requirements(own, path);
  reqs.push({ key: `k8s:${podNamespaceKey}`, op: 'In', values: new Set([scope.namespace]) });
  return ciliumMatcher(reqs);
}

/**
 * A peer selector (fromEndpoints/toEndpoints). Unless it names the namespace label (or, namespaced, a namespace
 * label of `io.cilium.k8s.namespace.labels.*`) or a reserved label, a namespaced policy's peer selector only
 * selects pods of the policy's namespace, and a clusterwide one only selects pods.
 */
export function compileCiliumPeerSelector(sel: unknown, path: string, scope: SelectorScope): CiliumMatcher {
  const reqs = requirements(sel, path);
  const keys = reqs.map((r) => parseCiliumKey(r.key));
  const namesSource = (source: string) => source === 'k8s' || source === 'any';
  const namesReserved = keys.some((k) => k.source === 'reserved');
  const namesNamespace = keys.some((k) => namesSource(k.source) && k.key === podNamespaceKey);
  if (!namesReserved && !namesNamespace) {
    if (scope.namespace === undefined) {
      reqs.push({ key: `k8s:${podNamespaceKey}`, op: 'Exists', values: new Set() });
    } else if (!keys.some((k) => namesSource(k.source) && k.key.startsWith(namespaceLabelsPrefix))) {
      reqs.push({ key: `k8s:${podNamespaceKey}`, op: 'In', values: new Set([scope.namespace]) });
    }
  }
  return ciliumMatcher(reqs);
}

/** A fixed Cilium selector (entities), written as matchLabels. */
export function ciliumLabelMatcher(matchLabels: Record<string, string>): CiliumMatcher {
  return ciliumMatcher(requirements({ matchLabels }, 'entity'));
}
