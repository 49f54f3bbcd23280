// Shared helpers for workload controllers: pod readiness, pods from templates, template hashes, status conditions.
import { clone, deepEqual } from '../apiserver/json.ts';
import { timestamp } from '../apiserver/names.ts';
import { R } from '../apiserver/resources.ts';
import type { KObject, OwnerReference, Store } from '../apiserver/store.ts';

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** FNV-1a 32-bit, the hash Kubernetes uses for pod-template-hash and controller-revision-hash. */
function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** JSON with object keys sorted, so equal templates hash alike whatever order their fields came in. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A template's hash in Kubernetes' alphabet (rand.SafeEncodeString of the decimal hash). */
export function templateHash(template: unknown, collisionCount = 0): string {
  const digits = String(fnv32a(canonicalJson(template) + (collisionCount ? String(collisionCount) : '')));
  return [...digits].map((c) => SAFE[c.charCodeAt(0) % SAFE.length]).join('');
}

export function isTerminal(pod: KObject): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** Counts toward a controller's replicas: not finished and not being deleted. */
export function isActive(pod: KObject): boolean {
  return !isTerminal(pod) && !pod.metadata.deletionTimestamp;
}

export function isReady(pod: KObject): boolean {
  return (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

export function controllerRef(owner: KObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion!,
    kind: owner.kind!,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function isControlledBy(obj: KObject, owner: KObject): boolean {
  return (obj.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === owner.metadata.uid);
}

/** Objects of `res` in the owner's namespace that it controls. */
export function owned(store: Store, res: typeof R.pods, owner: KObject): KObject[] {
  return store.list(res, owner.metadata.namespace).filter((o) => isControlledBy(o, owner));
}

/** A pod for `owner` from its template, named `<prefix><suffix>` by the API server. */
export function podFromTemplate(owner: KObject, template: any, generateName: string, extraLabels: Record<string, string> = {}): KObject {
  const t = clone(template ?? {});
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName,
      namespace: owner.metadata.namespace!,
      labels: { ...(t.metadata?.labels ?? {}), ...extraLabels },
      ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
      ownerReferences: [controllerRef(owner)],
    },
    spec: t.spec ?? {},
  };
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
}

/**
 * Sets a condition the way controllers do: lastTransitionTime moves only when the status flips,
 * lastUpdateTime (when `withUpdateTime`) whenever reason or message change, or always with `touch`.
 */
export function setCondition(conditions: Condition[] | undefined, next: Condition, withUpdateTime = false, touch = false): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const old = i === -1 ? undefined : list[i]!;
  const now = timestamp();
  const c: Condition = { ...next };
  if (withUpdateTime) {
    c.lastUpdateTime =
      !touch && old && old.reason === next.reason && old.message === next.message && old.status === next.status ? (old.lastUpdateTime ?? now) : now;
  }
  c.lastTransitionTime = old && old.status === next.status ? (old.lastTransitionTime ?? now) : now;
  const ordered: Condition = withUpdateTime
    ? { type: c.type, status: c.status, lastUpdateTime: c.lastUpdateTime!, lastTransitionTime: c.lastTransitionTime, reason: c.reason!, message: c.message! }
    : c;
  if (old && deepEqual(old, ordered)) return list;
  if (i === -1) list.push(ordered);
  else list[i] = ordered;
  return list;
}

export function getCondition(obj: KObject, type: string): Condition | undefined {
  return (obj.status?.conditions ?? []).find((c: Condition) => c.type === type);
}

/** Resolves an IntOrString such as `25%` against a total, rounding as Kubernetes does. */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number(v) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}
