// Who is behind an address, as the Cilium agent knows it: the pod's security identity, its Hubble endpoint and its
// description for policy, built once per pod from the stored Pod and Namespace and reused by every flow.
import type { Endpoint as HubbleEndpoint, Workload } from '../../flows/types.ts';
import type { Endpoint as PolicyEndpoint, NamedPort, Protocol } from '../../policy/index.ts';
import { R } from '../apiserver/resources.ts';
import type { KObject, Store, StoreEvent } from '../apiserver/store.ts';
import type { SimEndpoint } from '../hubble/flows.ts';
import { IdentityAllocator, identityLabels, podEndpointLabels, reservedIdentity } from '../hubble/identity.ts';
import type { EndpointInfo } from '../net/datapath.ts';

/** One end of a connection, described for policy and for Hubble. */
export interface ResolvedEndpoint {
  /** Tells endpoints apart in decision caches. */
  readonly key: string;
  readonly policy: PolicyEndpoint;
  readonly hubble: SimEndpoint;
}

const cronJobName = /^(.+)-\d{8,10}$/;

/**
 * The workload Cilium reports for a pod (pkg/k8s/utils GetWorkloadMetaFromPod): only for generated pod names, from the
 * controlling owner, a ReplicaSet whose name ends in the pod-template-hash standing for its Deployment and a Job
 * named like a CronJob's for that CronJob.
 */
export function podWorkload(pod: KObject): Workload | undefined {
  if (!pod.metadata.generateName) return undefined;
  const ref = pod.metadata.ownerReferences?.find((r) => r.controller);
  if (!ref) return undefined;
  const hash = pod.metadata.labels?.['pod-template-hash'];
  if (ref.kind === 'ReplicaSet' && hash && ref.name.endsWith(hash)) {
    return { name: ref.name.slice(0, ref.name.length - hash.length).replace(/-$/, ''), kind: 'Deployment' };
  }
  if (ref.kind === 'Job') {
    const m = cronJobName.exec(ref.name);
    if (m) return { name: m[1]!, kind: 'CronJob' };
  }
  return { name: ref.name, kind: ref.kind };
}

function namedPorts(pod: KObject | undefined): NamedPort[] {
  const out: NamedPort[] = [];
  for (const c of (pod?.spec?.containers ?? []) as Record<string, any>[]) {
    for (const p of (c.ports ?? []) as Record<string, any>[]) {
      if (typeof p.name === 'string' && p.name !== '' && Number.isInteger(p.containerPort)) {
        out.push({ name: p.name, port: p.containerPort, protocol: (p.protocol ?? 'TCP') as Protocol });
      }
    }
  }
  return out;
}

/** A reserved identity's endpoint as Hubble prints it. */
function reserved(name: 'host' | 'remote-node' | 'world'): HubbleEndpoint {
  return { identity: reservedIdentity[name], labels: [`reserved:${name}`] };
}

const hostEndpoint = reserved('host');
const remoteNodeEndpoint = reserved('remote-node');
const worldEndpoint = reserved('world');

export class EndpointDirectory {
  private readonly pods = new Map<string, ResolvedEndpoint>();
  private readonly nodeIPs = new Map<string, string>();
  private readonly nodes = new Map<string, ResolvedEndpoint>();
  private readonly worlds = new Map<string, ResolvedEndpoint>();
  private nextEndpointId = 100;
  private readonly endpointIds = new Map<string, number>();
  private readonly unsubscribe: () => void;
  /** Bumped whenever a cached description may have changed; decision caches compare it. */
  generation = 0;

  constructor(
    private readonly store: Store,
    private readonly clusterName: string,
    private readonly identities = new IdentityAllocator(),
  ) {
    for (const node of store.list(R.nodes)) this.indexNode(node);
    this.unsubscribe = store.subscribe((ev) => this.changed(ev));
  }

  stop(): void {
    this.unsubscribe();
  }

  private indexNode(node: KObject): void {
    for (const a of (node.status?.addresses ?? []) as { type?: string; address?: string }[]) {
      if (a.type === 'InternalIP' && a.address) this.nodeIPs.set(a.address, node.metadata.name!);
    }
  }

  private changed(ev: StoreEvent): void {
    if (ev.res === R.pods) {
      // Status updates are frequent and change nothing here; labels and the service account do.
      const before = ev.old?.metadata;
      const after = ev.object.metadata;
      if (
        ev.type === 'DELETED' ||
        !before ||
        !sameLabels(before.labels, after.labels) ||
        ev.old?.spec?.serviceAccountName !== ev.object.spec?.serviceAccountName
      ) {
        if (this.pods.delete(after.uid ?? '')) this.generation++;
      }
    } else if (ev.res === R.namespaces) {
      if (ev.type !== 'ADDED' && sameLabels(ev.old?.metadata.labels, ev.object.metadata.labels)) return;
      for (const [uid, e] of this.pods) if (e.policy.kind === 'pod' && e.policy.namespace === ev.object.metadata.name) this.pods.delete(uid);
      this.generation++;
    } else if (ev.res === R.nodes) {
      for (const [ip, name] of this.nodeIPs) if (name === ev.object.metadata.name) this.nodeIPs.delete(ip);
      if (ev.type !== 'DELETED') this.indexNode(ev.object);
      this.nodes.clear();
      this.generation++;
    }
  }

  /** The node whose InternalIP this is. */
  nodeOf(ip: string): string | undefined {
    return this.nodeIPs.get(ip);
  }

  /**
   * The endpoint at `ip` as seen from a pod on `viewerNode`: the pod the datapath knows there, a node (host on the
   * viewer's own node, remote-node elsewhere), or the world.
   */
  resolve(info: EndpointInfo | undefined, ip: string, viewerNode: string | undefined): ResolvedEndpoint {
    if (info && !info.hostNetwork) return this.pod(info);
    const node = info?.hostNetwork ? info.nodeName : this.nodeIPs.get(ip);
    if (node !== undefined) return this.node(node, ip, viewerNode);
    return this.world(ip);
  }

  /** A pod, from its stored object when the API server has it (labels, namespace labels, service account, ports, workload). */
  pod(info: EndpointInfo): ResolvedEndpoint {
    const known = this.pods.get(info.uid);
    if (known) return known;
    const stored = this.store.get(R.pods, info.namespace, info.name);
    const pod = stored && stored.metadata.uid === info.uid ? stored : undefined;
    const labels = pod?.metadata.labels ?? info.labels;
    const namespaceLabels = this.store.get(R.namespaces, '', info.namespace)?.metadata.labels ?? { 'kubernetes.io/metadata.name': info.namespace };
    const serviceAccount: string = pod?.spec?.serviceAccountName ?? pod?.spec?.serviceAccount ?? 'default';
    const labelList = podEndpointLabels({ namespace: info.namespace, labels, namespaceLabels, serviceAccount, clusterName: this.clusterName });
    const workload = pod ? podWorkload(pod) : undefined;
    const hubble: HubbleEndpoint = {
      ID: this.endpointId(info.uid),
      identity: this.identities.identityFor(labelList),
      namespace: info.namespace,
      labels: labelList,
      pod_name: info.name,
      ...(workload ? { workloads: [workload] } : {}),
    };
    const resolved: ResolvedEndpoint = {
      key: `pod/${info.uid}`,
      // Cilium's selectors select identities, so labels left out of the identity select nothing.
      policy: {
        kind: 'pod',
        namespace: info.namespace,
        name: info.name,
        labels: identityLabels(labels),
        namespaceLabels,
        ip: info.ip,
        nodeName: info.nodeName,
        serviceAccount,
        ports: namedPorts(pod),
      },
      hubble: { ip: info.ip, node: info.nodeName, endpoint: hubble },
    };
    this.pods.set(info.uid, resolved);
    return resolved;
  }

  /** Cilium numbers endpoints per node; a stable small number per pod stands in for it. */
  private endpointId(uid: string): number {
    let id = this.endpointIds.get(uid);
    if (id === undefined) {
      id = this.nextEndpointId++;
      if (this.nextEndpointId > 4095) this.nextEndpointId = 100;
      this.endpointIds.set(uid, id);
      if (this.endpointIds.size > 8192) this.endpointIds.delete(this.endpointIds.keys().next().value!);
    }
    return id;
  }

  /**
   * A node (or a host-network pod on it). Its flows are observed on the pod side only, so the Hubble endpoint
   * carries no node of its own; its identity is host from its own node's pods and remote-node from the others'.
   */
  node(name: string, ip: string, viewerNode: string | undefined): ResolvedEndpoint {
    const local = viewerNode === name;
    const key = `node/${name}/${ip}/${local ? 'host' : 'remote'}`;
    let e = this.nodes.get(key);
    if (!e) {
      e = { key, policy: { kind: 'node', name, ip }, hubble: { ip, endpoint: local ? hostEndpoint : remoteNodeEndpoint } };
      this.nodes.set(key, e);
    }
    return e;
  }

  world(ip: string): ResolvedEndpoint {
    let e = this.worlds.get(ip);
    if (!e) {
      e = { key: `world/${ip}`, policy: { kind: 'world', ip }, hubble: { ip, endpoint: worldEndpoint } };
      if (this.worlds.size > 4096) this.worlds.clear();
      this.worlds.set(ip, e);
    }
    return e;
  }
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => a![k] === b?.[k]);
}
