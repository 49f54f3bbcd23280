// Cilium security identities for the sim: one numeric identity per distinct label set; reserved ones as Cilium's.

import { reservedIdentityNumbers } from '../../flows/reserved.ts';

/** Cilium's reserved identities (pkg/identity/numericidentity.go). */
export const reservedIdentity = reservedIdentityNumbers;

/** One of Cilium's default label prefixes: a regular expression that must match at the start of the key. */
interface LabelPrefix {
  expr: RegExp;
  ignore: boolean;
}

const prefix = (source: string): LabelPrefix => ({ expr: new RegExp(source.replace(/^!/, '')), ignore: source.startsWith('!') });

/**
 * Cilium's default label filter (pkg/labelsfilter defaultLabelPrefixCfg, Cilium 1.16 and later): the labels that
 * make up a security identity. Keys naming an instance rather than a workload (a ReplicaSet's pod-template-hash, a
 * Job's controller-uid, a StatefulSet pod's name, kubernetes.io and k8s.io keys) are left out, so every replica of a
 * workload, and every run of a Job of the same name, shares one identity.
 */
const defaultLabelPrefixes: readonly LabelPrefix[] = [
  'io\\.kubernetes\\.pod\\.namespace',
  'io\\.cilium\\.k8s\\.namespace\\.labels',
  'app\\.kubernetes\\.io',
  'io\\.cilium\\.k8s\\.policy\\.cluster',
  'io\\.cilium\\.k8s\\.policy\\.serviceaccount',
  '!io\\.kubernetes',
  '!kubernetes\\.io',
  '!statefulset\\.kubernetes\\.io/pod-name',
  '!apps\\.kubernetes\\.io/pod-index',
  '!batch\\.kubernetes\\.io/job-completion-index',
  '!batch\\.kubernetes\\.io/controller-uid',
  '!.*beta\\.kubernetes\\.io',
  '!k8s\\.io',
  '!pod-template-generation',
  '!pod-template-hash',
  '!controller-revision-hash',
  '!controller-uid',
  '!annotation.*',
  '!etcd_node',
].map(prefix);

/** Keys already decided: a cluster has few distinct label keys. */
const decided = new Map<string, boolean>();

/**
 * Whether a Kubernetes label key counts for the identity, decided as Cilium's filterLabels does: a prefix matches
 * when its expression's leftmost match starts at the key's first character; with only the default prefixes (no
 * user-given include) a key is kept unless an ignore prefix matches, or an include prefix matches more of the key
 * than the shortest matching ignore prefix.
 */
export function isIdentityLabel(key: string): boolean {
  const known = decided.get(key);
  if (known !== undefined) return known;
  let included = 0;
  let ignored = 0;
  for (const p of defaultLabelPrefixes) {
    const m = p.expr.exec(key);
    if (!m || m.index !== 0) continue;
    const length = m[0].length;
    if (p.ignore) {
      if (ignored === 0 || length < ignored) ignored = length;
    } else if (length > included) included = length;
  }
  const keep = ignored === 0 || included > ignored;
  if (decided.size >= 4096) decided.clear();
  decided.set(key, keep);
  return keep;
}

/** A pod's labels that count for its identity (and so for policy selectors): isIdentityLabel's keys. */
export function identityLabels(labels: Record<string, string>): Record<string, string> {
  let out: Record<string, string> | undefined;
  for (const key of Object.keys(labels)) {
    if (isIdentityLabel(key)) continue;
    out ??= { ...labels };
    delete out[key];
  }
  return out ?? labels;
}

/**
 * The label strings of a pod's identity, which Hubble prints as the endpoint's labels: the pod's labels, its
 * namespace's labels, cluster, service account and namespace, through Cilium's label filter, sorted as Cilium sorts them.
 */
export function podEndpointLabels(pod: {
  namespace: string;
  labels: Record<string, string>;
  namespaceLabels?: Record<string, string>;
  serviceAccount?: string;
  clusterName: string;
}): string[] {
  const out: string[] = [];
  const add = (key: string, value: string) => {
    if (isIdentityLabel(key)) out.push(`k8s:${key}=${value}`);
  };
  for (const [k, v] of Object.entries(pod.labels)) add(k, v);
  for (const [k, v] of Object.entries(pod.namespaceLabels ?? { 'kubernetes.io/metadata.name': pod.namespace })) {
    add(`io.cilium.k8s.namespace.labels.${k}`, v);
  }
  add('io.cilium.k8s.policy.cluster', pod.clusterName);
  add('io.cilium.k8s.policy.serviceaccount', pod.serviceAccount ?? 'default');
  add('io.kubernetes.pod.namespace', pod.namespace);
  return out.sort();
}

/**
 * Allocates identities like Cilium's CRD allocator: a stable number per label set, from 256 up (cluster-local
 * identities), the same set always getting the same number in one cluster.
 */
export class IdentityAllocator {
  private readonly byKey = new Map<string, number>();
  private readonly used = new Set<number>();

  constructor(
    private readonly min = 256,
    private readonly max = 65535,
  ) {}

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
