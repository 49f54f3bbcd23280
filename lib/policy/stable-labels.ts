// The labels a policy selects pods by: those naming the workload, never those generated per rollout, run or replica.

/**
 * Labels that name one instance, one rollout or one run rather than the workload: selecting by them breaks at the
 * next rollout (pod-template-hash), the next Job run (controller-uid, job-name) or on another replica.
 */
const generatedLabel = [
  /^pod-template-hash$/,
  /^pod-template-generation$/,
  /^controller-revision-hash$/,
  /^controller-uid$/,
  /^job-name$/,
  /^batch\.kubernetes\.io\//,
  /^statefulset\.kubernetes\.io\//,
  /^apps\.kubernetes\.io\//,
  /^app\.kubernetes\.io\/version$/,
  /^helm\.sh\//,
  /^io\.kubernetes\./,
  /^io\.cilium\./,
  /(^|\.)kubernetes\.io\/(?!name$|instance$|component$|part-of$|managed-by$)/,
  /(^|\.)k8s\.io\//,
];

/**
 * The labels a policy selects a pod by: app, tier and app.kubernetes.io/* when it has any; otherwise every label
 * that is not generated. Never pod-template-hash, controller-uid, job-name or batch.kubernetes.io/*.
 */
export function stableLabels(labels: Record<string, string>): Record<string, string> {
  const keep = Object.keys(labels).filter((k) => !generatedLabel.some((r) => r.test(k)));
  const preferred = keep.filter((k) => k === 'app' || k === 'tier' || k.startsWith('app.kubernetes.io/'));
  const chosen = preferred.length ? preferred : keep;
  return Object.fromEntries(chosen.sort().map((k) => [k, labels[k]!]));
}
