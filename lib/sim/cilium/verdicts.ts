// Policy-verdict notifications: which sides of a new connection report one, with which verdict, match type and
// policies (Hubble's policy correlation), from the policy decision the enforcer already made.
import type { Policy } from '../../flows/types.ts';
import type { Decision, PolicyMatch, PolicyRef, SideDecision } from '../../policy/index.ts';
import type { PacketVerdicts, PolicyVerdict } from '../hubble/flows.ts';

/** bpf/lib/common.h POLICY_MATCH_*, the numbers flow.policy_match_type carries. */
const matchTypes: Record<PolicyMatch, number> = { none: 0, 'L3-Only': 1, 'L3-L4': 2, 'L4-Only': 3, all: 4, 'L3-Proto': 5, 'Proto-Only': 6 };

/**
 * A policy as Hubble's correlation names it: from the rule's labels (pkg/k8s/utils GetPolicyLabels: derived-from,
 * name, namespace unless clusterwide, uid) and the policy revision the endpoint enforces.
 */
function policyOf(ref: PolicyRef, revision: number): Policy {
  const labels = [`k8s:io.cilium.k8s.policy.derived-from=${ref.kind}`, `k8s:io.cilium.k8s.policy.name=${ref.name}`];
  if (ref.namespace) labels.push(`k8s:io.cilium.k8s.policy.namespace=${ref.namespace}`);
  if (ref.uid) labels.push(`k8s:io.cilium.k8s.policy.uid=${ref.uid}`);
  return { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}), labels, revision: String(revision), kind: ref.kind };
}

/**
 * Turns side decisions into verdicts. An endpoint reports a verdict for a direction only where policy is enforced on
 * it (Cilium's policy-verdict log filter is the endpoint's ingress/egress enforcement); decisions are cached by the
 * policy state until policies or endpoints change, and so are their verdicts here.
 */
export class PolicyVerdicts {
  private readonly cache = new WeakMap<SideDecision, PolicyVerdict | null>();

  /** `revision`: the policy revision, named in correlated policies. */
  constructor(private readonly revision: () => number) {}

  side(decision: Decision, side: 'egress' | 'ingress'): PolicyVerdict | undefined {
    const d = decision[side];
    let v = this.cache.get(d);
    if (v === undefined) {
      v = d.enforced ? this.build(d, side) : null;
      this.cache.set(d, v);
    }
    return v ?? undefined;
  }

  /** The verdicts of a connection policy let through: both sides, each where enforced. */
  allowed(decision: Decision): PacketVerdicts | undefined {
    const egress = this.side(decision, 'egress');
    const ingress = this.side(decision, 'ingress');
    if (!egress && !ingress) return undefined;
    return { ...(egress ? { egress } : {}), ...(ingress ? { ingress } : {}) };
  }

  private build(d: SideDecision, side: 'egress' | 'ingress'): PolicyVerdict {
    const v: PolicyVerdict = { side, verdict: d.allowed ? (d.l7 ? 'REDIRECTED' : 'FORWARDED') : 'DROPPED', matchType: matchTypes[d.match] };
    if (d.dropReason) v.dropReason = d.dropReason;
    // Correlation names the policies of allowed traffic, and of drops by a deny rule (default deny has no rule).
    if (d.matchedBy.length && (d.allowed || d.dropReason === 'POLICY_DENY')) v.policies = d.matchedBy.map((ref) => policyOf(ref, this.revision()));
    return v;
  }
}
