// Cilium security identities for the sim: one numeric identity per distinct label set; reserved ones as Cilium's.

import { reservedIdentityNumbers } from '../../flows/reserved.ts';

/** Cilium's reserved identities (pkg/identity/numericidentity.go). */
export const reservedIdentity = reservedIdentityNumbers;

/** The label strings Cilium puts on a pod's endpoint (and Hubble prints), sorted as Cilium sorts them. */
export function podEndpointLabels(pod: {
  namespace: string;
  labels: Record<string, string>;
  namespaceLabels?: Record<string, string>;
  serviceAccount?: string;
  clusterName: string;
}): string[] {
  const out = Object.entries(pod.labels)
    .filter(([k]) => k !== 'pod-template-hash' && k !== 'controller-revision-hash' && k !== 'pod-template-generation')
    .map(([k, v]) => `k8s:${k}=${v}`);
  for (const [k, v] of Object.entries(pod.namespaceLabels ?? { 'kubernetes.io/metadata.name': pod.namespace })) {
    out.push(`k8s:io.cilium.k8s.namespace.labels.${k}=${v}`);
  }
  out.push(`k8s:io.cilium.k8s.policy.cluster=${pod.clusterName}`);
  out.push(`k8s:io.cilium.k8s.policy.serviceaccount=${pod.serviceAccount ?? 'default'}`);
  out.push(`k8s:io.kubernetes.pod.namespace=${pod.namespace}`);
  return out.sort();
}

/**
 * Allocates identities like Cilium's CRD allocator: a stable number per label set, from 256 up (cluster-local
 * identities), the same set always getting the same number in one cluster.
 */
export class IdentityAllocator {
  private readonly byKey = new Map<string, number>();
  private readonly used = new Set<number>();

  constructor(private readonly min = 256, private readonly max = 65535) {}

  identityFor(labels: readonly string[]): number {
    const key = [...labels].sort().join('\u0000');
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    // A hash of the label set keeps identities stable across sims with the same workloads.
    let h = 2166136261;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
    const span = this.max - this.min + 1;
    let id = this.min + (h % span);
    while (this.used.has(id)) id = id === this.max ? this.min : id + 1;
    this.used.add(id);
    this.byKey.set(key, id);
    return id;
  }
}
