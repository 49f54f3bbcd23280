// A Hubble flow as the policy evaluator sees it: both ends as policy endpoints, the connection's protocol and
// server port, and whether the flow was let through or denied by policy. Works on lab and real exports alike.
import type { Endpoint as HubbleEndpoint, Flow } from '../flows/types.ts';
import { reservedIdentity } from '../flows/identity.ts';
import { isPolicyVerdict, isReplyFlow } from '../analysis/edges.ts';
import { dropReason, isPolicyReason } from '../analysis/drops.ts';
import type { Endpoint, Protocol } from './types.ts';

/**
 * Flows carry no node for their endpoints; the node a flow was observed on is the one that matters. A pod is
 * placed on this node, and `reserved:host` (the observing node itself) is this node too, so the pod's own node
 * is recognised as Cilium recognises it (the `host` identity is always local).
 */
export const LOCAL_NODE = '(local node)';
export const REMOTE_NODE = '(remote node)';

const namespaceKey = 'io.kubernetes.pod.namespace';
const namespaceLabelPrefix = 'io.cilium.k8s.namespace.labels.';
const clusterKey = 'io.cilium.k8s.policy.cluster';
const serviceAccountKey = 'io.cilium.k8s.policy.serviceaccount';

/** What the Kubernetes labels of a Hubble endpoint (`k8s:` or source-less) say about the pod. */
export interface PodFacts {
  namespace: string | undefined;
  labels: Record<string, string>;
  namespaceLabels: Record<string, string> | undefined;
  cluster: string | undefined;
  serviceAccount: string | undefined;
}

/** Splits Cilium's label strings into the pod's own labels and what Cilium derived from its namespace and account. */
export function podFacts(ep: HubbleEndpoint | undefined): PodFacts {
  const facts: PodFacts = { namespace: ep?.namespace || undefined, labels: {}, namespaceLabels: undefined, cluster: undefined, serviceAccount: undefined };
  for (const label of ep?.labels ?? []) {
    const eq = label.indexOf('=');
    const colon = label.indexOf(':');
    const hasSource = colon !== -1 && (eq === -1 || colon < eq);
    const source = hasSource ? label.slice(0, colon) : '';
    if (source !== '' && source !== 'k8s' && source !== 'any') continue;
    const key = label.slice(hasSource ? colon + 1 : 0, eq === -1 ? undefined : eq);
    const value = eq === -1 ? '' : label.slice(eq + 1);
    if (key === namespaceKey) facts.namespace ??= value;
    else if (key.startsWith(namespaceLabelPrefix)) (facts.namespaceLabels ??= {})[key.slice(namespaceLabelPrefix.length)] = value;
    else if (key === clusterKey) facts.cluster = value;
    else if (key === serviceAccountKey) facts.serviceAccount = value;
    else if (!key.startsWith('io.cilium.k8s.policy.')) facts.labels[key] = value;
  }
  return facts;
}

/** An endpoint of a flow for policy, or why it cannot be one. */
export type FlowEndpoint = { endpoint: Endpoint; cluster?: string } | { unsupported: string };

/**
 * A flow's endpoint as a policy endpoint: a pod (namespace from the field or from `k8s:io.kubernetes.pod.namespace`,
 * pod name optional), the observing node (`host`) or another node (`remote-node`), or the world with the DNS names
 * known for its IP. An endpoint with no identity at all is the world, as Cilium treats an IP it knows nothing about.
 */
export function flowEndpoint(ep: HubbleEndpoint | undefined, ip: string | undefined, names: readonly string[] | undefined): FlowEndpoint {
  const reserved = reservedIdentity(ep);
  const apiserver = reserved === 'kube-apiserver' || (ep?.labels ?? []).includes('reserved:kube-apiserver');
  const hostLike = (ep?.labels ?? []).find((l) => l === 'reserved:host' || l === 'reserved:remote-node');
  if (reserved === 'host' || hostLike === 'reserved:host') {
    return { endpoint: { kind: 'node', name: LOCAL_NODE, ...(ip ? { ip } : {}), ...(apiserver ? { kubeApiserver: true } : {}) } };
  }
  if (reserved === 'remote-node' || hostLike === 'reserved:remote-node') {
    return { endpoint: { kind: 'node', name: REMOTE_NODE, ...(ip ? { ip } : {}), ...(apiserver ? { kubeApiserver: true } : {}) } };
  }
  if (reserved === 'world' || reserved === 'kube-apiserver') {
    if (!ip) return { unsupported: 'a world endpoint without an IP' };
    return { endpoint: { kind: 'world', ip, ...(names?.length ? { names: [...names] } : {}), ...(apiserver ? { kubeApiserver: true } : {}) } };
  }
  if (reserved) return { unsupported: `the reserved identity ${reserved}` };
  const facts = podFacts(ep);
  if (facts.namespace) {
    return {
      endpoint: {
        kind: 'pod',
        namespace: facts.namespace,
        ...(ep?.pod_name ? { name: ep.pod_name } : {}),
        labels: facts.labels,
        ...(facts.namespaceLabels ? { namespaceLabels: facts.namespaceLabels } : {}),
        ...(ip ? { ip } : {}),
        nodeName: LOCAL_NODE,
        ...(facts.serviceAccount ? { serviceAccount: facts.serviceAccount } : {}),
      },
      ...(facts.cluster ? { cluster: facts.cluster } : {}),
    };
  }
  if (!ip) return { unsupported: 'an endpoint without identity or IP' };
  return { endpoint: { kind: 'world', ip, ...(names?.length ? { names: [...names] } : {}) } };
}

/** What a flow says about policy: traffic that was let through, or traffic policy denied. */
export type FlowClass = 'forwarded' | 'denied';

export interface FlowConnection {
  class: FlowClass;
  /** In the reply direction: part of a connection policy already decided; counted, never evaluated. */
  reply: boolean;
  client: { hubble: HubbleEndpoint | undefined; ip: string | undefined; names: string[] | undefined };
  server: { hubble: HubbleEndpoint | undefined; ip: string | undefined; names: string[] | undefined };
  protocol: Protocol;
  port: number;
  /** For denied flows: POLICY_DENIED, POLICY_DENY, or L7 for a request the proxy refused. */
  reason?: string;
  /** For denied flows, the side that denied, when the flow says. */
  direction?: 'ingress' | 'egress';
  http?: { method: string; url: string };
  dnsQuery?: string;
}

/** Why a flow is not a policy observation; counted by the caller. */
export type FlowSkip = { skip: string };

function l4Of(flow: Flow): { protocol: Protocol; src: number; dst: number } | undefined {
  const l4 = flow.l4;
  if (l4?.TCP) return { protocol: 'TCP', src: l4.TCP.source_port ?? 0, dst: l4.TCP.destination_port ?? 0 };
  if (l4?.UDP) return { protocol: 'UDP', src: l4.UDP.source_port ?? 0, dst: l4.UDP.destination_port ?? 0 };
  if (l4?.SCTP) return { protocol: 'SCTP', src: l4.SCTP.source_port ?? 0, dst: l4.SCTP.destination_port ?? 0 };
  return undefined;
}

const passed = new Set(['FORWARDED', 'REDIRECTED', 'AUDIT']);

/**
 * Reads one flow: client and server (a reply's source is the server), the server's port, and whether policy let
 * it through. Policy-verdict records are skipped (the packet's own trace or drop flow is counted instead), as are
 * drops for reasons other than policy, ICMP and other protocols policies here do not cover. With `verdicts`, a
 * policy-verdict record stands for its packet (an export that holds nothing else).
 */
export function flowConnection(flow: Flow, opts: { verdicts?: boolean } = {}): FlowConnection | FlowSkip {
  if (!opts.verdicts && isPolicyVerdict(flow)) return { skip: 'policy-verdict records (the packet is counted once, by its trace or drop flow)' };
  const verdict = flow.verdict ?? 'VERDICT_UNKNOWN';
  let cls: FlowClass;
  let reason: string | undefined;
  if (passed.has(verdict)) cls = 'forwarded';
  else if (verdict === 'DROPPED') {
    if (flow.Type === 'L7' || flow.l7) {
      cls = 'denied';
      reason = 'L7';
    } else {
      reason = dropReason(flow);
      if (!isPolicyReason(reason)) return { skip: `drops for other reasons than policy (${reason})` };
      cls = 'denied';
    }
  } else return { skip: `verdict ${verdict}` };
  const l4 = l4Of(flow);
  if (!l4) return { skip: flow.l4?.ICMPv4 || flow.l4?.ICMPv6 ? 'ICMP (policies here cover TCP, UDP and SCTP)' : 'flows without TCP, UDP or SCTP ports' };
  const reply = cls === 'forwarded' && isReplyFlow(flow);
  const src = { hubble: flow.source, ip: flow.IP?.source, names: flow.source_names };
  const dst = { hubble: flow.destination, ip: flow.IP?.destination, names: flow.destination_names };
  const out: FlowConnection = {
    class: cls,
    reply,
    client: reply ? dst : src,
    server: reply ? src : dst,
    protocol: l4.protocol,
    port: reply ? l4.src : l4.dst,
  };
  if (reason) out.reason = reason;
  if (cls === 'denied') {
    if (flow.traffic_direction === 'INGRESS') out.direction = 'ingress';
    else if (flow.traffic_direction === 'EGRESS') out.direction = 'egress';
  }
  const http = flow.l7?.http;
  if (!reply && flow.l7?.type !== 'RESPONSE' && http?.method) out.http = { method: http.method, url: http.url ?? '/' };
  const dns = flow.l7?.dns;
  if (!reply && flow.l7?.type !== 'RESPONSE' && dns?.query) out.dnsQuery = dns.query;
  return out;
}

/** The request target of an HTTP URL as the proxy matches it: path and query (`http://h/a?b=1` → `/a?b=1`). */
export function requestTarget(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^#]*)/i.exec(url);
  const target = m ? m[1]! : url.split('#')[0]!;
  return target === '' ? '/' : target.startsWith('/') ? target : `/${target}`;
}
