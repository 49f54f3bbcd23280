// The Flow and GetFlowsResponse types, shaped exactly as Hubble's jsonpb (protojson with proto field names):
// enums as names, 64-bit integers as strings, Timestamps as RFC 3339 strings, BoolValue as a bare boolean.
// One Flow type flows through every reader, filter, aggregator and writer.

export type Verdict = 'VERDICT_UNKNOWN' | 'FORWARDED' | 'DROPPED' | 'ERROR' | 'AUDIT' | 'REDIRECTED' | 'TRACED' | 'TRANSLATED';

export type FlowType = 'UNKNOWN_TYPE' | 'L3_L4' | 'L7' | 'SOCK';
export type L7FlowType = 'UNKNOWN_L7_TYPE' | 'REQUEST' | 'RESPONSE' | 'SAMPLE';
export type TrafficDirection = 'TRAFFIC_DIRECTION_UNKNOWN' | 'INGRESS' | 'EGRESS';
export type IPVersion = 'IP_NOT_USED' | 'IPv4' | 'IPv6';
export type NodeState = 'UNKNOWN_NODE_STATE' | 'NODE_CONNECTED' | 'NODE_UNAVAILABLE' | 'NODE_GONE' | 'NODE_ERROR';
export type LostEventSource = 'UNKNOWN_LOST_EVENT_SOURCE' | 'PERF_EVENT_RING_BUFFER' | 'OBSERVER_EVENTS_QUEUE' | 'HUBBLE_RING_BUFFER';

export interface TCPFlags {
  FIN?: boolean;
  SYN?: boolean;
  RST?: boolean;
  PSH?: boolean;
  ACK?: boolean;
  URG?: boolean;
  ECE?: boolean;
  CWR?: boolean;
  NS?: boolean;
}

export interface PortPair {
  source_port?: number;
  destination_port?: number;
}

export interface Layer4 {
  TCP?: PortPair & { flags?: TCPFlags };
  UDP?: PortPair;
  ICMPv4?: { type?: number; code?: number };
  ICMPv6?: { type?: number; code?: number };
  SCTP?: PortPair & { chunk_type?: string };
  VRRP?: { type?: number; vrid?: number; priority?: number };
  IGMP?: { type?: number; group_address?: string };
}

export interface Workload {
  name?: string;
  kind?: string;
}

export interface Endpoint {
  ID?: number;
  identity?: number;
  cluster_name?: string;
  namespace?: string;
  labels?: string[];
  pod_name?: string;
  workloads?: Workload[];
}

export interface Service {
  name?: string;
  namespace?: string;
}

export interface HTTPHeader {
  key?: string;
  value?: string;
}

export interface HTTP {
  code?: number;
  method?: string;
  url?: string;
  protocol?: string;
  headers?: HTTPHeader[];
}

export interface DNS {
  query?: string;
  ips?: string[];
  ttl?: number;
  cnames?: string[];
  observation_source?: string;
  rcode?: number;
  qtypes?: string[];
  rrtypes?: string[];
}

export interface Layer7 {
  type?: L7FlowType;
  /** uint64 as a string. */
  latency_ns?: string;
  dns?: DNS;
  http?: HTTP;
  kafka?: Record<string, unknown>;
}

export interface CiliumEventType {
  type?: number;
  sub_type?: number;
}

export interface Policy {
  name?: string;
  namespace?: string;
  labels?: string[];
  revision?: string;
  kind?: string;
}

export interface Flow {
  /** RFC 3339 with nanoseconds. */
  time?: string;
  uuid?: string;
  emitter?: { name?: string; version?: string };
  verdict?: Verdict;
  drop_reason?: number;
  auth_type?: string;
  ethernet?: { source?: string; destination?: string };
  IP?: { source?: string; source_xlated?: string; destination?: string; ipVersion?: IPVersion; encrypted?: boolean };
  l4?: Layer4;
  tunnel?: Record<string, unknown>;
  source?: Endpoint;
  destination?: Endpoint;
  Type?: FlowType;
  node_name?: string;
  node_labels?: string[];
  source_names?: string[];
  destination_names?: string[];
  l7?: Layer7;
  reply?: boolean;
  event_type?: CiliumEventType;
  source_service?: Service;
  destination_service?: Service;
  traffic_direction?: TrafficDirection;
  policy_match_type?: number;
  trace_observation_point?: string;
  trace_reason?: string;
  file?: { name?: string; line?: number };
  drop_reason_desc?: string;
  is_reply?: boolean;
  debug_capture_point?: string;
  interface?: { index?: number; name?: string };
  proxy_port?: number;
  trace_context?: { parent?: { trace_id?: string } };
  sock_xlate_point?: string;
  socket_cookie?: string;
  cgroup_id?: string;
  Summary?: string;
  extensions?: Record<string, unknown>;
  egress_allowed_by?: Policy[];
  ingress_allowed_by?: Policy[];
  egress_denied_by?: Policy[];
  ingress_denied_by?: Policy[];
  policy_log?: string[];
  ip_trace_id?: { trace_id?: string; ip_option_type?: number };
  aggregate?: { ingress_flow_count?: number; egress_flow_count?: number; unknown_direction_flow_count?: number };
}

export interface LostEvent {
  source?: LostEventSource;
  /** uint64 as a string. */
  num_events_lost?: string;
  cpu?: number;
  first?: string;
  last?: string;
}

export interface NodeStatusEvent {
  state_change?: NodeState;
  node_names?: string[];
  message?: string;
}

/** One line of `hubble observe -o jsonpb`: exactly one of flow / node_status / lost_events is set. */
export interface GetFlowsResponse {
  flow?: Flow;
  node_status?: NodeStatusEvent;
  lost_events?: LostEvent;
  node_name?: string;
  time?: string;
}

export interface EventTypeFilter {
  type?: number;
  match_sub_type?: boolean;
  sub_type?: number;
}

/**
 * flow.FlowFilter with proto field names. Set fields AND together; values inside one field OR together.
 * Enum-valued fields hold enum names.
 */
export interface FlowFilter {
  uuid?: string[];
  source_ip?: string[];
  source_ip_xlated?: string[];
  source_pod?: string[];
  source_fqdn?: string[];
  source_label?: string[];
  source_service?: string[];
  source_workload?: Workload[];
  source_cluster_name?: string[];
  destination_ip?: string[];
  destination_pod?: string[];
  destination_fqdn?: string[];
  destination_label?: string[];
  destination_service?: string[];
  destination_workload?: Workload[];
  destination_cluster_name?: string[];
  traffic_direction?: TrafficDirection[];
  verdict?: Verdict[];
  drop_reason_desc?: string[];
  interface?: { index?: number; name?: string }[];
  event_type?: EventTypeFilter[];
  http_status_code?: string[];
  protocol?: string[];
  source_port?: string[];
  destination_port?: string[];
  reply?: boolean[];
  dns_query?: string[];
  source_identity?: number[];
  destination_identity?: number[];
  http_method?: string[];
  http_path?: string[];
  http_url?: string[];
  http_header?: HTTPHeader[];
  tcp_flags?: TCPFlags[];
  node_name?: string[];
  node_labels?: string[];
  ip_version?: IPVersion[];
  trace_id?: string[];
  /** uint64 values as strings. */
  ip_trace_id?: string[];
  encrypted?: boolean[];
  experimental?: { cel_expression?: string[] };
}

/** observer.GetFlowsRequest, normalised: `number` as a JS number, since/until as RFC 3339 strings. */
export interface GetFlowsRequest {
  number?: number;
  first?: boolean;
  follow?: boolean;
  whitelist?: FlowFilter[];
  blacklist?: FlowFilter[];
  since?: string;
  until?: string;
  /** google.protobuf.FieldMask as protojson: comma-separated lowerCamel paths into Flow ("time,source.podName"). */
  field_mask?: string;
  /** The field mask's older place (Cilium ≤ 1.15 clients). */
  experimental?: { field_mask?: string };
}
