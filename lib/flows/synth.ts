// Deterministic generator of realistic Hubble records for the lab's demo topology, for tests, benches and scenarios.
//
// Two levels:
//  - `synthResponses` / `synthJsonpbLines` / `writeSynthFile`: a whole seeded run of the lab's traffic (the
//    traffic generator's workflow, agent-to-agent calls, DNS, calls out to api.openai.com, error requests,
//    policy drops, lost events and relay node status), cut at exactly `count` records.
//  - `new FlowSynth(opts)` and its builders (`tcpConnection`, `httpExchange`, `dnsLookup`, `policyDrop`,
//    `lostEvents`, `nodeStatus`): each returns the records it emits, in time order, so a scenario can be
//    assembled step by step and its ground truth known exactly.
// Same seed and options give the same records, byte for byte.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import type { Endpoint, Flow, GetFlowsResponse, TCPFlags } from './types.ts';
import { formatTimestamp, parseTimestamp, timestampToNanos } from '../hubble/grpc/timestamp.ts';
import { toJsonpb } from '../hubble/codec/write.ts';

/** Which Cilium's field set to imitate: today's, or 1.13's (no uuid, trace_reason, node_labels, cluster_name, emitter; `reply` still set). */
export type SynthVariant = 'current' | 'cilium-1.13';

export interface SynthOptions {
  /** PRNG seed (default 1). */
  seed?: number;
  /** Time of the first record, RFC 3339 (default 2025-03-14T09:26:53.000000000Z). */
  start?: string;
  variant?: SynthVariant;
  /** Node names as flows carry them (default kind's three nodes, `kind-kind/kind-…`). */
  nodes?: string[];
  /** Adds fields no Hubble version has (at top level, in flows, endpoints and L7 records) to test forward compatibility. */
  unknownFields?: boolean;
}

export interface SynthRunOptions extends SynthOptions {
  /** Exactly this many records (default 1000). */
  count?: number;
}

/** A pod or external peer as the generator knows it. */
export interface SynthPeer {
  /** Short handle: `agent-coordinator`, `document-agent-0`, `llm-service`, `traffic-generator`, `kube-dns`, `world`. */
  key: string;
  ip: string;
  /** Index into the node list; undefined for peers outside the cluster. */
  node: number | undefined;
  endpoint: Endpoint;
  /** Endpoint ID on its node (only reported when the observing node is its node). */
  endpointId: number;
  /** The Service that fronts it, if any. */
  service?: { name: string; namespace: string; host: string; clusterIp: string };
  /** DNS names reported for it (external peers). */
  names?: string[];
}

export interface HttpExchangeOptions {
  method?: string;
  path?: string;
  status?: number;
  /** Request→response time at the proxy (default drawn 5–80 ms). */
  latencyMs?: number;
  /** Where the L7 proxy sees the request: at the client's egress, the server's ingress, or both (default both). */
  seenAt?: 'egress' | 'ingress' | 'both';
  /** Also emit the underlying TCP connection (default true). */
  withTcp?: boolean;
}

export interface PolicyDropOptions {
  port?: number;
  /** Drop reason (default POLICY_DENIED, 133; POLICY_DENY is 181, an explicit deny rule). */
  reason?: 'POLICY_DENIED' | 'POLICY_DENY';
  /** Where the policy drops: at the server's ingress (default) or the client's egress. */
  at?: 'ingress' | 'egress';
  /** SYN retransmissions dropped after the first (default 1). */
  retries?: number;
}

export const DEMO_NAMESPACE = 'genai-network-demo';
const CLUSTER = 'kind-kind';
const DEFAULT_NODES = ['kind-kind/kind-control-plane', 'kind-kind/kind-worker', 'kind-kind/kind-worker2'];
const DEFAULT_START = '2025-03-14T09:26:53.000000000Z';
const MS = 1_000_000n;
const US = 1_000n;

const DROP_CODES = { POLICY_DENIED: 133, POLICY_DENY: 181 } as const;

// Monitor trace observation points (event_type.sub_type) and their Flow enum names.
const TO_ENDPOINT = { sub: 0, name: 'TO_ENDPOINT' };
const TO_OVERLAY = { sub: 4, name: 'TO_OVERLAY' };
const TO_STACK = { sub: 3, name: 'TO_STACK' };

/** mulberry32: small, fast, good enough for test data, and identical on every platform. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FlowSynth {
  readonly variant: SynthVariant;
  readonly nodes: string[];
  readonly peers: Record<string, SynthPeer>;
  private readonly rand: () => number;
  private readonly unknownFields: boolean;
  /** Current time, epoch nanoseconds; every builder starts here and moves it forward. */
  private clock: bigint;

  constructor(opts: SynthOptions = {}) {
    this.variant = opts.variant ?? 'current';
    this.nodes = opts.nodes ?? DEFAULT_NODES;
    if (this.nodes.length === 0) throw new Error('synth: at least one node is needed');
    this.rand = prng(opts.seed ?? 1);
    this.unknownFields = opts.unknownFields ?? false;
    const start = parseTimestamp(opts.start ?? DEFAULT_START);
    if (!start) throw new Error(`synth: start is not an RFC 3339 time: ${opts.start}`);
    this.clock = timestampToNanos(start);
    this.peers = this.buildPeers();
  }

  /** The time the next record will carry, RFC 3339. */
  now(): string {
    return formatTimestamp(Number(this.clock / 1_000_000_000n), Number(this.clock % 1_000_000_000n));
  }

  /** Moves the clock forward. */
  advance(ms: number): void {
    this.clock += BigInt(Math.round(ms * 1e6));
  }

  peer(key: string): SynthPeer {
    const p = this.peers[key];
    if (!p) throw new Error(`synth: unknown peer ${key} (known: ${Object.keys(this.peers).join(', ')})`);
    return p;
  }

  // ---------------- builders ----------------

  /**
   * A TCP connection: SYN, SYN-ACK (is_reply), ACK, `dataPackets` PSH/ACK exchanges each way, then FIN/ACK from
   * both sides. Each packet is seen at the sender's node (to-overlay, or to-stack for peers outside the
   * cluster) and at the receiver's node (to-endpoint); once when both are on one node.
   */
  tcpConnection(client: SynthPeer, server: SynthPeer, port: number, opts: { dataPackets?: number; sourcePort?: number } = {}): GetFlowsResponse[] {
    const sport = opts.sourcePort ?? this.ephemeralPort();
    return [
      ...this.tcpOpen(client, server, port, sport),
      ...this.tcpData(client, server, port, sport, opts.dataPackets ?? 1),
      ...this.tcpClose(client, server, port, sport),
    ];
  }

  private tcpOpen(client: SynthPeer, server: SynthPeer, port: number, sport: number): GetFlowsResponse[] {
    return [
      ...this.tcpSegment(client, server, port, sport, { SYN: true }, false, 'NEW'),
      ...this.tcpSegment(client, server, port, sport, { SYN: true, ACK: true }, true, 'REPLY'),
      ...this.tcpSegment(client, server, port, sport, { ACK: true }, false, 'ESTABLISHED'),
    ];
  }

  private tcpData(client: SynthPeer, server: SynthPeer, port: number, sport: number, exchanges: number): GetFlowsResponse[] {
    const out: GetFlowsResponse[] = [];
    for (let i = 0; i < exchanges; i++) {
      out.push(...this.tcpSegment(client, server, port, sport, { ACK: true, PSH: true }, false, 'ESTABLISHED'));
      out.push(...this.tcpSegment(client, server, port, sport, { ACK: true, PSH: true }, true, 'REPLY'));
    }
    return out;
  }

  private tcpClose(client: SynthPeer, server: SynthPeer, port: number, sport: number): GetFlowsResponse[] {
    return [
      ...this.tcpSegment(client, server, port, sport, { ACK: true, FIN: true }, false, 'ESTABLISHED'),
      ...this.tcpSegment(client, server, port, sport, { ACK: true, FIN: true }, true, 'REPLY'),
      ...this.tcpSegment(client, server, port, sport, { ACK: true }, false, 'ESTABLISHED'),
    ];
  }

  private tcpSegment(client: SynthPeer, server: SynthPeer, port: number, sport: number, flags: TCPFlags, reply: boolean, reason: string): GetFlowsResponse[] {
    const [from, to] = reply ? [server, client] : [client, server];
    const l4 = { TCP: { source_port: reply ? port : sport, destination_port: reply ? sport : port, flags: protoOrderFlags(flags) } };
    const out = this.packet(client, server, from, to, reply, reason, l4, `TCP Flags: ${tcpFlagText(flags)}`);
    this.advance(0.05 + this.rand() * 0.4);
    return out;
  }

  /**
   * An HTTP request and its response through Cilium's L7 proxy (an L7 policy is assumed): REQUEST flows
   * (client → server, is_reply false) and RESPONSE flows (server → client, is_reply true, latency_ns), at the
   * client's egress and/or the server's ingress; with the TCP connection around them unless withTcp is false.
   */
  httpExchange(client: SynthPeer, server: SynthPeer, opts: HttpExchangeOptions = {}): GetFlowsResponse[] {
    const method = opts.method ?? 'GET';
    const path = opts.path ?? '/';
    const status = opts.status ?? 200;
    const latencyMs = opts.latencyMs ?? 5 + Math.floor(this.rand() * 75);
    const port = 80;
    const sport = this.ephemeralPort();
    const host = server.service?.host ?? server.names?.[0] ?? server.ip;
    const url = `http://${host}${path}`;
    const seen = opts.seenAt ?? 'both';
    const directions: ('EGRESS' | 'INGRESS')[] = seen === 'both' ? ['EGRESS', 'INGRESS'] : seen === 'egress' ? ['EGRESS'] : ['INGRESS'];
    const withTcp = opts.withTcp ?? true;
    const out: GetFlowsResponse[] = [];
    if (withTcp) out.push(...this.tcpOpen(client, server, port, sport));
    const headers = [
      { key: ':scheme', value: 'http' },
      { key: 'accept', value: '*/*' },
      { key: 'user-agent', value: 'Python/3.11 aiohttp/3.9.1' },
      { key: 'x-request-id', value: this.uuid() },
    ];
    for (const dir of directions) {
      out.push(this.l7Flow(client, server, dir, false, { TCP: { source_port: sport, destination_port: port } }, {
        type: 'REQUEST',
        http: { method, url, protocol: 'HTTP/1.1', headers },
      }, `HTTP/1.1 ${method} ${url}`));
      this.advance(0.2);
    }
    this.advance(latencyMs);
    for (const dir of [...directions].reverse()) {
      const latencyNs = BigInt(latencyMs) * MS + BigInt(Math.floor(this.rand() * 900)) * US;
      out.push(this.l7Flow(client, server, dir, true, { TCP: { source_port: port, destination_port: sport } }, {
        type: 'RESPONSE',
        latency_ns: latencyNs.toString(),
        http: { code: status, method, url, protocol: 'HTTP/1.1', headers: [{ key: 'content-type', value: 'application/json' }, { key: 'server', value: 'nginx/1.25.3' }] },
      }, `HTTP/1.1 ${status} ${latencyMs}ms (${method} ${url})`));
      this.advance(0.2);
    }
    if (withTcp) out.push(...this.tcpClose(client, server, port, sport));
    return out;
  }

  /**
   * A DNS lookup from `client` to kube-dns over UDP 53: the query and answer packets (L3/L4), and the L7 DNS
   * REQUEST/RESPONSE seen by the DNS proxy at the client's egress.
   */
  dnsLookup(client: SynthPeer, name: string, ips: string[], opts: { rcode?: number; qtype?: string } = {}): GetFlowsResponse[] {
    const dns = this.peer('kube-dns');
    const qtype = opts.qtype ?? 'A';
    const query = name.endsWith('.') ? name : `${name}.`;
    const sport = this.ephemeralPort();
    const out: GetFlowsResponse[] = [];
    const l4q = { UDP: { source_port: sport, destination_port: 53 } };
    const l4a = { UDP: { source_port: 53, destination_port: sport } };
    out.push(this.l7Flow(client, dns, 'EGRESS', false, l4q, { type: 'REQUEST', dns: { query, observation_source: 'proxy', qtypes: [qtype] } }, `DNS Query ${query} ${qtype}`));
    this.advance(0.1);
    out.push(...this.packet(client, dns, client, dns, false, 'NEW', l4q, 'UDP'));
    const latencyMs = 1 + Math.floor(this.rand() * 4);
    this.advance(latencyMs);
    out.push(...this.packet(client, dns, dns, client, true, 'REPLY', l4a, 'UDP'));
    const rcode = opts.rcode ?? 0;
    const answer = rcode === 0 ? [ips.length ? JSON.stringify(ips.join(',')) : ''].filter(Boolean).join(' ') : `RCode: ${rcode === 3 ? 'Non-Existent Domain' : String(rcode)}`;
    out.push(this.l7Flow(client, dns, 'EGRESS', true, l4a, {
      type: 'RESPONSE',
      latency_ns: (BigInt(latencyMs) * MS + BigInt(Math.floor(this.rand() * 900)) * US).toString(),
      dns: {
        query,
        ...(rcode === 0 && ips.length ? { ips, ttl: 30 } : {}),
        observation_source: 'proxy',
        ...(rcode !== 0 ? { rcode } : {}),
        qtypes: [qtype],
        ...(rcode === 0 ? { rrtypes: [qtype] } : {}),
      },
    }, `DNS Answer ${answer} (Query ${query} ${qtype})`));
    this.advance(0.1);
    return out;
  }

  /**
   * A connection attempt refused by policy: DROPPED flows (event type 1, sub type = drop code,
   * drop_reason_desc, is_reply absent) for the SYN and its retransmissions, at the server's ingress or the
   * client's egress. Nothing reaches the server.
   */
  policyDrop(client: SynthPeer, server: SynthPeer, opts: PolicyDropOptions = {}): GetFlowsResponse[] {
    const reason = opts.reason ?? 'POLICY_DENIED';
    const at = opts.at ?? 'ingress';
    const port = opts.port ?? 80;
    const sport = this.ephemeralPort();
    const observer = at === 'ingress' ? server : client;
    const out: GetFlowsResponse[] = [];
    for (let attempt = 0; attempt <= (opts.retries ?? 1); attempt++) {
      const node = this.nodeOf(observer);
      const flow: Flow = {
        time: this.now(),
        ...this.uuidField(),
        ...this.emitterField(),
        verdict: 'DROPPED',
        drop_reason: DROP_CODES[reason],
        ethernet: { source: macFor(client.ip), destination: macFor(server.ip) },
        IP: { source: client.ip, destination: server.ip, ipVersion: 'IPv4' },
        l4: { TCP: { source_port: sport, destination_port: port, flags: { SYN: true } } },
        source: this.endpointAt(client, node),
        destination: this.endpointAt(server, node),
        Type: 'L3_L4',
        node_name: this.nodes[node]!,
        ...this.nodeLabelsField(node),
        ...(server.names ? { destination_names: server.names } : {}),
        event_type: { type: 1, sub_type: DROP_CODES[reason] },
        ...(server.service ? { destination_service: { name: server.service.name, namespace: server.service.namespace } } : {}),
        traffic_direction: at === 'ingress' ? 'INGRESS' : 'EGRESS',
        drop_reason_desc: reason,
        Summary: 'TCP Flags: SYN',
      };
      out.push(this.wrap(flow));
      this.advance(1000 * 2 ** attempt);
    }
    return out;
  }

  /** Events a node lost before a reader saw them (HUBBLE_RING_BUFFER: the reader fell behind). */
  lostEvents(nodeIndex: number, count: number, source: 'HUBBLE_RING_BUFFER' | 'PERF_EVENT_RING_BUFFER' | 'OBSERVER_EVENTS_QUEUE' = 'HUBBLE_RING_BUFFER'): GetFlowsResponse {
    const node = this.nodes[nodeIndex % this.nodes.length]!;
    const resp: GetFlowsResponse = {
      lost_events: { source, num_events_lost: String(count), ...(source === 'PERF_EVENT_RING_BUFFER' ? { cpu: nodeIndex % 2 } : {}) },
      node_name: node,
      time: this.now(),
    };
    this.advance(0.01);
    return this.withUnknown(resp);
  }

  /** A Relay node status change for the given node indexes. */
  nodeStatus(state: 'NODE_CONNECTED' | 'NODE_UNAVAILABLE' | 'NODE_GONE' | 'NODE_ERROR', nodeIndexes: number[], message?: string): GetFlowsResponse {
    const resp: GetFlowsResponse = {
      node_status: { state_change: state, node_names: nodeIndexes.map((i) => this.nodes[i % this.nodes.length]!), ...(message ? { message } : {}) },
      time: this.now(),
    };
    this.advance(0.01);
    return this.withUnknown(resp);
  }

  /**
   * One pass of the lab's traffic generator (tasks → analyze → generate → results → complete), with the
   * calls the agents make behind it, and now and then an error request, a call out to api.openai.com or a
   * request refused by the network policy.
   */
  workflowRound(): GetFlowsResponse[] {
    const gen = this.peer('traffic-generator');
    const coord = this.peer('agent-coordinator');
    const doc = this.peer(this.rand() < 0.5 ? 'document-agent-0' : 'document-agent-1');
    const llm = this.peer('llm-service');
    const out: GetFlowsResponse[] = [];
    const step = (client: SynthPeer, server: SynthPeer, method: string, path: string, status = 200) => {
      if (this.rand() < 0.3 && server.service) out.push(...this.dnsLookup(client, server.service.host, [server.service.clusterIp]));
      out.push(...this.httpExchange(client, server, { method, path, status }));
      this.advance(20 + this.rand() * 200);
    };
    step(gen, coord, 'POST', '/api/v1/tasks');
    step(coord, doc, 'POST', '/api/v1/analyze');
    step(gen, doc, 'POST', '/api/v1/analyze');
    step(doc, llm, 'POST', '/api/v1/generate');
    if (this.rand() < 0.5) {
      const world = this.peer('world');
      out.push(...this.dnsLookup(llm, 'api.openai.com', [world.ip, '104.18.6.192']));
      out.push(...this.tcpConnection(llm, world, 443, { dataPackets: 2 }));
    }
    step(gen, doc, 'GET', '/api/v1/results/doc_123');
    step(gen, coord, 'POST', '/api/v1/complete');
    const r = this.rand();
    if (r < 0.15) step(gen, coord, 'POST', '/api/v1/invalid', 404);
    else if (r < 0.25) step(gen, doc, 'GET', '/api/v1/nonexistent', 404);
    else if (r < 0.3) out.push(...this.httpExchange(gen, llm, { method: 'POST', path: '/api/v1/timeout', status: 504, latencyMs: 30000 }));
    if (this.rand() < 0.2) out.push(...this.policyDrop(doc, coord, { retries: 1 }));
    if (this.rand() < 0.1) out.push(...this.policyDrop(gen, llm, { at: 'ingress', retries: 0 }));
    this.advance(200 + this.rand() * 800);
    return out;
  }

  // ---------------- record assembly ----------------

  /** One packet, as seen at the sender's node and at the receiver's node (once when they are the same). */
  private packet(client: SynthPeer, server: SynthPeer, from: SynthPeer, to: SynthPeer, reply: boolean, reason: string, l4: Flow['l4'], summary: string): GetFlowsResponse[] {
    const out: GetFlowsResponse[] = [];
    const fromNode = from.node;
    const toNode = to.node;
    const points: { node: number; point: { sub: number; name: string }; localIsSource: boolean }[] = [];
    if (fromNode !== undefined && fromNode !== toNode) points.push({ node: fromNode, point: toNode === undefined ? TO_STACK : TO_OVERLAY, localIsSource: true });
    if (toNode !== undefined) points.push({ node: toNode, point: TO_ENDPOINT, localIsSource: false });
    for (const { node, point, localIsSource } of points) {
      const flow: Flow = {
        time: this.now(),
        ...this.uuidField(),
        ...this.emitterField(),
        verdict: 'FORWARDED',
        ethernet: { source: macFor(from.ip), destination: macFor(to.ip) },
        IP: { source: from.ip, destination: to.ip, ipVersion: 'IPv4' },
        l4,
        source: this.endpointAt(from, node),
        destination: this.endpointAt(to, node),
        Type: 'L3_L4',
        node_name: this.nodes[node]!,
        ...this.nodeLabelsField(node),
        ...(from.names ? { source_names: from.names } : {}),
        ...(to.names ? { destination_names: to.names } : {}),
        ...(this.variant === 'cilium-1.13' && reply ? { reply: true } : {}),
        event_type: point.sub === 0 ? { type: 4 } : { type: 4, sub_type: point.sub },
        ...serviceFields(reply ? server : undefined, reply ? undefined : server),
        // The connection's direction from the observing endpoint: egress when it sent a request or received a reply.
        traffic_direction: localIsSource !== reply ? 'EGRESS' : 'INGRESS',
        trace_observation_point: point.name,
        ...(this.variant === 'current' ? { trace_reason: reason } : {}),
        is_reply: reply,
        ...(point === TO_ENDPOINT ? { interface: { index: 10 + (to.endpointId % 50), name: `lxc${to.endpointId.toString(16).padStart(4, '0')}${to.ip.split('.').pop()}` } } : {}),
        Summary: summary,
      };
      out.push(this.wrap(flow));
      this.advance(0.03 + this.rand() * 0.05);
    }
    return out;
  }

  private l7Flow(client: SynthPeer, server: SynthPeer, dir: 'EGRESS' | 'INGRESS', reply: boolean, l4: Flow['l4'], l7: NonNullable<Flow['l7']>, summary: string): GetFlowsResponse {
    const [from, to] = reply ? [server, client] : [client, server];
    const observer = dir === 'EGRESS' ? client : server;
    const node = this.nodeOf(observer);
    const flow: Flow = {
      time: this.now(),
      ...this.uuidField(),
      ...this.emitterField(),
      verdict: 'FORWARDED',
      IP: { source: from.ip, destination: to.ip, ipVersion: 'IPv4' },
      l4,
      source: this.endpointAt(from, node),
      destination: this.endpointAt(to, node),
      Type: 'L7',
      node_name: this.nodes[node]!,
      ...this.nodeLabelsField(node),
      ...(from.names ? { source_names: from.names } : {}),
      ...(to.names ? { destination_names: to.names } : {}),
      l7: this.unknownFields && l7.http ? ({ ...l7, http: { ...l7.http, grpc_status: 'UNKNOWN_FUTURE' } } as Flow['l7']) : l7,
      ...(this.variant === 'cilium-1.13' && reply ? { reply: true } : {}),
      event_type: { type: 129 },
      ...serviceFields(reply ? server : undefined, reply ? undefined : server),
      traffic_direction: dir,
      is_reply: reply,
      Summary: summary,
    };
    return this.wrap(flow);
  }

  private wrap(flow: Flow): GetFlowsResponse {
    const resp: GetFlowsResponse = { flow, node_name: flow.node_name!, time: flow.time! };
    if (this.unknownFields) (flow as Record<string, unknown>).future_sampling = { rate: 1, reason: 'FUTURE_REASON' };
    return this.withUnknown(resp);
  }

  private withUnknown(resp: GetFlowsResponse): GetFlowsResponse {
    if (this.unknownFields) (resp as Record<string, unknown>).future_cursor = 'c-0001';
    return resp;
  }

  private endpointAt(peer: SynthPeer, observingNode: number): Endpoint {
    const ep: Endpoint = { ...(peer.node === observingNode ? { ID: peer.endpointId } : {}), ...peer.endpoint };
    if (this.unknownFields && ep.labels) (ep as Record<string, unknown>).future_zone = 'zone-a';
    return ep;
  }

  private nodeOf(peer: SynthPeer): number {
    return peer.node ?? 0;
  }

  private uuidField(): { uuid?: string } {
    return this.variant === 'current' ? { uuid: this.uuid() } : {};
  }

  private emitterField(): { emitter?: { name: string; version: string } } {
    return this.variant === 'current' ? { emitter: { name: 'Hubble', version: '1.19.0+g4e1d3b7' } } : {};
  }

  private nodeLabelsField(node: number): { node_labels?: string[] } {
    if (this.variant !== 'current') return {};
    const host = this.nodes[node]!.split('/').pop()!;
    return { node_labels: ['kubernetes.io/arch=amd64', `kubernetes.io/hostname=${host}`, 'kubernetes.io/os=linux'] };
  }

  private uuid(): string {
    let hex = '';
    for (let i = 0; i < 4; i++) hex += Math.floor(this.rand() * 2 ** 32).toString(16).padStart(8, '0');
    const variantNibble = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variantNibble}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  private ephemeralPort(): number {
    return 32768 + Math.floor(this.rand() * 28232);
  }

  private buildPeers(): Record<string, SynthPeer> {
    const current = this.variant === 'current';
    const n = this.nodes.length;
    const workerOf = (i: number) => (n === 1 ? 0 : 1 + (i % (n - 1)));
    const podIp = (node: number, host: number) => `10.244.${node}.${host}`;
    const nsLabels = (ns: string) => [
      `k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=${ns}`,
      `k8s:io.cilium.k8s.policy.cluster=${CLUSTER}`,
      `k8s:io.cilium.k8s.policy.serviceaccount=default`,
      `k8s:io.kubernetes.pod.namespace=${ns}`,
    ];
    const demo = (key: string, app: string, tier: string, pod: string, node: number, host: number, identity: number, id: number, svc?: string, clusterIp?: string): SynthPeer => ({
      key,
      ip: podIp(node, host),
      node,
      endpointId: id,
      endpoint: {
        identity,
        ...(current ? { cluster_name: CLUSTER } : {}),
        namespace: DEMO_NAMESPACE,
        labels: [`k8s:app=${app}`, ...nsLabels(DEMO_NAMESPACE), `k8s:tier=${tier}`].sort(),
        pod_name: pod,
        workloads: [{ name: app, kind: 'Deployment' }],
      },
      ...(svc ? { service: { name: svc, namespace: DEMO_NAMESPACE, host: `${svc}.${DEMO_NAMESPACE}.svc.cluster.local`, clusterIp: clusterIp! } } : {}),
    });
    const peers: SynthPeer[] = [
      demo('agent-coordinator', 'agent-coordinator', 'orchestration', 'agent-coordinator-7c9d8f6b5-x2k4q', workerOf(0), 23, 21053, 1432, 'agent-coordinator-service', '10.96.41.17'),
      demo('document-agent-0', 'document-agent', 'processing', 'document-agent-5f7b9c4d8-7hmzp', workerOf(1), 51, 8412, 309, 'document-agent-service', '10.96.112.5'),
      demo('document-agent-1', 'document-agent', 'processing', 'document-agent-5f7b9c4d8-q9vtw', workerOf(0), 87, 8412, 2718, 'document-agent-service', '10.96.112.5'),
      demo('llm-service', 'llm-service', 'inference', 'llm-service-6d4f5b7c9-mn8rs', workerOf(1), 12, 47217, 877, 'llm-service', '10.96.7.230'),
      {
        key: 'traffic-generator',
        ip: podIp(workerOf(0), 140),
        node: workerOf(0),
        endpointId: 3391,
        endpoint: {
          identity: 60871,
          ...(current ? { cluster_name: CLUSTER } : {}),
          namespace: DEMO_NAMESPACE,
          labels: [
            'k8s:app=traffic-generator',
            'k8s:batch.kubernetes.io/job-name=traffic-generator',
            ...nsLabels(DEMO_NAMESPACE),
            'k8s:job-name=traffic-generator',
          ].sort(),
          pod_name: 'traffic-generator-8kq2w',
          workloads: [{ name: 'traffic-generator', kind: 'Job' }],
        },
      },
      {
        key: 'kube-dns',
        ip: podIp(0, 3),
        node: 0,
        endpointId: 145,
        endpoint: {
          identity: 7419,
          ...(current ? { cluster_name: CLUSTER } : {}),
          namespace: 'kube-system',
          labels: [...nsLabels('kube-system').map((l) => l.replace('serviceaccount=default', 'serviceaccount=coredns')), 'k8s:k8s-app=kube-dns'].sort(),
          pod_name: 'coredns-7db6d8ff4d-8xq7t',
          workloads: [{ name: 'coredns', kind: 'Deployment' }],
        },
        service: { name: 'kube-dns', namespace: 'kube-system', host: 'kube-dns.kube-system.svc.cluster.local', clusterIp: '10.96.0.10' },
      },
      {
        key: 'world',
        ip: '104.18.7.192',
        node: undefined,
        endpointId: 0,
        endpoint: { identity: 2, labels: ['reserved:world'] },
        names: ['api.openai.com'],
      },
    ];
    return Object.fromEntries(peers.map((p) => [p.key, p]));
  }
}

function serviceFields(source: SynthPeer | undefined, destination: SynthPeer | undefined): Pick<Flow, 'source_service' | 'destination_service'> {
  const out: Pick<Flow, 'source_service' | 'destination_service'> = {};
  if (source?.service) out.source_service = { name: source.service.name, namespace: source.service.namespace };
  if (destination?.service) out.destination_service = { name: destination.service.name, namespace: destination.service.namespace };
  return out;
}

/** The same flags with keys in TCPFlags declaration order, as jsonpb writes them. */
function protoOrderFlags(flags: TCPFlags): TCPFlags {
  const out: TCPFlags = {};
  for (const k of ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'] as const) if (flags[k]) out[k] = true;
  return out;
}

/** Hubble's order: SYN, ACK, RST, FIN, PSH, URG, ECE, CWR, NS. */
export function tcpFlagText(flags: TCPFlags): string {
  const order: (keyof TCPFlags)[] = ['SYN', 'ACK', 'RST', 'FIN', 'PSH', 'URG', 'ECE', 'CWR', 'NS'];
  return order.filter((k) => flags[k]).join(', ');
}

function macFor(ip: string): string {
  const parts = ip.split('.').map((p) => Number(p).toString(16).padStart(2, '0'));
  return `0a:58:${parts.join(':')}`;
}

// ---------------- whole runs ----------------

/** Records of a seeded run of the lab's traffic, produced lazily (for files far larger than memory). */
export function* synthStream(opts: SynthRunOptions = {}): Generator<GetFlowsResponse> {
  const count = opts.count ?? 1000;
  const synth = new FlowSynth(opts);
  let emitted = 0;
  const emit = function* (batch: GetFlowsResponse[]): Generator<GetFlowsResponse> {
    for (const r of batch) {
      if (emitted >= count) return;
      emitted++;
      yield r;
    }
  };
  yield* emit([synth.nodeStatus('NODE_CONNECTED', synth.nodes.map((_, i) => i))]);
  let round = 0;
  while (emitted < count) {
    yield* emit(synth.workflowRound());
    round++;
    if (round % 40 === 0) yield* emit([synth.lostEvents(round % synth.nodes.length, 1 + (round % 97))]);
    if (round % 150 === 75) {
      const node = 1 % synth.nodes.length;
      yield* emit([synth.nodeStatus('NODE_UNAVAILABLE', [node], 'connection refused')]);
      synth.advance(5000);
      yield* emit([synth.nodeStatus('NODE_CONNECTED', [node])]);
    }
  }
}

/** A seeded run of the lab's traffic as an array of exactly `count` records. */
export function synthResponses(opts: SynthRunOptions = {}): GetFlowsResponse[] {
  return [...synthStream(opts)];
}

/** Lines that a reader must reject or skip, with the reason it must give (a substring of it). */
export const JUNK_LINES: readonly { text: string; reason: string }[] = [
  { text: 'this is not json', reason: 'not JSON' },
  { text: '{"flow":{"time":"2025-03-14T09:26:53Z","verdict":"FORWARDED"', reason: 'not JSON' },
  { text: '[1,2,3]', reason: 'not a JSON object' },
  { text: '{"flow":{"verdict":true,"Type":"L3_L4"}}', reason: 'flow.verdict: expected an enum name or number' },
  { text: '{"flow":{"source":{"labels":["k8s:app=a",7]}}}', reason: 'flow.source.labels[1]: expected a string' },
  { text: '{"flow":{"l4":{"TCP":{"source_port":"eighty"}}}}', reason: 'flow.l4.TCP.source_port: expected a number' },
  { text: '{"hello":"world"}', reason: 'no known record' },
];

export interface SynthLinesOptions extends SynthRunOptions {
  /** After every N records, insert the next JUNK_LINES entry (cycling). 0 or absent: no junk. */
  junkEvery?: number;
  /** Write bare Flow objects (legacy `-o json`) instead of GetFlowsResponse lines; non-flow records are left out. */
  bareFlows?: boolean;
}

/**
 * A run as jsonpb lines (without newlines), optionally with junk lines mixed in. With `unknownFields` the lines
 * are the records' JSON as built (the jsonpb writer would drop those fields); the known fields still come in
 * proto order, so such a line minus its unknown fields is exactly the jsonpb line.
 */
export function* synthJsonpbLines(opts: SynthLinesOptions = {}): Generator<string> {
  let n = 0;
  let junk = 0;
  for (const resp of synthStream(opts)) {
    if (opts.bareFlows) {
      if (!resp.flow) continue;
      yield JSON.stringify(resp.flow);
    } else {
      yield opts.unknownFields ? JSON.stringify(resp) : toJsonpb(resp);
    }
    n++;
    if (opts.junkEvery && n % opts.junkEvery === 0) yield JUNK_LINES[junk++ % JUNK_LINES.length]!.text;
  }
}

/** Writes a run to a file, one line per record (gzip when `gzip` is set); returns the number of lines. */
export async function writeSynthFile(path: string, opts: SynthLinesOptions & { gzip?: boolean } = {}): Promise<number> {
  const file = createWriteStream(path);
  const gzip = opts.gzip ? createGzip() : undefined;
  if (gzip) gzip.pipe(file);
  const out = gzip ?? file;
  let lines = 0;
  let buf = '';
  for (const line of synthJsonpbLines(opts)) {
    buf += line + '\n';
    lines++;
    if (buf.length >= 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(file, 'close');
  return lines;
}
