// The service map Hubble UI draws: workloads as nodes, client → server edges with their flow counts, built
// from the flows it reads from Relay (replies fold onto their request's edge).
import { EdgeTable, flowProtocol } from '../../analysis/edges.ts';
import type { Flow } from '../../flows/types.ts';
import { parseTimestamp } from '../../hubble/grpc/timestamp.ts';

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

/** What the map keeps per edge beyond the shared counts: the server ports and protocols it saw. */
interface EdgeExtra {
  ports: Map<string, number>;
  protocols: Set<string>;
}

const maxPortsPerEdge = 16;

/** `TCP/80`: the server's side of the flow's L4 pair. */
function serverPortLabel(flow: Flow, reply: boolean): string | undefined {
  const l4 = flow.l4;
  const proto = l4?.TCP ? 'TCP' : l4?.UDP ? 'UDP' : l4?.SCTP ? 'SCTP' : undefined;
  const pair = l4?.TCP ?? l4?.UDP ?? l4?.SCTP;
  if (!proto || !pair) return l4?.ICMPv4 ? 'ICMPv4' : l4?.ICMPv6 ? 'ICMPv6' : undefined;
  const port = reply ? pair.source_port : pair.destination_port;
  return port === undefined ? proto : `${proto}/${port}`;
}

export class ServiceMap {
  private readonly table = new EdgeTable<EdgeExtra>(() => ({ ports: new Map(), protocols: new Set() }));
  private count = 0;

  add(flow: Flow): void {
    const t = flow.time ? parseTimestamp(flow.time) : undefined;
    const { edge, reply } = this.table.attribute(flow, t ? t.seconds * 1000 + t.nanos / 1e6 : undefined);
    const port = serverPortLabel(flow, reply);
    const { ports, protocols } = edge.extra;
    if (port !== undefined && (ports.has(port) || ports.size < maxPortsPerEdge)) ports.set(port, (ports.get(port) ?? 0) + 1);
    protocols.add(flowProtocol(flow));
    this.count++;
  }

  get flows(): number {
    return this.count;
  }

  /** Edges touching `namespace` (all when undefined), busiest first, and the workloads they join. */
  snapshot(namespace?: string): ServiceMapSnapshot {
    const all = [...this.table.edges.values()];
    const namespaces = [...new Set(all.flatMap((e) => [e.source.namespace, e.destination.namespace]).filter((n): n is string => !!n))].sort();
    const edges = all
      .filter((e) => !namespace || e.source.namespace === namespace || e.destination.namespace === namespace)
      .sort((a, b) => b.flows - a.flows || a.key.localeCompare(b.key))
      .slice(0, maxEdgesShown)
      .map((e) => ({
        source: e.source.name,
        destination: e.destination.name,
        flows: e.flows,
        forwarded: e.forwarded,
        dropped: e.dropped,
        ports: [...e.extra.ports].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([p]) => p),
        protocols: [...e.extra.protocols].sort(),
      }));
    const nodes = new Map<string, MapNode>();
    for (const e of all) {
      for (const ref of [e.source, e.destination]) nodes.set(ref.name, { name: ref.name, namespace: ref.namespace });
    }
    const shown = new Set(edges.flatMap((e) => [e.source, e.destination]));
    return {
      nodes: [...shown].sort().map((name) => nodes.get(name)!),
      edges,
      flows: this.count,
      namespaces,
      ...(namespace ? { namespace } : {}),
    };
  }
}
