// Public types of the policy evaluator: endpoints, connections, decisions and the L7 rules a proxy enforces.

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** A named container port of a pod (spec.containers[].ports[]); protocol defaults to TCP. */
export interface NamedPort {
  name: string;
  port: number;
  protocol?: Protocol;
}

/** A pod managed by the CNI: the only kind of endpoint policies select as their subject. */
export interface PodEndpoint {
  kind: 'pod';
  namespace: string;
  name?: string;
  labels: Record<string, string>;
  /** Labels of the pod's namespace; `kubernetes.io/metadata.name` is implied, as the API server sets it. */
  namespaceLabels?: Record<string, string>;
  ip?: string;
  /** Node the pod runs on; decides whether a node peer is this pod's `host` or a `remote-node`. */
  nodeName?: string;
  serviceAccount?: string;
  /** Named container ports; named ports in policies resolve against the destination pod's list. */
  ports?: NamedPort[];
}

/** A cluster node (or a host-network pod on it). */
export interface NodeEndpoint {
  kind: 'node';
  name: string;
  ip?: string;
  /** The kube-apiserver listens here (the `kube-apiserver` entity). */
  kubeApiserver?: boolean;
}

/** Anything outside the cluster. */
export interface WorldEndpoint {
  kind: 'world';
  ip: string;
  /** DNS names this IP was learned from (what a DNS proxy saw); used by toFQDNs. */
  names?: string[];
  kubeApiserver?: boolean;
}

export type Endpoint = PodEndpoint | NodeEndpoint | WorldEndpoint;

/**
 * The first packet of a connection after Service translation: the destination is the chosen backend and the
 * port is the backend's port. Replies belong to the connection and are not evaluated (stateful, as conntrack).
 */
export interface Connection {
  source: Endpoint;
  destination: Endpoint;
  protocol: Protocol;
  port: number;
}

/** One rule of a policy: the policy, and where the rule is in it (`spec.ingress[0]`, `spec.egressDeny[1].toPorts[0]`). */
export interface RuleRef {
  policy: PolicyRef;
  path: string;
}

export type PolicyKind = 'NetworkPolicy' | 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy';

/** Which policy allowed or denied; namespace is '' for a clusterwide policy. */
export interface PolicyRef {
  kind: PolicyKind;
  name: string;
  namespace: string;
  /** metadata.uid, when the object has one (it does once an API server stored it). */
  uid?: string;
}

/** Cilium's PortRuleHTTP: method, path and host are full-match regular expressions; empty fields match all. */
export interface HttpRule {
  method?: string;
  path?: string;
  host?: string;
  /** `Name` (must be present) or `Name: value` (must equal). */
  headers?: string[];
  headerMatches?: { name: string; value?: string; mismatch?: string }[];
}

/** Cilium's PortRuleDNS: exactly one of matchName (exact) and matchPattern (`*` wildcards). */
export interface DnsRule {
  matchName?: string;
  matchPattern?: string;
}

/** Traffic is redirected to an L7 proxy that enforces these rules per request (403 for HTTP, REFUSED for DNS). */
export type L7Rules = { kind: 'http'; rules: HttpRule[] } | { kind: 'dns'; rules: DnsRule[] };

export type DropReason = 'POLICY_DENIED' | 'POLICY_DENY';

/**
 * How the entry that decided matched, as Cilium reports it (bpf/lib/common.h POLICY_MATCH_*): L3 is a particular
 * peer, L4 a port (or range), Proto a protocol without a port; `all` is an entry for any peer, protocol and port;
 * `none` is no entry (default deny).
 */
export type PolicyMatch = 'none' | 'L3-Only' | 'L3-L4' | 'L4-Only' | 'all' | 'L3-Proto' | 'Proto-Only';

/** The verdict of one side: the source's egress or the destination's ingress. */
export interface SideDecision {
  /** Some policy selects the endpoint for this direction: Cilium enforces policy there (and reports its verdicts). */
  enforced: boolean;
  /** Some policy puts the endpoint in default deny for this direction. */
  isolated: boolean;
  allowed: boolean;
  /** Set when not allowed: POLICY_DENY for an explicit deny rule, POLICY_DENIED for default deny. */
  dropReason?: DropReason;
  allowedBy: PolicyRef[];
  deniedBy: PolicyRef[];
  /**
   * How the deciding entry matched: the most specific matching deny rule when one denies, else the most specific
   * allow rule (a port beats a protocol beats any port; then a particular peer beats any peer).
   */
  match: PolicyMatch;
  /** The policies behind that entry (what Hubble's policy correlation names); empty for default deny and implicit allows. */
  matchedBy: PolicyRef[];
  /** Set when this side's proxy sees the traffic. */
  l7?: L7Rules;
}

export interface Decision {
  allowed: boolean;
  /** The first side that drops: egress is enforced before the packet leaves the source. */
  dropReason?: DropReason;
  dropDirection?: 'egress' | 'ingress';
  egress: SideDecision;
  ingress: SideDecision;
  /** Present when an allowed connection goes through an L7 proxy; a request must pass every side listed. */
  l7?: { egress?: L7Rules; ingress?: L7Rules };
}

/** A policy object that could not be compiled; it has no effect, like a policy the agent refuses to import. */
export interface RejectedPolicy {
  kind: string;
  name: string;
  namespace: string;
  reason: string;
}

export interface CompileOptions {
  /** Value of the `io.cilium.k8s.policy.cluster` label pods carry (the `cluster` entity). Default `default`. */
  clusterName?: string;
  /** Traffic from a pod's own node is always allowed in, as Cilium's allow-localhost default. Default true. */
  allowLocalhost?: boolean;
}
