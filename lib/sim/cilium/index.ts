// Cilium in the embedded cluster: Service load balancing, policy enforcement and flow emission on the pod
// runtime's datapath, the Hubble hub the agent images record into, and their counters in /debug/sim/stats.
//
// Design
// ------
// The datapath (lib/sim/net) calls hooks for every SYN, connection milestone and datagram between pods. Here they
// become what Cilium's datapath does:
//   services.ts    the Service table follows Services and Endpoints in the store (ClusterIP → ready backends);
//                  a Service without backends is rejected or dropped per node (service-no-backend-response).
//   endpoints.ts   each address as an endpoint: a pod's identity (one per label set), its Hubble Endpoint and its
//                  policy description, built once per pod; nodes as host/remote-node, anything else as world.
//   policy.ts      NetworkPolicies and Cilium policies compiled after each change (lib/policy), decisions cached.
//   enforcer.ts    the verdict per SYN (a drop leaves the client retransmitting; one DROPPED flow per SYN) and per
//                  datagram (replies pass as conntrack lets them), and the trace flows of allowed connections
//                  (trace.ts: SYN, SYN-ACK, ACK, first data each way, FIN or RST).
//   verdicts.ts    policy-verdict events: each side that enforces policy reports its decision on a connection's
//                  first packet (and on every packet it drops), with the match type and the policies behind it.
//   http-proxy.ts  connections an http rule selects go to the L7 proxy: requests checked one by one, 403 for the
//                  refused, REQUEST/RESPONSE flows where the rules are (egress: client's node, ingress: server's).
//   dns-proxy.ts   DNS an egress dns rule selects: query/answer flows, REFUSED for names the rules do not allow.
// Flows go to the SimHubble hub, which keeps them only on nodes whose agent serves Hubble (enable-hubble at start).
import { R } from '../apiserver/resources.ts';
import type { Stats } from '../apiserver/stats.ts';
import type { Store } from '../apiserver/store.ts';
import { SimHubble } from '../hubble/hub.ts';
import { registerHubbleImages } from '../hubble/images.ts';
import type { Datapath } from '../net/datapath.ts';
import type { ImageHandler } from '../runtime/images.ts';
import type { PodRuntime } from '../runtime/types.ts';
import { EndpointDirectory } from './endpoints.ts';
import { Enforcer, type ConnectionCounts } from './enforcer.ts';
import { PolicyState } from './policy.ts';
import { NodeLoadBalancers, syncServices } from './services.ts';

export type { ConnectionCounts } from './enforcer.ts';

export interface CiliumOptions {
  store: Store;
  /** The pod runtime; with the sim's own runtime (a datapath, image handlers) everything is wired. */
  runtime: PodRuntime | (PodRuntime & { datapath: Datapath; registerImageHandler(pattern: string, handler: ImageHandler): void });
  /** Where `flows` and `connections` join /debug/sim/stats. */
  statsRegistry?: Stats;
}

export interface SimCilium {
  /** Where flows are recorded; the agent images serve them. */
  readonly hub: SimHubble;
  connections(): ConnectionCounts;
  stop(): void;
}

/** Installs Cilium on the sim: call before the controllers start pods, so agent pods run the Hubble images. */
export function startCilium(opts: CiliumOptions): SimCilium {
  const { store } = opts;
  const clusterName: string = store.get(R.configmaps, 'kube-system', 'cilium-config')?.data?.['cluster-name'] || 'default';
  const hub = new SimHubble({ clusterName });
  const counts: ConnectionCounts = { allowed: 0, denied: 0 };
  let enforcer: Enforcer | undefined;
  const connections = (): ConnectionCounts => ({ ...(enforcer?.counts ?? counts) });
  opts.statsRegistry?.addSection('flows', () => hub.stats().flows);
  opts.statsRegistry?.addSection('connections', connections);
  opts.statsRegistry?.addSection('hubbleMetrics', () => hub.metricsEndpoints());

  const runtime = opts.runtime;
  if (!('datapath' in runtime)) return { hub, connections, stop() {} };
  const loadBalancers = new NodeLoadBalancers();
  registerHubbleImages(runtime, hub, {
    starting: (node, config) => loadBalancers.agentStarting(node, config),
    endpoints: (node) => runtime.datapath.endpoints().filter((e) => e.nodeName === node).length,
  });
  const endpoints = new EndpointDirectory(store, clusterName);
  const policy = new PolicyState(store, endpoints, clusterName);
  enforcer = new Enforcer(endpoints, policy, hub.sink, clusterName, loadBalancers);
  const stopServices = syncServices(store, runtime.datapath);
  runtime.datapath.setHooks(enforcer.hooks());
  return {
    hub,
    connections,
    stop() {
      runtime.datapath.setHooks({});
      stopServices();
      policy.stop();
      endpoints.stop();
    },
  };
}
