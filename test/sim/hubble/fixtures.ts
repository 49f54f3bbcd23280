// Shared setup for the sim Hubble tests: a datapath with host-network agent pods, flows made by the sim's own flow
// model, and local ports that reach a pod's port from outside the pod network.
import type { Test } from 'tap';
import type { Duplex } from 'node:stream';
import { createDatapath, type Datapath, type PodNetwork } from '../../../lib/sim/net/datapath.ts';
import { ConnectionFlows, type SimEndpoint } from '../../../lib/sim/hubble/flows.ts';
import { IdentityAllocator, podEndpointLabels } from '../../../lib/sim/hubble/identity.ts';
import type { SimHubble } from '../../../lib/sim/hubble/hub.ts';
import { localForward, type LocalForward } from '../../../lib/sim/hubble/forward.ts';
import type { ServiceEntry } from '../../../lib/sim/net/services.ts';
import type { ContainerContext } from '../../../lib/sim/runtime/images.ts';
import { corednsImage } from '../../../lib/sim/runtime/images/coredns.ts';

export const clusterName = 'kind-sim';
export const nodes = ['sim-control-plane', 'sim-worker', 'sim-worker2'] as const;

export function nodeIP(node: string): string {
  return `127.18.0.${nodes.indexOf(node as (typeof nodes)[number]) + 2}`;
}

export async function testDatapath(t: Test): Promise<Datapath> {
  const dp = await createDatapath({ synRtoMs: 50, synRetries: 1 });
  t.teardown(() => dp.close());
  return dp;
}

let uid = 0;

/** A Cilium agent pod: host network, so its IP is its node's. */
export function agentPod(dp: Datapath, node: string): PodNetwork {
  const ip = nodeIP(node);
  return dp.attachPod({
    ip,
    hostIP: ip,
    namespace: 'kube-system',
    name: `cilium-${node}`,
    uid: `agent-${++uid}`,
    nodeName: node,
    labels: { 'k8s-app': 'cilium' },
    hostNetwork: true,
  });
}

/** An ordinary pod with its own IP on the node. */
export function podOn(dp: Datapath, node: string, name: string, octet: number, labels: Record<string, string>): PodNetwork {
  const i = nodes.indexOf(node as (typeof nodes)[number]);
  return dp.attachPod({ ip: `127.244.${i}.${octet}`, hostIP: nodeIP(node), namespace: 'kube-system', name, uid: `pod-${++uid}`, nodeName: node, labels });
}

/** A local 127.0.0.1 port reaching the pod's port as the node would (like a port-forward). */
export async function forwardTo(t: Test, pod: PodNetwork, port: number): Promise<LocalForward> {
  const fwd = await localForward(() => pod.dial(port, { from: 'node' }) as Promise<Duplex>);
  t.teardown(() => fwd.close());
  return fwd;
}

const ids = new IdentityAllocator();

/** A demo-namespace pod as the flow model sees it (identity from its labels). */
export function demoEndpoint(name: string, app: string, node: string, ip: string): SimEndpoint {
  const labels = podEndpointLabels({ namespace: 'demo', labels: { app }, clusterName });
  return {
    ip,
    node,
    endpoint: { identity: ids.identityFor(labels), namespace: 'demo', labels, pod_name: name, workloads: [{ name: app, kind: 'Deployment' }] },
  };
}

/**
 * Makes `count` SYNs between two pods on `node` through the sim's flow model: one TO_ENDPOINT flow each, on that
 * node, with client ports counting up from `firstPort` (so a test can tell flows apart by port).
 */
export function synFlows(hub: SimHubble, node: string, count: number, firstPort = 40000): void {
  const i = nodes.indexOf(node as (typeof nodes)[number]);
  const client = demoEndpoint('client-7d4b9c8f6-x2v4k', 'client', node, `127.244.${i}.10`);
  const server = demoEndpoint('web-5c7f8d9b4-q8z2n', 'web', node, `127.244.${i}.11`);
  for (let n = 0; n < count; n++) {
    const conn = new ConnectionFlows({ client, server, protocol: 'TCP', clientPort: firstPort + n, serverPort: 80 }, hub.sink, { clusterName });
    conn.packet('client', { SYN: true });
  }
}

/** The client ports of the flows in order (what synFlows numbered them with). */
export function clientPorts(records: { flow?: { l4?: { TCP?: { source_port?: number } } } }[]): number[] {
  return records.flatMap((r) => (r.flow?.l4?.TCP?.source_port !== undefined ? [r.flow.l4.TCP.source_port] : []));
}

/** The iterator's next record, or a failure naming `what` when none arrives within `ms`. */
export async function nextWithin<T>(it: AsyncIterator<T>, ms: number, what: string): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([it.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What an image handler gets for one container of a pod attached to the datapath. */
export function containerContext(
  pod: PodNetwork,
  container: Record<string, any>,
  opts: { env?: Record<string, string>; root?: string; log?: string[]; signal?: AbortSignal; configMaps?: Record<string, Record<string, string>> } = {},
): ContainerContext {
  const { info } = pod;
  return {
    pod: {
      namespace: info.namespace,
      name: info.name,
      uid: info.uid,
      nodeName: info.nodeName,
      podIP: info.ip,
      labels: info.labels,
      pod: { spec: { containers: [container] } },
    },
    container,
    env: opts.env ?? {},
    net: pod,
    cluster: { configMap: (ns, name) => opts.configMaps?.[`${ns}/${name}`], secret: () => undefined },
    path: (p) => (opts.root ?? '') + p,
    log: (line) => opts.log?.push(line),
    signal: opts.signal ?? new AbortController().signal,
  };
}

export const kubeDnsIP = '127.96.0.10';
export const hubblePeerIP = '127.96.0.40';
export const hubbleRelayIP = '127.96.0.41';

/** Runs cluster DNS (the sim's CoreDNS image) in a kube-dns pod, so pods resolve Service names. */
export async function clusterDns(t: Test, dp: Datapath): Promise<void> {
  const pod = podOn(dp, 'sim-control-plane', 'coredns-6f6b679f8f-7xk2p', 3, { 'k8s-app': 'kube-dns' });
  const proc = await corednsImage(dp)(containerContext(pod, { name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3' }));
  t.teardown(() => proc.stop());
}

/** The Service table: kube-dns, plus hubble-peer (443 → the agents' 4244) and others as given. */
export function services(dp: Datapath, entries: { peerBackends?: string[]; extra?: ServiceEntry[] }): void {
  const dnsBackend = dp.endpoints().find((e) => e.labels['k8s-app'] === 'kube-dns');
  dp.setServices([
    {
      namespace: 'kube-system',
      name: 'kube-dns',
      clusterIP: kubeDnsIP,
      ports: [{ name: 'dns', protocol: 'UDP', port: 53, backends: dnsBackend ? [{ ip: dnsBackend.ip, port: 53 }] : [] }],
    },
    {
      namespace: 'kube-system',
      name: 'hubble-peer',
      clusterIP: hubblePeerIP,
      ports: [{ name: 'peer-service', protocol: 'TCP', port: 443, backends: (entries.peerBackends ?? []).map((ip) => ({ ip, port: 4244 })) }],
    },
    ...(entries.extra ?? []),
  ]);
}

/** Waits until `check` is true, failing with `what` after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
