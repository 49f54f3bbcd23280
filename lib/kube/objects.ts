// Kubernetes object helpers: references for messages, conversion to and from client-node's models, and a read-only
// "would applying this change anything?" diff.
import type { KubernetesObject } from '@kubernetes/client-node';
// client-node's typed (de)serializer is not re-exported from its index; the package has no export map.
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { getSerializationType } from '@kubernetes/client-node/dist/util.js';

/**
 * client-node sends objects through its model classes, whose fields are renamed where the JSON name is a JavaScript
 * keyword (NetworkPolicy's ingress `from` is `_from`, ListMeta's `continue` is `_continue`). A plain manifest must
 * be turned into the model first, or those fields are silently dropped from the request.
 */
export function toModel<T extends KubernetesObject>(obj: T): T {
  return ObjectSerializer.deserialize(obj, getSerializationType(obj.apiVersion, obj.kind)) as T;
}

/** A model object (as client-node returns it) back to plain Kubernetes JSON. */
export function toPlain<T extends KubernetesObject>(obj: T): T {
  return ObjectSerializer.serialize(obj, getSerializationType(obj.apiVersion, obj.kind)) as T;
}

export function objectRef(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return `${obj.kind} ${ns ? `${ns}/` : ''}${obj.metadata?.name ?? '?'}`;
}

const quantityPattern = /^([+-]?\d+(?:\.\d+)?)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$/;
const quantityScale: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

/** API servers store resource quantities canonically ("1024Mi" comes back as "1Gi"): compare by value. */
function sameQuantity(a: string, b: string): boolean {
  const ma = quantityPattern.exec(a);
  const mb = quantityPattern.exec(b);
  if (!ma || !mb) return false;
  return Number(ma[1]) * quantityScale[ma[2] ?? '']! === Number(mb[1]) * quantityScale[mb[2] ?? '']!;
}

/**
 * The paths where `live` does not already hold what `desired` says. Fields the server added (defaults, status,
 * other managers' fields) are not differences: desired must be a subset of live.
 */
export function subsetDifferences(desired: unknown, live: unknown, path = ''): string[] {
  if (desired === null || typeof desired !== 'object') {
    if (desired === live) return [];
    if (typeof desired === 'string' && typeof live === 'string' && sameQuantity(desired, live)) return [];
    if (typeof desired === 'number' && typeof live === 'string' && String(desired) === live) return [];
    return [path || '.'];
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return [path || '.'];
    return desired.flatMap((d, i) => subsetDifferences(d, live[i], `${path}[${i}]`));
  }
  if (live === null || typeof live !== 'object' || Array.isArray(live)) return [path || '.'];
  const out: string[] = [];
  for (const [key, value] of Object.entries(desired as Record<string, unknown>)) {
    out.push(...subsetDifferences(value, (live as Record<string, unknown>)[key], path ? `${path}.${key}` : key));
  }
  return out;
}

/** What of an object we own when comparing: everything but the metadata the server manages. */
export function comparableDesired(obj: KubernetesObject): Record<string, unknown> {
  const { metadata, apiVersion: _a, kind: _k, ...rest } = obj as KubernetesObject & Record<string, unknown>;
  const meta: Record<string, unknown> = {};
  if (metadata?.labels) meta.labels = metadata.labels;
  if (metadata?.annotations) meta.annotations = metadata.annotations;
  return Object.keys(meta).length ? { metadata: meta, ...rest } : rest;
}
