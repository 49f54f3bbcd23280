// Edges client → server: which edge a flow belongs to (replies fold back onto their request's edge) and its L3/L4 counts.
import { endpointName, endpointNamespace, kubernetesLabels } from '../flows/identity.ts';
import type { Endpoint, Flow } from '../flows/types.ts';

/**
 * A flow travels in the reply direction when Hubble says so (`is_reply`), when it is an L7 RESPONSE, or, in
 * exports older than `is_reply`, when the deprecated `reply` is set. Unknown (drops) means request direction.
 */
export function isReplyFlow(flow: Flow): boolean {
  if (flow.is_reply !== undefined) return flow.is_reply;
  if (flow.l7?.type === 'RESPONSE') return true;
  return flow.reply === true;
}

const POLICY_VERDICT_EVENT = 5;

/**
 * A policy-verdict notification (event type 5): a side's policy decision on a connection's first packet, reported
 * next to the packet's own trace or drop flow. It is a record of the decision, not another packet: counting it as
 * a forwarded or dropped flow, a TCP handshake or a drop would count each connection twice.
 */
export function isPolicyVerdict(flow: Flow): boolean {
  return flow.event_type?.type === POLICY_VERDICT_EVENT;
}

const EVENT_TYPE_NAMES: Record<number, string> = { 1: 'drop', 4: 'trace', 5: 'policy-verdict', 7: 'sock', 129: 'l7' };

/**
 * The kind of event a flow record came from, as `hubble observe --type` names them: trace, drop, policy-verdict,
 * l7, sock; `other` for the rest (debug, capture, …) and `unknown` when the export carries no event type.
 */
export function eventTypeName(flow: Flow): string {
  const type = flow.event_type?.type;
  if (type === undefined) {
    if (flow.Type === 'L7') return 'l7';
    if (flow.Type === 'SOCK') return 'sock';
    return 'unknown';
  }
  return EVENT_TYPE_NAMES[type] ?? 'other';
}

export interface EndpointRef {
  name: string;
  /** Set when the endpoint is known only by this IP (nothing else on its first line named it). */
  ip: string | undefined;
  /** The workload its first line named (workloads[0]), if any. */
  workload: string | undefined;
  namespace: string | undefined;
  /** Kubernetes labels of the first endpoint seen under this name (for label selectors). */
  labels: Record<string, string>;
}

/** Protocol names by index, for counting in a small array per edge. */
export const PROTOCOLS = ['HTTP', 'DNS', 'Kafka', 'TCP', 'UDP', 'ICMPv4', 'ICMPv6', 'SCTP', 'unknown'] as const;

/** The highest-layer protocol of a flow (an index into PROTOCOLS): HTTP/DNS/Kafka for L7, else its L4 protocol. */
export function flowProtocol(flow: Flow): number {
  const l7 = flow.l7;
  if (l7) {
    if (l7.http) return 0;
    if (l7.dns) return 1;
    if (l7.kafka) return 2;
  }
  const l4 = flow.l4;
  if (l4) {
    if (l4.TCP) return 3;
    if (l4.UDP) return 4;
    if (l4.ICMPv4) return 5;
    if (l4.ICMPv6) return 6;
    if (l4.SCTP) return 7;
  }
  return 8;
}

const L4_PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ICMPv4', 'ICMPv6'] as const;
/** Port keys pack the protocol and the port into one number: cheap to count per flow. */
const NO_PORT = 65536;
const PORT_SPAN = NO_PORT + 1;

/** The server's port and L4 protocol of a flow, oriented by its direction, as one number (see portOfKey). */
export function serverPortKey(flow: Flow, reply: boolean): number | undefined {
  const l4 = flow.l4;
  if (!l4) return undefined;
  let proto: number;
  let pair: { source_port?: number; destination_port?: number } | undefined;
  if (l4.TCP) ((proto = 0), (pair = l4.TCP));
  else if (l4.UDP) ((proto = 1), (pair = l4.UDP));
  else if (l4.SCTP) ((proto = 2), (pair = l4.SCTP));
  else if (l4.ICMPv4) proto = 3;
  else if (l4.ICMPv6) proto = 4;
  else return undefined;
  const port = pair ? (reply ? pair.source_port : pair.destination_port) : undefined;
  return proto * PORT_SPAN + (port ?? NO_PORT);
}

export function portOfKey(key: number): { protocol: string; port: number | null } {
  const port = key % PORT_SPAN;
  return { protocol: L4_PROTOCOLS[Math.floor(key / PORT_SPAN)]!, port: port === NO_PORT ? null : port };
}

/** The L3/L4 counts of one edge; concern modules hang their own state off `extra`. */
export interface Edge<Extra> {
  key: string;
  source: EndpointRef;
  destination: EndpointRef;
  /** Every flow record attributed to the edge, both directions, every observation point, policy verdicts included. */
  flows: number;
  forwarded: number;
  dropped: number;
  /** Flows in the reply direction (server → client). */
  replies: number;
  /** Policy-verdict records (event type 5): decisions on packets whose own flows are counted apart. */
  policyVerdicts: number;
  /**
   * Forwarded flows that prove the server was reached: replies, deliveries to the server endpoint
   * (trace point TO_ENDPOINT), and requests passed on by the server's ingress proxy.
   */
  delivered: number;
  /** Verdicts other than FORWARDED and DROPPED (AUDIT, ERROR, …); forwarded, dropped and these leave policy verdicts out. */
  otherVerdicts: Map<string, number>;
  /** Flows by server port key (serverPortKey); at most MAX_PORTS_PER_EDGE, the rest in otherPorts. */
  ports: Map<number, number>;
  otherPorts: number;
  /** Flows by protocol, indexed as PROTOCOLS. */
  protocols: number[];
  firstMs: number;
  lastMs: number;
  extra: Extra;
}

const MAX_PORTS_PER_EDGE = 64;
const MAX_NAME_CACHE = 50_000;
const MAX_LEARNED_IPS = 100_000;

/** All edges seen so far; memory grows with distinct edges only. */
export class EdgeTable<Extra> {
  readonly edges = new Map<string, Edge<Extra>>();
  /** client → server → edge: looked up per flow without building a key string. */
  private readonly byClient = new Map<string, Map<string, Edge<Extra>>>();
  private readonly endpoints = new Map<string, EndpointRef>();
  /** namespace → pod → name: pod names repeat in nearly every flow, so each is named once. */
  private readonly podNames = new Map<string, Map<string, string>>();
  private cachedPods = 0;
  /**
   * Pod IPs to the name of the pod's workload, from lines that named it: a line of the same pod that carries only
   * its IP is then named the same, and edges named by the IP before the name was learned are merged at the end.
   */
  private readonly learned = new Map<string, EndpointRef>();

  constructor(private readonly createExtra: (source: EndpointRef, destination: EndpointRef) => Extra) {}

  private name(ep: Endpoint | undefined, ip: string | undefined, dnsNames: string[] | undefined): string {
    const ns = ep?.namespace;
    const pod = ep?.pod_name;
    if (ns && pod) {
      let pods = this.podNames.get(ns);
      if (!pods) {
        pods = new Map();
        this.podNames.set(ns, pods);
      }
      let name = pods.get(pod);
      if (name === undefined) {
        name = endpointName(ep, ip, dnsNames);
        if (++this.cachedPods > MAX_NAME_CACHE) {
          this.podNames.clear();
          this.cachedPods = 0;
        }
        pods.set(pod, name);
      }
      return name;
    }
    const name = endpointName(ep, ip, dnsNames);
    if (ip !== undefined && name === ip) {
      const known = this.learned.get(ip);
      if (known) return known.name;
    }
    return name;
  }

  /** Remembers which workload a pod IP belongs to, from a line that says so. */
  private learn(ep: Endpoint | undefined, ip: string | undefined, name: string): void {
    if (ip === undefined || name === ip || this.learned.has(ip) || this.learned.size >= MAX_LEARNED_IPS) return;
    const ns = endpointNamespace(ep);
    if (!ns || !name.startsWith(`${ns}/`) || name.endsWith(`/${ip}`)) return;
    this.learned.set(ip, this.endpoint(name, ep));
  }

  /**
   * Renames the endpoints first known only by an IP that a later line named, and merges their edges into the
   * named ones: every flow of one pod ends under one name, whichever fields each line carried.
   */
  consolidate(mergeExtra: (into: Extra, from: Extra) => void): void {
    if (this.learned.size === 0) return;
    const rename = (ref: EndpointRef): EndpointRef => (ref.name === ref.ip && ref.ip !== undefined ? (this.learned.get(ref.ip) ?? ref) : ref);
    let changed = false;
    for (const edge of this.edges.values()) if (rename(edge.source) !== edge.source || rename(edge.destination) !== edge.destination) changed = true;
    if (!changed) return;
    const merged = new Map<string, Edge<Extra>>();
    for (const edge of this.edges.values()) {
      const source = rename(edge.source);
      const destination = rename(edge.destination);
      const key = `${source.name}\u0000${destination.name}`;
      const into = merged.get(key);
      if (!into) {
        merged.set(key, { ...edge, key, source, destination });
        continue;
      }
      mergeEdge(into, edge);
      mergeExtra(into.extra, edge.extra);
    }
    this.edges.clear();
    for (const [key, edge] of merged) this.edges.set(key, edge);
  }

  private endpoint(name: string, ep: Endpoint | undefined, ip?: string): EndpointRef {
    let ref = this.endpoints.get(name);
    if (!ref) {
      ref = {
        name,
        namespace: endpointNamespace(ep),
        labels: kubernetesLabels(ep?.labels),
        ip: ip !== undefined && ip === name ? ip : undefined,
        workload: ep?.workloads?.[0]?.name || undefined,
      };
      this.endpoints.set(name, ref);
    }
    return ref;
  }

  /** Whether the flow last passed to attribute() travels in the reply direction. */
  lastReply = false;

  /** Finds (or creates) the edge of a flow and counts the flow's L3/L4 facts on it (see lastReply). */
  attribute(flow: Flow, timeMs: number | undefined): Edge<Extra> {
    const reply = isReplyFlow(flow);
    this.lastReply = reply;
    const srcName = this.name(flow.source, flow.IP?.source, flow.source_names);
    const dstName = this.name(flow.destination, flow.IP?.destination, flow.destination_names);
    this.learn(flow.source, flow.IP?.source, srcName);
    this.learn(flow.destination, flow.IP?.destination, dstName);
    const clientName = reply ? dstName : srcName;
    const serverName = reply ? srcName : dstName;
    let servers = this.byClient.get(clientName);
    if (!servers) {
      servers = new Map();
      this.byClient.set(clientName, servers);
    }
    let edge = servers.get(serverName);
    if (!edge) {
      const key = `${clientName}\u0000${serverName}`;
      const source = this.endpoint(clientName, reply ? flow.destination : flow.source, reply ? flow.IP?.destination : flow.IP?.source);
      const destination = this.endpoint(serverName, reply ? flow.source : flow.destination, reply ? flow.IP?.source : flow.IP?.destination);
      edge = {
        key,
        source,
        destination,
        flows: 0,
        forwarded: 0,
        dropped: 0,
        replies: 0,
        policyVerdicts: 0,
        delivered: 0,
        otherVerdicts: new Map(),
        ports: new Map(),
        otherPorts: 0,
        protocols: PROTOCOLS.map(() => 0),
        firstMs: Infinity,
        lastMs: -Infinity,
        extra: this.createExtra(source, destination),
      };
      this.edges.set(key, edge);
      servers.set(serverName, edge);
    }
    edge.flows++;
    // A policy verdict is the decision on a packet whose own flow carries the verdict counts.
    if (isPolicyVerdict(flow)) edge.policyVerdicts++;
    else {
      const verdict = flow.verdict ?? 'VERDICT_UNKNOWN';
      if (verdict === 'FORWARDED') {
        edge.forwarded++;
        if (reply || flow.trace_observation_point === 'TO_ENDPOINT' || (flow.l7 !== undefined && flow.traffic_direction === 'INGRESS')) {
          edge.delivered++;
        }
      } else if (verdict === 'DROPPED') {
        edge.dropped++;
      } else {
        edge.otherVerdicts.set(verdict, (edge.otherVerdicts.get(verdict) ?? 0) + 1);
      }
    }
    if (reply) edge.replies++;
    const portKey = serverPortKey(flow, reply);
    if (portKey !== undefined) {
      const n = edge.ports.get(portKey);
      if (n !== undefined) edge.ports.set(portKey, n + 1);
      else if (edge.ports.size < MAX_PORTS_PER_EDGE) edge.ports.set(portKey, 1);
      else edge.otherPorts++;
    }
    edge.protocols[flowProtocol(flow)]!++;
    if (timeMs !== undefined) {
      if (timeMs < edge.firstMs) edge.firstMs = timeMs;
      if (timeMs > edge.lastMs) edge.lastMs = timeMs;
    }
    return edge;
  }
}

/** Adds another edge's L3/L4 counts (the same pair of endpoints, one of them first known by its IP). */
function mergeEdge<Extra>(into: Edge<Extra>, from: Edge<Extra>): void {
  into.flows += from.flows;
  into.forwarded += from.forwarded;
  into.dropped += from.dropped;
  into.replies += from.replies;
  into.policyVerdicts += from.policyVerdicts;
  into.delivered += from.delivered;
  for (const [verdict, n] of from.otherVerdicts) into.otherVerdicts.set(verdict, (into.otherVerdicts.get(verdict) ?? 0) + n);
  for (const [port, n] of from.ports) {
    const have = into.ports.get(port);
    if (have !== undefined) into.ports.set(port, have + n);
    else if (into.ports.size < MAX_PORTS_PER_EDGE) into.ports.set(port, n);
    else into.otherPorts += n;
  }
  into.otherPorts += from.otherPorts;
  from.protocols.forEach((n, i) => (into.protocols[i]! += n));
  into.firstMs = Math.min(into.firstMs, from.firstMs);
  into.lastMs = Math.max(into.lastMs, from.lastMs);
}
