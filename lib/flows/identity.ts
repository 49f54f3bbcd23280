// Endpoint identity: the stable, human name of one side of a flow (`namespace/workload`, a reserved identity, a DNS name or an IP).
import { reservedIdentityNames } from './reserved.ts';
import type { Endpoint } from './types.ts';

/** Kubernetes' alphabet for generated name suffixes (no vowels, no confusable digits). */
const SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const replicaSetPod = new RegExp(`^(.+)-[${SUFFIX_CHARS}]{4,10}-[${SUFFIX_CHARS}]{5}$`);
const generatedPod = new RegExp(`^(.+)-[${SUFFIX_CHARS}]{5}$`);

/** Label keys that name an application, most specific first. */
const APP_LABEL_KEYS = ['app.kubernetes.io/name', 'app', 'k8s-app'] as const;

/**
 * Reserved identities in the order they win when an endpoint carries several labels: the API server is
 * usually labelled `reserved:kube-apiserver` together with `reserved:host` or `reserved:remote-node`.
 */
const RESERVED_ORDER = ['kube-apiserver', 'host', 'remote-node', 'health', 'init', 'ingress', 'unmanaged', 'world'] as const;

/** A reserved identity's number to the endpoint name used in reports: both world identities are `world`. */
function reservedByNumber(n: number): string | undefined {
  const name = reservedIdentityNames[n];
  if (name === 'world-ipv4' || name === 'world-ipv6') return 'world';
  return name === 'unknown' || name === 'overlay-to-encrypt' ? undefined : name;
}

/** The pod name without the suffix a ReplicaSet (`-<hash>-<5>`) or a Job/DaemonSet (`-<5>`) generated. */
export function stripPodSuffix(podName: string): string {
  const rs = replicaSetPod.exec(podName);
  if (rs) return rs[1]!;
  const gen = generatedPod.exec(podName);
  if (gen) return gen[1]!;
  return podName;
}

/**
 * The value of a Kubernetes label from Cilium's `source:key=value` strings. Only `k8s:` (and the source-less
 * and `any:` spellings) count: container-runtime labels do not name workloads.
 */
export function labelValue(labels: readonly string[] | undefined, key: string): string | undefined {
  if (!labels) return undefined;
  for (const label of labels) {
    const eq = label.indexOf('=');
    if (eq === -1) continue;
    const colon = label.indexOf(':');
    const start = colon !== -1 && colon < eq ? colon + 1 : 0;
    if (eq - start !== key.length || !label.startsWith(key, start)) continue;
    if (start > 0) {
      const source = label.slice(0, start - 1);
      if (source !== 'k8s' && source !== 'any') continue;
    }
    return label.slice(eq + 1);
  }
  return undefined;
}

/** Kubernetes labels of an endpoint as a plain map (`k8s:app=x` → `{app: 'x'}`), for selectors in expectations. */
export function kubernetesLabels(labels: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const label of labels ?? []) {
    const colon = label.indexOf(':');
    const eq = label.indexOf('=');
    if (eq === -1) continue;
    const source = colon !== -1 && colon < eq ? label.slice(0, colon) : '';
    if (source !== '' && source !== 'k8s' && source !== 'any') continue;
    out[label.slice(source ? colon + 1 : 0, eq)] = label.slice(eq + 1);
  }
  return out;
}

/** The reserved identity named by `reserved:` labels or, failing that, by Cilium's numeric identity. */
export function reservedIdentity(ep: Endpoint | undefined): string | undefined {
  let best = -1;
  for (const label of ep?.labels ?? []) {
    if (!label.startsWith('reserved:')) continue;
    const eq = label.indexOf('=');
    let name = label.slice('reserved:'.length, eq === -1 ? undefined : eq);
    if (name === 'world-ipv4' || name === 'world-ipv6') name = 'world';
    const rank = (RESERVED_ORDER as readonly string[]).indexOf(name);
    if (rank !== -1 && (best === -1 || rank < best)) best = rank;
  }
  if (best !== -1) return RESERVED_ORDER[best];
  return ep?.identity === undefined ? undefined : reservedByNumber(ep.identity);
}

/**
 * The endpoint's namespace: its own field or, in exports that leave it out (older agents, exporter field masks),
 * the `k8s:io.kubernetes.pod.namespace` label every pod's identity carries.
 */
export function endpointNamespace(ep: Endpoint | undefined): string | undefined {
  return ep?.namespace || labelValue(ep?.labels, 'io.kubernetes.pod.namespace') || undefined;
}

/** The workload name of a namespaced endpoint, or undefined when nothing names it. */
export function workloadName(ep: Endpoint): string | undefined {
  const workload = ep.workloads?.[0]?.name;
  if (workload) return workload;
  for (const key of APP_LABEL_KEYS) {
    const v = labelValue(ep.labels, key);
    if (v) return v;
  }
  return ep.pod_name ? stripPodSuffix(ep.pod_name) : undefined;
}

function dnsName(names: readonly string[] | undefined): string | undefined {
  const first = names?.find((n) => n.length > 0);
  if (!first) return undefined;
  return first.endsWith('.') ? first.slice(0, -1) : first;
}

/**
 * The name of one side of a flow: `namespace/workload` for pods; for endpoints without a namespace the
 * reserved identity (`host`, `remote-node`, …), `world` as its first DNS name when Hubble resolved one
 * (`api.openai.com`); as a last resort the IP, else `unknown`.
 */
export function endpointName(ep: Endpoint | undefined, ip: string | undefined, dnsNames: readonly string[] | undefined): string {
  const namespace = endpointNamespace(ep);
  if (namespace) {
    const name = workloadName(ep!);
    if (name) return `${namespace}/${name}`;
    return ip ? `${namespace}/${ip}` : `${namespace}/unknown`;
  }
  const reserved = reservedIdentity(ep);
  if (reserved === 'world') return dnsName(dnsNames) ?? 'world';
  if (reserved) return reserved;
  const dns = dnsName(dnsNames);
  if (dns) return dns;
  return ip || 'unknown';
}
