// Builds the flows real Hubble reports for a connection's packets, policy verdicts, drops and proxied L7 requests,
// on the node that would observe each one (the client's for egress, the server's for ingress).
import { randomUUID } from 'node:crypto';
import type { Endpoint, Flow, Policy, Service, TCPFlags, TrafficDirection } from '../../flows/types.ts';
import { nowTimestamp } from './clock.ts';
import { hubbleNodeName } from './hub.ts';

export interface SimEndpoint {
  ip: string;
  /** The Hubble Endpoint (identity, namespace, labels, pod_name, workloads), shared by every flow of the endpoint. */
  endpoint: Endpoint;
  /** Kubernetes node the endpoint runs on; undefined outside the cluster (world). */
  node?: string;
  /** DNS names Cilium's FQDN cache knows for the IP (world destinations). */
  names?: string[];
}

export interface SimConnection {
  client: SimEndpoint;
  server: SimEndpoint;
  protocol: 'TCP' | 'UDP';
  clientPort: number;
  serverPort: number;
  /** The Service whose ClusterIP the client dialled. */
  service?: Service;
}

/** Receives each flow with the Kubernetes node that observed it. */
export type FlowSink = (flow: Flow, node: string) => void;

/** Monitor trace sub-types and their observation points (cilium pkg/monitor/api). */
const trace = {
  toEndpoint: { sub: 0, point: 'TO_ENDPOINT' },
  toStack: { sub: 3, point: 'TO_STACK' },
  toOverlay: { sub: 4, point: 'TO_OVERLAY' },
  fromNetwork: { sub: 10, point: 'FROM_NETWORK' },
} as const;

/** Drop reasons (flow.DropReason) the sim's datapath reports. */
const dropCodes = { POLICY_DENIED: 133, SERVICE_BACKEND_NOT_FOUND: 158, POLICY_DENY: 181 } as const;
export type DropReason = keyof typeof dropCodes;
export type PolicyDropReason = 'POLICY_DENIED' | 'POLICY_DENY';

/** Monitor message types (pkg/monitor/api): drop, trace, policy verdict, L7 access log. */
const eventTypes = { drop: 1, trace: 4, policyVerdict: 5, l7: 129 } as const;

/**
 * What one side's policy decided for a new connection, as Cilium's policy-verdict notification reports it: FORWARDED,
 * REDIRECTED (to a proxy) or DROPPED with the drop reason; the match type (flow.policy_match_type) and, from Hubble's
 * policy correlation, the policies that allowed it (or the deny policy that dropped it).
 */
export interface PolicyVerdict {
  side: 'egress' | 'ingress';
  verdict: 'FORWARDED' | 'REDIRECTED' | 'DROPPED';
  matchType: number;
  dropReason?: PolicyDropReason;
  policies?: Policy[];
}

/** The policy verdicts of a connection's first packet, each reported on its side's node before the packet is. */
export interface PacketVerdicts {
  egress?: PolicyVerdict;
  ingress?: PolicyVerdict;
}

const flagOrder: (keyof TCPFlags)[] = ['SYN', 'ACK', 'PSH', 'FIN', 'RST', 'URG', 'ECE', 'CWR', 'NS'];

/** Hubble's trace summary: `TCP Flags: SYN, ACK` (flags in this fixed order), or `UDP`. */
export function l4Summary(protocol: 'TCP' | 'UDP', flags?: TCPFlags): string {
  if (protocol === 'UDP') return 'UDP';
  return `TCP Flags: ${flagOrder.filter((f) => flags?.[f]).join(', ')}`;
}

export class ConnectionFlows {
  private readonly clusterName: string;

  constructor(
    readonly conn: SimConnection,
    private readonly sink: FlowSink,
    opts: { clusterName: string },
  ) {
    this.clusterName = opts.clusterName;
  }

  private nodeName(node: string): string {
    return hubbleNodeName(this.clusterName, node);
  }

  private base(from: 'client' | 'server', flags: TCPFlags | undefined, node: string): Flow {
    const { conn } = this;
    const src = from === 'client' ? conn.client : conn.server;
    const dst = from === 'client' ? conn.server : conn.client;
    const srcPort = from === 'client' ? conn.clientPort : conn.serverPort;
    const dstPort = from === 'client' ? conn.serverPort : conn.clientPort;
    const ports = { source_port: srcPort, destination_port: dstPort };
    const flow: Flow = {
      time: nowTimestamp(),
      uuid: randomUUID(),
      IP: { source: src.ip, destination: dst.ip, ipVersion: 'IPv4' },
      l4: conn.protocol === 'TCP' ? { TCP: flags ? { ...ports, flags } : ports } : { UDP: ports },
      source: src.endpoint,
      destination: dst.endpoint,
      node_name: this.nodeName(node),
    };
    if (src.names) flow.source_names = src.names;
    if (dst.names) flow.destination_names = dst.names;
    return flow;
  }

  private withService(flow: Flow, from: 'client' | 'server'): Flow {
    const svc = this.conn.service;
    if (svc) {
      if (from === 'client') flow.destination_service = svc;
      else flow.source_service = svc;
    }
    return flow;
  }

  /**
   * One packet of the connection. Crossing nodes it is seen twice (leaving the sender's node to the overlay,
   * arriving at the receiver's endpoint); on one node once. Replies carry is_reply and the connection's direction
   * as seen from the observing endpoint. A connection's first packet carries the policy verdicts of the client's egress
   * and the server's ingress, which the nodes report before they trace the packet.
   */
  packet(from: 'client' | 'server', flags?: TCPFlags, verdicts?: PacketVerdicts): void {
    const { client, server } = this.conn;
    const reply = from === 'server';
    const summary = l4Summary(this.conn.protocol, flags);
    const sender = reply ? server : client;
    const receiver = reply ? client : server;
    // Direction of the connection as the observing endpoint sees it: the client's side is egress, the server's ingress.
    const senderDirection: TrafficDirection = reply ? 'INGRESS' : 'EGRESS';
    const receiverDirection: TrafficDirection = reply ? 'EGRESS' : 'INGRESS';
    const emit = (node: string, point: { sub: number; point: string }, direction: TrafficDirection) => {
      const flow = this.withService(this.base(from, flags, node), from);
      flow.verdict = 'FORWARDED';
      flow.Type = 'L3_L4';
      flow.event_type = { type: eventTypes.trace, sub_type: point.sub };
      flow.traffic_direction = direction;
      flow.trace_observation_point = point.point;
      flow.is_reply = reply;
      flow.Summary = summary;
      this.sink(flow, node);
    };
    if (verdicts?.egress) this.policyVerdict(verdicts.egress, flags);
    if (sender.node && receiver.node && sender.node === receiver.node) {
      if (verdicts?.ingress) this.policyVerdict(verdicts.ingress, flags);
      emit(receiver.node, trace.toEndpoint, receiverDirection);
      return;
    }
    if (sender.node) emit(sender.node, receiver.node ? trace.toOverlay : trace.toStack, senderDirection);
    if (verdicts?.ingress) this.policyVerdict(verdicts.ingress, flags);
    if (receiver.node) emit(receiver.node, trace.toEndpoint, receiverDirection);
  }

  /**
   * A policy-verdict notification for a packet from the client (event type 5, sub-type 0), on the node of the side
   * that decided. Hubble leaves is_reply unset on a drop; any other verdict is a connection's first packet, not a reply.
   */
  policyVerdict(v: PolicyVerdict, flags?: TCPFlags): void {
    const node = v.side === 'egress' ? this.conn.client.node : this.conn.server.node;
    if (!node) return;
    const flow = this.withService(this.base('client', flags, node), 'client');
    flow.verdict = v.verdict;
    if (v.dropReason) flow.drop_reason = dropCodes[v.dropReason];
    flow.Type = 'L3_L4';
    flow.event_type = { type: eventTypes.policyVerdict, sub_type: 0 };
    flow.traffic_direction = v.side === 'egress' ? 'EGRESS' : 'INGRESS';
    if (v.matchType) flow.policy_match_type = v.matchType;
    if (v.dropReason) flow.drop_reason_desc = v.dropReason;
    else flow.is_reply = false;
    if (v.policies?.length) {
      if (v.verdict === 'DROPPED') flow[v.side === 'egress' ? 'egress_denied_by' : 'ingress_denied_by'] = v.policies;
      else flow[v.side === 'egress' ? 'egress_allowed_by' : 'ingress_allowed_by'] = v.policies;
    }
    flow.Summary = l4Summary(this.conn.protocol, flags);
    this.sink(flow, node);
  }

  /**
   * A packet from the client dropped on the client's node (egress: its policy, or its load balancer finding no
   * backend for the Service) or on the server's node (ingress policy).
   */
  drop(side: 'egress' | 'ingress', reason: DropReason, flags?: TCPFlags): void {
    const node = side === 'egress' ? this.conn.client.node : this.conn.server.node;
    if (!node) return;
    const flow = this.withService(this.base('client', flags, node), 'client');
    flow.verdict = 'DROPPED';
    flow.drop_reason = dropCodes[reason];
    flow.Type = 'L3_L4';
    flow.event_type = { type: eventTypes.drop, sub_type: dropCodes[reason] };
    flow.traffic_direction = side === 'egress' ? 'EGRESS' : 'INGRESS';
    flow.drop_reason_desc = reason;
    flow.Summary = l4Summary(this.conn.protocol, flags);
    this.sink(flow, node);
  }

  private l7(from: 'client' | 'server', side: 'egress' | 'ingress', l7: NonNullable<Flow['l7']>, summary: string, verdict: Flow['verdict']): void {
    const node = side === 'egress' ? this.conn.client.node : this.conn.server.node;
    if (!node) return;
    const flow = this.withService(this.base(from, undefined, node), from);
    flow.verdict = verdict;
    flow.Type = 'L7';
    flow.l7 = l7;
    flow.event_type = { type: eventTypes.l7 };
    flow.traffic_direction = side === 'egress' ? 'EGRESS' : 'INGRESS';
    flow.is_reply = from === 'server';
    flow.Summary = summary;
    this.sink(flow, node);
  }

  /** The proxy saw a request (side: where the L7 rule is, egress at the client, ingress at the server). */
  httpRequest(
    side: 'egress' | 'ingress',
    http: { method: string; url: string; headers?: { key: string; value: string }[] },
    verdict: Flow['verdict'] = 'FORWARDED',
  ): void {
    const record = { method: http.method, url: http.url, protocol: 'HTTP/1.1', ...(http.headers?.length ? { headers: http.headers } : {}) };
    this.l7('client', side, { type: 'REQUEST', http: record }, `HTTP/1.1 ${http.method} ${http.url}`, verdict);
  }

  httpResponse(
    side: 'egress' | 'ingress',
    http: { code: number; method: string; url: string; latencyNs: bigint; headers?: { key: string; value: string }[] },
  ): void {
    const record = { code: http.code, method: http.method, url: http.url, protocol: 'HTTP/1.1', ...(http.headers?.length ? { headers: http.headers } : {}) };
    const ms = http.latencyNs / 1_000_000n;
    this.l7(
      'server',
      side,
      { type: 'RESPONSE', latency_ns: String(http.latencyNs), http: record },
      `HTTP/1.1 ${http.code} ${ms}ms (${http.method} ${http.url})`,
      'FORWARDED',
    );
  }

  /** DNS through Cilium's DNS proxy (an egress dns rule): the query, then the answer with its latency. */
  dnsRequest(query: string, qtypes: string[], verdict: Flow['verdict'] = 'FORWARDED'): void {
    this.l7('client', 'egress', { type: 'REQUEST', dns: { query, qtypes, observation_source: 'proxy' } }, `DNS Query ${query} ${qtypes.join(',')}`, verdict);
  }

  dnsResponse(dns: { query: string; qtypes: string[]; ips: string[]; ttl: number; rcode: number; rrtypes: string[]; latencyNs: bigint }): void {
    const record = {
      query: dns.query,
      ...(dns.ips.length ? { ips: dns.ips } : {}),
      ...(dns.ttl ? { ttl: dns.ttl } : {}),
      observation_source: 'proxy',
      ...(dns.rcode ? { rcode: dns.rcode } : {}),
      qtypes: dns.qtypes,
      ...(dns.rrtypes.length ? { rrtypes: dns.rrtypes } : {}),
    };
    const answer = dns.rcode ? `DNS Answer RCode: ${rcodeName(dns.rcode)} TTL: ${dns.ttl}` : `DNS Answer "${dns.ips.join(',')}" TTL: ${dns.ttl}`;
    this.l7(
      'server',
      'egress',
      { type: 'RESPONSE', latency_ns: String(dns.latencyNs), dns: record },
      `${answer} (Proxy ${dns.query} ${dns.qtypes.join(',')})`,
      'FORWARDED',
    );
  }
}

const rcodes: Record<number, string> = { 1: 'Format Error', 2: 'Server Failure', 3: 'Non-Existent Domain', 4: 'Not Implemented', 5: 'Query Refused' };

/** miekg/dns RcodeToString, which Hubble prints. */
export function rcodeName(code: number): string {
  return rcodes[code] ?? String(code);
}
