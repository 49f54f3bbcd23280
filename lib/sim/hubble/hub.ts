// The sim's Hubble hub: where the datapath hands every flow, routed to the ring of the observing node's agent,
// and the node list the agents' Peer service announces to Relay.
import type { Flow } from '../../flows/types.ts';
import type { FlowRing } from '../../hubble/server/ring.ts';
import type { PeerChangeType } from '../../hubble/grpc/messages.ts';

/** Hubble's default server port (hubble-listen-address ":4244"); Relay dials it when a peer names no port. */
export const hubbleServerPort = 4244;

/** A node as the Peer service announces it. */
export interface HubblePeer {
  /** Hubble's node name: `cluster/node`, or the bare node name in the cluster named "default" (Cilium's Fullname). */
  name: string;
  /** The agent's address: its IP, with the port only when it is not 4244. */
  address: string;
}

export type PeerListener = (type: Exclude<PeerChangeType, 'UNKNOWN'>, peer: HubblePeer) => void;

export interface HubbleFlowStats {
  flows: {
    /** Flows recorded by an agent serving Hubble. */
    emitted: number;
    /** Flows recorded per Kubernetes node. */
    byNode: Record<string, number>;
    /** Flows the datapath reported on nodes whose agent does not run Hubble (never recorded, as in Cilium). */
    unobserved: number;
  };
}

interface NodeEntry {
  peer: HubblePeer;
  /** The ring of the agent currently serving Hubble on the node; undefined when it does not. */
  ring: FlowRing | undefined;
  /** Identifies the agent registration, so a stale agent's stop does not unregister its successor. */
  token: symbol;
}

/** Cilium's node Fullname: the cluster name is left out only for the cluster called "default". */
export function hubbleNodeName(clusterName: string, node: string): string {
  return clusterName === 'default' || clusterName === '' ? node : `${clusterName}/${node}`;
}

/** An agent's metrics endpoint: its pod address and the real 127.0.0.1 port a host process (Prometheus) scrapes. */
export interface MetricsEndpoint {
  node: string;
  podIP: string;
  port: number;
  /** 127.0.0.1:port outside the pod network. */
  address: string;
}

export class SimHubble {
  readonly clusterName: string;
  private readonly nodes = new Map<string, NodeEntry>();
  private readonly metrics = new Map<string, MetricsEndpoint>();
  private readonly listeners = new Set<PeerListener>();
  private emitted = 0;
  private unobserved = 0;
  private readonly perNode = new Map<string, number>();

  constructor(opts: { clusterName: string }) {
    this.clusterName = opts.clusterName;
  }

  nodeName(node: string): string {
    return hubbleNodeName(this.clusterName, node);
  }

  /**
   * Records one flow as observed on a Kubernetes node (a FlowSink for ConnectionFlows). Flows of a node whose
   * agent does not serve Hubble are counted as unobserved and dropped.
   */
  record(flow: Flow, node: string): void {
    const ring = this.nodes.get(node)?.ring;
    if (!ring) {
      this.unobserved++;
      return;
    }
    ring.write({ flow, node_name: flow.node_name ?? this.nodeName(node), time: flow.time });
    this.emitted++;
    this.perNode.set(node, (this.perNode.get(node) ?? 0) + 1);
  }

  /** The FlowSink to give the datapath: `hub.sink(flow, node)`. */
  readonly sink = (flow: Flow, node: string): void => this.record(flow, node);

  /**
   * An agent pod started on `node`: it is announced as a peer at `address` (its port left out when 4244), and
   * its ring (when it serves Hubble) receives the node's flows. Returns the function to call when it stops: the
   * node stays a peer (as a node stays in Cilium's node list while its agent restarts), its flows are no longer
   * recorded.
   */
  agentStarted(node: string, agent: { ip: string; port?: number; ring?: FlowRing }): () => void {
    const address = agent.port === undefined || agent.port === hubbleServerPort ? agent.ip : `${agent.ip}:${agent.port}`;
    const peer: HubblePeer = { name: this.nodeName(node), address };
    const token = Symbol(node);
    const known = this.nodes.get(node);
    this.nodes.set(node, { peer, ring: agent.ring, token });
    if (!known) this.emit('PEER_ADDED', peer);
    else if (known.peer.address !== address) this.emit('PEER_UPDATED', peer);
    return () => {
      const entry = this.nodes.get(node);
      if (entry?.token === token) entry.ring = undefined;
    };
  }

  /** The node's agent serves metrics at `endpoint`; returns the function to call when it stops. */
  metricsStarted(endpoint: MetricsEndpoint): () => void {
    this.metrics.set(endpoint.node, endpoint);
    return () => {
      if (this.metrics.get(endpoint.node) === endpoint) this.metrics.delete(endpoint.node);
    };
  }

  /** Every agent's metrics endpoint, by node name. */
  metricsEndpoints(): MetricsEndpoint[] {
    return [...this.metrics.values()].sort((a, b) => a.node.localeCompare(b.node));
  }

  /** The node left the cluster: it is no longer a peer. */
  removeNode(node: string): void {
    const entry = this.nodes.get(node);
    if (!entry) return;
    this.nodes.delete(node);
    this.emit('PEER_DELETED', entry.peer);
  }

  /** True when the node's agent is recording flows. */
  serving(node: string): boolean {
    return this.nodes.get(node)?.ring !== undefined;
  }

  peers(): HubblePeer[] {
    return [...this.nodes.values()].map((e) => e.peer).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Called on every peer change; returns the function that unsubscribes. */
  onPeerChange(listener: PeerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(type: Exclude<PeerChangeType, 'UNKNOWN'>, peer: HubblePeer): void {
    for (const listener of [...this.listeners]) listener(type, peer);
  }

  /** Counters for /debug/sim/stats. */
  stats(): HubbleFlowStats {
    return {
      flows: { emitted: this.emitted, byNode: Object.fromEntries([...this.perNode].sort(([a], [b]) => a.localeCompare(b))), unobserved: this.unobserved },
    };
  }
}
