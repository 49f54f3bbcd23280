// Edges client → server: which edge a flow belongs to (replies fold back onto their request's edge) and its L3/L4 counts.
import { endpointName, kubernetesLabels } from '../flows/identity.ts';
import type { Endpoint, Flow } from '../flows/types.ts';
import { CappedCounter } from './counter.ts';

/**
 * A flow travels in the reply direction when Hubble says so (`is_reply`), when it is an L7 RESPONSE, or, in
 * exports older than `is_reply`, when the deprecated `reply` is set. Unknown (drops) means request direction.
 */
export function isReplyFlow(flow: Flow): boolean {
  if (flow.is_reply !== undefined) return flow.is_reply;
  if (flow.l7?.type === 'RESPONSE') return true;
  return flow.reply === true;
}

export interface EndpointRef {
  name: string;
  namespace: string | undefined;
  /** Kubernetes labels of the first endpoint seen under this name (for label selectors). */
  labels: Record<string, string>;
}

/** The highest-layer protocol of a flow: HTTP/DNS/Kafka for L7, else its L4 protocol. */
export function flowProtocol(flow: Flow): string {
  const l7 = flow.l7;
  if (l7) {
    if (l7.http) return 'HTTP';
    if (l7.dns) return 'DNS';
    if (l7.kafka) return 'Kafka';
  }
  const l4 = flow.l4;
  if (l4) {
    if (l4.TCP) return 'TCP';
    if (l4.UDP) return 'UDP';
    if (l4.ICMPv4) return 'ICMPv4';
    if (l4.ICMPv6) return 'ICMPv6';
    if (l4.SCTP) return 'SCTP';
  }
  return 'unknown';
}

/** The server's port and L4 protocol of a flow, oriented by its direction. */
export function serverPort(flow: Flow, reply: boolean): { protocol: string; port: number | undefined } {
  const l4 = flow.l4;
  const pair = l4?.TCP ?? l4?.UDP ?? l4?.SCTP;
  const protocol = l4?.TCP ? 'TCP' : l4?.UDP ? 'UDP' : l4?.SCTP ? 'SCTP' : l4?.ICMPv4 ? 'ICMPv4' : l4?.ICMPv6 ? 'ICMPv6' : 'unknown';
  if (!pair) return { protocol, port: undefined };
  return { protocol, port: reply ? pair.source_port : pair.destination_port };
}

/** The L3/L4 counts of one edge; concern modules hang their own state off `extra`. */
export interface Edge<Extra> {
  key: string;
  source: EndpointRef;
  destination: EndpointRef;
  /** Every flow record attributed to the edge, both directions, every observation point. */
  flows: number;
  forwarded: number;
  dropped: number;
  /** Flows in the reply direction (server → client). */
  replies: number;
  /**
   * Forwarded flows that prove the server was reached: replies, deliveries to the server endpoint
   * (trace point TO_ENDPOINT), and requests passed on by the server's ingress proxy.
   */
  delivered: number;
  verdicts: Record<string, number>;
  /** Flows by server port, `TCP/80`. */
  ports: CappedCounter;
  protocols: CappedCounter;
  firstMs: number;
  lastMs: number;
  extra: Extra;
}

const MAX_PORTS_PER_EDGE = 64;
const MAX_NAME_CACHE = 50_000;

export interface Attribution<Extra> {
  edge: Edge<Extra>;
  reply: boolean;
}

/** All edges seen so far; memory grows with distinct edges only. */
export class EdgeTable<Extra> {
  readonly edges = new Map<string, Edge<Extra>>();
  private readonly endpoints = new Map<string, EndpointRef>();
  /** Pod names repeat in nearly every flow: naming one is done once. */
  private readonly podNames = new Map<string, string>();

  constructor(private readonly createExtra: () => Extra) {}

  private name(ep: Endpoint | undefined, ip: string | undefined, dnsNames: string[] | undefined): string {
    if (ep?.namespace && ep.pod_name) {
      const cacheKey = `${ep.namespace}/${ep.pod_name}`;
      let name = this.podNames.get(cacheKey);
      if (name === undefined) {
        name = endpointName(ep, ip, dnsNames);
        if (this.podNames.size >= MAX_NAME_CACHE) this.podNames.clear();
        this.podNames.set(cacheKey, name);
      }
      return name;
    }
    return endpointName(ep, ip, dnsNames);
  }

  private endpoint(name: string, ep: Endpoint | undefined): EndpointRef {
    let ref = this.endpoints.get(name);
    if (!ref) {
      ref = { name, namespace: ep?.namespace || undefined, labels: kubernetesLabels(ep?.labels) };
      this.endpoints.set(name, ref);
    }
    return ref;
  }

  /** Finds (or creates) the edge of a flow and counts the flow's L3/L4 facts on it. */
  attribute(flow: Flow, timeMs: number | undefined): Attribution<Extra> {
    const reply = isReplyFlow(flow);
    const srcName = this.name(flow.source, flow.IP?.source, flow.source_names);
    const dstName = this.name(flow.destination, flow.IP?.destination, flow.destination_names);
    const clientName = reply ? dstName : srcName;
    const serverName = reply ? srcName : dstName;
    const key = `${clientName}\u0000${serverName}`;
    let edge = this.edges.get(key);
    if (!edge) {
      edge = {
        key,
        source: this.endpoint(clientName, reply ? flow.destination : flow.source),
        destination: this.endpoint(serverName, reply ? flow.source : flow.destination),
        flows: 0,
        forwarded: 0,
        dropped: 0,
        replies: 0,
        delivered: 0,
        verdicts: {},
        ports: new CappedCounter(MAX_PORTS_PER_EDGE),
        protocols: new CappedCounter(16),
        firstMs: Infinity,
        lastMs: -Infinity,
        extra: this.createExtra(),
      };
      this.edges.set(key, edge);
    }
    edge.flows++;
    const verdict = flow.verdict ?? 'VERDICT_UNKNOWN';
    edge.verdicts[verdict] = (edge.verdicts[verdict] ?? 0) + 1;
    if (verdict === 'FORWARDED') {
      edge.forwarded++;
      if (reply || flow.trace_observation_point === 'TO_ENDPOINT' || (flow.l7 !== undefined && flow.traffic_direction === 'INGRESS')) {
        edge.delivered++;
      }
    } else if (verdict === 'DROPPED') {
      edge.dropped++;
    }
    if (reply) edge.replies++;
    const { protocol, port } = serverPort(flow, reply);
    if (protocol !== 'unknown') edge.ports.add(port === undefined ? protocol : `${protocol}/${port}`);
    edge.protocols.add(flowProtocol(flow));
    if (timeMs !== undefined) {
      if (timeMs < edge.firstMs) edge.firstMs = timeMs;
      if (timeMs > edge.lastMs) edge.lastMs = timeMs;
    }
    return { edge, reply };
  }
}
