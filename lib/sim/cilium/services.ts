// Service load balancing as the Cilium agent programs it: the datapath's Service table follows the API server's
// Services and Endpoints (ready addresses only), so ClusterIPs, cluster DNS among them, reach their pods; and what
// each node's load balancer does with traffic for a Service that has no ready backend.
import { R } from '../apiserver/resources.ts';
import { AgentConfigError } from '../hubble/agent-config.ts';
import type { Store } from '../apiserver/store.ts';
import type { Datapath } from '../net/datapath.ts';
import { servicesFromObjects } from '../net/services.ts';

/** Keeps the Service table in step with the store until the returned function is called. */
export function syncServices(store: Store, datapath: Datapath): () => void {
  let scheduled = false;
  let stopped = false;
  const apply = () => {
    scheduled = false;
    if (stopped) return;
    datapath.setServices(servicesFromObjects(store.list(R.services), store.list(R.endpoints)));
  };
  apply();
  const unsubscribe = store.subscribe((ev) => {
    if (ev.res !== R.services && ev.res !== R.endpoints) return;
    // A burst of changes (a Deployment's pods becoming ready) rebuilds the table once.
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(apply);
  });
  return () => {
    stopped = true;
    unsubscribe();
  };
}

/**
 * cilium-config's service-no-backend-response: `reject` (Cilium's default) answers a packet for a Service without
 * backends with ICMP port unreachable, so a TCP client fails at once with ECONNREFUSED and nothing is dropped;
 * `drop` drops it with SERVICE_BACKEND_NOT_FOUND, and the client retransmits until it times out.
 */
export type NoBackendResponse = 'reject' | 'drop';

/** The setting from an agent's configuration; a value Cilium does not know stops the agent, as it does Cilium. */
export function noBackendResponse(data: Record<string, string> | undefined): NoBackendResponse {
  const value = (data?.['service-no-backend-response'] ?? '').trim();
  if (value === '' || value === 'reject') return 'reject';
  if (value === 'drop') return 'drop';
  throw new AgentConfigError(`Invalid value for --service-no-backend-response: ${value} (must be 'reject' or 'drop')`);
}

/** Each node's load balancer as its agent programmed it when it started (until then, Cilium's default). */
export class NodeLoadBalancers {
  private readonly noBackend = new Map<string, NoBackendResponse>();

  /** An agent starts on `node` with this cilium-config; throws AgentConfigError when the agent would refuse it. */
  agentStarting(node: string, data: Record<string, string>): void {
    this.noBackend.set(node, noBackendResponse(data));
  }

  noBackendResponse(node: string | undefined): NoBackendResponse {
    return (node !== undefined && this.noBackend.get(node)) || 'reject';
  }
}
