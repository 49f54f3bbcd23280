// Whether a pod may run on a node: readiness, taints and tolerations, nodeSelector and required node affinity.
import type { KObject } from '../apiserver/store.ts';

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

function tolerates(tolerations: Toleration[], taint: { key: string; value?: string; effect: string }): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

function matchesTerm(node: KObject, term: any): boolean {
  const labels = node.metadata.labels ?? {};
  const check = (e: any, value: string | undefined) => {
    switch (e.operator) {
      case 'In':
        return value !== undefined && (e.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(e.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      case 'Gt':
        return value !== undefined && Number(value) > Number(e.values?.[0]);
      case 'Lt':
        return value !== undefined && Number(value) < Number(e.values?.[0]);
      default:
        return false;
    }
  };
  return (
    (term.matchExpressions ?? []).every((e: any) => check(e, labels[e.key])) &&
    (term.matchFields ?? []).every((e: any) => check(e, e.key === 'metadata.name' ? node.metadata.name : undefined))
  );
}

export function nodeReady(node: KObject): boolean {
  return (node.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

/** Why the pod cannot run on the node, or undefined when it can. */
export function unfitReason(podSpec: any, node: KObject): string | undefined {
  if (!nodeReady(node)) return 'node(s) had untolerated taint {node.kubernetes.io/not-ready: }';
  if (node.spec?.unschedulable && !tolerates(podSpec?.tolerations ?? [], { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) {
    return 'node(s) were unschedulable';
  }
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect === 'PreferNoSchedule') continue;
    if (!tolerates(podSpec?.tolerations ?? [], taint)) return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
  }
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(podSpec?.nodeSelector ?? {})) {
    if (labels[k] !== v) return "node(s) didn't match Pod's node affinity/selector";
  }
  const terms = podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (Array.isArray(terms) && terms.length && !terms.some((t) => matchesTerm(node, t))) {
    return "node(s) didn't match Pod's node affinity/selector";
  }
  return undefined;
}
