// The service map Hubble UI draws: workloads as nodes, client → server edges with their flow counts, built
// from the flows it reads from Relay (replies fold onto their request's edge).
import { isPolicyVerdict, isReplyFlow } from '../../analysis/edges.ts';
import { endpointName } from '../../flows/identity.ts';
import type { Flow } from '../../flows/types.ts';

export interface MapEdge {
  source: string;
  destination: string;
  flows: number;
  forwarded: number;
  dropped: number;
  /** Server ports, `TCP/80`, most used first. */
  ports: string[];
  protocols: string[];
}

export interface MapNode {
  name: string;
  namespace: string | undefined;
}

export interface ServiceMapSnapshot {
  nodes: MapNode[];
  edges: MapEdge[];
  /** Flows read from Relay since the UI started. */
  flows: number;
  /** Namespaces seen in flows, for the namespace picker. */
  namespaces: string[];
  /** The namespace the snapshot is limited to, if any. */
  namespace?: string;
}

/** Edges beyond this many (the busiest kept) would not be readable on one page. */
export const maxEdgesShown = 150;

interface EdgeState {
  source: MapNode;
  destination: MapNode;
  flows: number;
  forwarded: number;
  dropped: number;
  ports: Map<string, number>;
  protocols: Set<string>;
}

const maxPortsPerEdge = 16;
/** Distinct edges kept; past this, flows of new edges are counted but not drawn (memory stays bounded). */
const maxEdges = 5000;

/** `TCP/80`: the server's side of the flow's L4 pair. */
function serverPortLabel(flow: Flow, reply: boolean): string | undefined {
  const l4 = flow.l4;
  const proto = l4?.TCP ? 'TCP' : l4?.UDP ? 'UDP' : l4?.SCTP ? 'SCTP' : undefined;
  const pair = l4?.TCP ?? l4?.UDP ?? l4?.SCTP;
  if (!proto || !pair) return l4?.ICMPv4 ? 'ICMPv4' : l4?.ICMPv6 ? 'ICMPv6' : undefined;
  const port = reply ? pair.source_port : pair.destination_port;
  return port === undefined ? proto : `${proto}/${port}`;
}

/** The highest layer the flow shows: HTTP/DNS/Kafka for L7 records, else its L4 protocol. */
function protocolOf(flow: Flow): string {
  const l7 = flow.l7;
  if (l7?.http) return 'HTTP';
  if (l7?.dns) return 'DNS';
  if (l7?.kafka) return 'Kafka';
  const l4 = flow.l4;
  return l4?.TCP ? 'TCP' : l4?.UDP ? 'UDP' : l4?.SCTP ? 'SCTP' : l4?.ICMPv4 ? 'ICMPv4' : l4?.ICMPv6 ? 'ICMPv6' : 'other';
}

export class ServiceMap {
  private readonly edges = new Map<string, EdgeState>();
  private count = 0;

  /** Counts a flow on its client → server edge (a reply counts on the edge of the request it answers). */
  add(flow: Flow): void {
    this.count++;
    const reply = isReplyFlow(flow);
    const src: MapNode = { name: endpointName(flow.source, flow.IP?.source, flow.source_names), namespace: flow.source?.namespace || undefined };
    const dst: MapNode = {
      name: endpointName(flow.destination, flow.IP?.destination, flow.destination_names),
      namespace: flow.destination?.namespace || undefined,
    };
    const [client, server] = reply ? [dst, src] : [src, dst];
    const key = `${client.name}\u0000${server.name}`;
    let edge = this.edges.get(key);
    if (!edge) {
      if (this.edges.size >= maxEdges) return;
      edge = { source: client, destination: server, flows: 0, forwarded: 0, dropped: 0, ports: new Map(), protocols: new Set() };
      this.edges.set(key, edge);
    }
    edge.flows++;
    // A policy verdict is the decision on a packet whose own flow carries the verdict counts.
    if (!isPolicyVerdict(flow)) {
      if (flow.verdict === 'FORWARDED') edge.forwarded++;
      else if (flow.verdict === 'DROPPED') edge.dropped++;
    }
    const port = serverPortLabel(flow, reply);
    if (port !== undefined && (edge.ports.has(port) || edge.ports.size < maxPortsPerEdge)) edge.ports.set(port, (edge.ports.get(port) ?? 0) + 1);
    edge.protocols.add(protocolOf(flow));
  }

  get flows(): number {
    return this.count;
  }

  /** Edges touching `namespace` (all when undefined), busiest first, and the workloads they join. */
  snapshot(namespace?: string): ServiceMapSnapshot {
    const all = [...this.edges.values()];
    const namespaces = [...new Set(all.flatMap((e) => [e.source.namespace, e.destination.namespace]).filter((n): n is string => !!n))].sort();
    const edges = all
      .filter((e) => !namespace || e.source.namespace === namespace || e.destination.namespace === namespace)
      .sort((a, b) => b.flows - a.flows || a.source.name.localeCompare(b.source.name) || a.destination.name.localeCompare(b.destination.name))
      .slice(0, maxEdgesShown);
    const nodes = new Map<string, MapNode>();
    for (const e of edges) for (const n of [e.source, e.destination]) nodes.set(n.name, n);
    return {
      nodes: [...nodes.values()].sort((a, b) => a.name.localeCompare(b.name)),
      edges: edges.map((e) => ({
        source: e.source.name,
        destination: e.destination.name,
        flows: e.flows,
        forwarded: e.forwarded,
        dropped: e.dropped,
        ports: [...e.ports].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([p]) => p),
        protocols: [...e.protocols].sort(),
      })),
      flows: this.count,
      namespaces,
      ...(namespace ? { namespace } : {}),
    };
  }
}
