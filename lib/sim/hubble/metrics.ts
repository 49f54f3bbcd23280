// Hubble's flow metrics inside a sim agent: the handlers Cilium's pkg/hubble/metrics registers (flow, drop, tcp,
// port-distribution, icmp, dns, http/httpV2, policy, flows-to-world) with their names, labels and label values,
// fed every flow the agent records.
import type { Flow } from '../../flows/types.ts';
import { traceObservationPointNames } from '../../hubble/filter/tables.ts';
import type { MetricSpec } from './metrics-config.ts';
import { contextLabelNames, contextLabelValues, parseContextOptions, type ContextOptions } from './metrics-context.ts';
import { MetricsRegistry, type CounterVec } from './metrics-registry.ts';

/** Monitor message types (pkg/monitor/api). */
const msg = { drop: 1, capture: 3, trace: 4, policyVerdict: 5, accessLog: 129 } as const;

/** pkg/monitor/api PolicyMatchType names (lowercased by the policy metric). */
const matchTypes: Record<number, string> = { 0: 'none', 1: 'L3-Only', 2: 'L3-L4', 3: 'L4-Only', 4: 'all', 5: 'L3-Proto', 6: 'Proto-Only' };

/** The DNS rcode names Hubble's dns metric uses. */
const rcodeNames: Record<number, string> = {
  0: 'No Error',
  1: 'Format Error',
  2: 'Server Failure',
  3: 'Non-Existent Domain',
  4: 'Not Implemented',
  5: 'Query Refused',
  6: 'Name Exists when it should not',
  7: 'RR Set Exists when it should not',
  8: 'RR Set that should exist does not',
  9: 'Not Authorized',
  10: 'Name not contained in zone',
  11: 'DSO-TYPE Not Implemented',
  16: 'Bad OPT Version',
  17: 'Key not recognized',
  18: 'Signature out of time window',
  19: 'Bad TKEY Mode',
  20: 'Duplicate key name',
  21: 'Algorithm not supported',
  22: 'Bad Truncation',
  23: 'Bad/missing Server Cookie',
};

/** ICMPv4/v6 type names as gopacket prints them for the common types (others: the number). */
const icmp4Types: Record<number, string> = { 0: 'EchoReply', 3: 'DestinationUnreachable', 8: 'EchoRequest', 11: 'TimeExceeded' };
const icmp6Types: Record<number, string> = { 1: 'DestinationUnreachable', 3: 'TimeExceeded', 128: 'EchoRequest', 129: 'EchoReply' };

/** Hubble's v1.FlowProtocol: the L7 protocol of access-log flows, else the L4 protocol. */
export function flowProtocol(flow: Flow): string {
  const type = flow.event_type?.type;
  if (type === msg.accessLog) {
    if (flow.l7?.dns) return 'DNS';
    if (flow.l7?.http) return 'HTTP';
    if (flow.l7?.kafka) return 'Kafka';
    return 'Unknown L7';
  }
  if (type === msg.drop || type === msg.trace || type === msg.policyVerdict || type === msg.capture) {
    const l4 = flow.l4;
    if (l4?.TCP) return 'TCP';
    if (l4?.UDP) return 'UDP';
    if (l4?.ICMPv4) return 'ICMPv4';
    if (l4?.ICMPv6) return 'ICMPv6';
    if (l4?.SCTP) return 'SCTP';
    if (l4?.VRRP) return 'VRRP';
    if (l4?.IGMP) return 'IGMP';
    return 'Unknown L4';
  }
  return 'Unknown flow';
}

type Handler = (flow: Flow) => void;

interface Plugin {
  (registry: MetricsRegistry, ctx: ContextOptions, options: Record<string, string>, exemplarsOn: boolean): Handler;
}

function hasOption(options: Record<string, string>, key: string): boolean {
  return Object.keys(options).some((k) => k.toLowerCase() === key.toLowerCase());
}

const flowPlugin: Plugin = (reg, ctx) => {
  const flows = reg.counter('hubble_flows_processed_total', 'Total number of flows processed', [
    'protocol',
    'type',
    'subtype',
    'verdict',
    ...contextLabelNames(ctx),
  ]);
  return (flow) => {
    const type = flow.event_type?.type;
    let typeName: string;
    let subType = '';
    if (type === msg.accessLog) {
      typeName = 'L7';
      if (flow.l7?.dns) subType = 'DNS';
      else if (flow.l7?.http) subType = 'HTTP';
    } else if (type === msg.drop) typeName = 'Drop';
    else if (type === msg.capture) typeName = 'Capture';
    else if (type === msg.trace) {
      typeName = 'Trace';
      subType = traceObservationPointNames[flow.event_type?.sub_type ?? 0] ?? '';
    } else if (type === msg.policyVerdict) typeName = 'PolicyVerdict';
    else {
      typeName = 'Unknown';
      subType = String(type ?? 0);
    }
    flows.inc([flowProtocol(flow), typeName, subType, flow.verdict ?? 'VERDICT_UNKNOWN', ...contextLabelValues(ctx, flow)]);
  };
};

const dropPlugin: Plugin = (reg, ctx) => {
  const drops = reg.counter('hubble_drop_total', 'Number of drops', [...contextLabelNames(ctx), 'reason', 'protocol']);
  return (flow) => {
    if (flow.verdict !== 'DROPPED') return;
    drops.inc([...contextLabelValues(ctx, flow), flow.drop_reason_desc ?? 'DROP_REASON_UNKNOWN', flowProtocol(flow)]);
  };
};

const tcpPlugin: Plugin = (reg, ctx) => {
  const flags = reg.counter('hubble_tcp_flags_total', 'TCP flag occurrences', ['flag', 'family', ...contextLabelNames(ctx)]);
  return (flow) => {
    if (flow.verdict !== 'FORWARDED' && flow.verdict !== 'REDIRECTED') return;
    const f = flow.l4?.TCP?.flags;
    if (!flow.IP || !f) return;
    const rest = [flow.IP.ipVersion ?? 'IP_NOT_USED', ...contextLabelValues(ctx, flow)];
    if (f.FIN) flags.inc(['FIN', ...rest]);
    if (f.SYN) flags.inc([f.ACK ? 'SYN-ACK' : 'SYN', ...rest]);
    if (f.RST) flags.inc(['RST', ...rest]);
  };
};

const portPlugin: Plugin = (reg, ctx) => {
  const ports = reg.counter('hubble_port_distribution_total', 'Numbers of packets distributed by destination port', [
    'protocol',
    'port',
    ...contextLabelNames(ctx),
  ]);
  return (flow) => {
    // A flow not known to be a request is left out, so ephemeral reply ports do not count.
    if ((flow.verdict !== 'FORWARDED' && flow.verdict !== 'REDIRECTED') || !flow.l4 || flow.is_reply !== false) return;
    const values = contextLabelValues(ctx, flow);
    const l4 = flow.l4;
    if (l4.TCP) ports.inc(['TCP', String(l4.TCP.destination_port ?? 0), ...values]);
    if (l4.UDP) ports.inc(['UDP', String(l4.UDP.destination_port ?? 0), ...values]);
    if (l4.SCTP) ports.inc(['SCTP', String(l4.SCTP.destination_port ?? 0), ...values]);
    if (l4.ICMPv4) ports.inc(['ICMPv4', '0', ...values]);
    if (l4.ICMPv6) ports.inc(['ICMPv6', '0', ...values]);
  };
};

const icmpPlugin: Plugin = (reg, ctx) => {
  const icmp = reg.counter('hubble_icmp_total', 'Number of ICMP messages', ['family', 'type', ...contextLabelNames(ctx)]);
  return (flow) => {
    const l4 = flow.l4;
    if (!l4) return;
    // Cilium labels ICMPv6 messages with family "IPv4" too; kept, so queries written against Cilium match.
    if (l4.ICMPv4) icmp.inc(['IPv4', icmp4Types[l4.ICMPv4.type ?? 0] ?? String(l4.ICMPv4.type ?? 0), ...contextLabelValues(ctx, flow)]);
    if (l4.ICMPv6) icmp.inc(['IPv4', icmp6Types[l4.ICMPv6.type ?? 0] ?? String(l4.ICMPv6.type ?? 0), ...contextLabelValues(ctx, flow)]);
  };
};

const dnsPlugin: Plugin = (reg, ctx, options) => {
  const withQuery = hasOption(options, 'query');
  const ignoreAAAA = hasOption(options, 'ignoreAAAA');
  const names = contextLabelNames(ctx);
  const qr = [...names, 'rcode', 'qtypes', 'ips_returned', ...(withQuery ? ['query'] : [])];
  // Cilium gives all three the same help text.
  const queries = reg.counter('hubble_dns_queries_total', 'Number of DNS queries observed', qr);
  const responses = reg.counter('hubble_dns_responses_total', 'Number of DNS queries observed', qr);
  const types = reg.counter('hubble_dns_response_types_total', 'Number of DNS queries observed', [...names, 'type', 'qtypes', ...(withQuery ? ['query'] : [])]);
  return (flow) => {
    const dns = flow.l7?.dns;
    if (!dns) return;
    const qtypesList = dns.qtypes ?? [];
    if (ignoreAAAA && qtypesList.length === 1 && qtypesList[0] === 'AAAA') return;
    const values = contextLabelValues(ctx, flow);
    const qtypes = qtypesList.join(',');
    const ips = String((dns.ips ?? []).length);
    const q = withQuery ? [dns.query ?? ''] : [];
    if (flow.verdict === 'DROPPED') queries.inc([...values, 'Policy denied', qtypes, ips, ...q]);
    else if (!flow.is_reply) queries.inc([...values, '', qtypes, ips, ...q]);
    else {
      responses.inc([...values, rcodeNames[dns.rcode ?? 0] ?? '', qtypes, ips, ...q]);
      for (const rr of dns.rrtypes ?? []) types.inc([...values, rr, qtypes, ...q]);
    }
  };
};

function reporter(flow: Flow): string {
  return flow.traffic_direction === 'EGRESS' ? 'client' : flow.traffic_direction === 'INGRESS' ? 'server' : 'unknown';
}

function latencySeconds(flow: Flow): number {
  return Number(flow.l7?.latency_ns ?? 0) / 1e9;
}

const httpV2Plugin: Plugin = (reg, ctx, options, exemplarsOn) => {
  const exemplars = exemplarsOn && options['exemplars'] === 'true';
  const names = contextLabelNames(ctx);
  const requests = reg.counter('hubble_http_requests_total', 'Count of HTTP requests', [...names, 'method', 'protocol', 'status', 'reporter']);
  const duration = reg.histogram('hubble_http_request_duration_seconds', 'Quantiles of HTTP request duration in seconds', [...names, 'method', 'reporter']);
  return (flow) => {
    const http = flow.l7?.http;
    if (!http || flow.l7?.type !== 'RESPONSE') return;
    // The response flow runs server → client: inverted, the labels name the request's client as the source.
    const values = contextLabelValues(ctx, flow, true);
    const traceId = exemplars ? flow.trace_context?.parent?.trace_id : undefined;
    const ex = traceId ? { traceID: traceId } : undefined;
    requests.inc([...values, http.method ?? '', http.protocol ?? '', String(http.code ?? 0), reporter(flow)], ex);
    duration.observe([...values, http.method ?? '', reporter(flow)], latencySeconds(flow), ex);
  };
};

const httpV1Plugin: Plugin = (reg, ctx, options, exemplarsOn) => {
  const exemplars = exemplarsOn && options['exemplars'] === 'true';
  const names = contextLabelNames(ctx);
  const requests = reg.counter('hubble_http_requests_total', 'Count of HTTP requests', [...names, 'method', 'protocol', 'reporter']);
  const responses = reg.counter('hubble_http_responses_total', 'Count of HTTP responses', [...names, 'method', 'protocol', 'status', 'reporter']);
  const duration = reg.histogram('hubble_http_request_duration_seconds', 'Quantiles of HTTP request duration in seconds', [...names, 'method', 'reporter']);
  return (flow) => {
    const http = flow.l7?.http;
    if (!http) return;
    const values = contextLabelValues(ctx, flow);
    const traceId = exemplars ? flow.trace_context?.parent?.trace_id : undefined;
    const ex = traceId ? { traceID: traceId } : undefined;
    if (flow.l7?.type === 'REQUEST') requests.inc([...values, http.method ?? '', http.protocol ?? '', reporter(flow)], ex);
    else if (flow.l7?.type === 'RESPONSE') {
      responses.inc([...values, http.method ?? '', http.protocol ?? '', String(http.code ?? 0), reporter(flow)], ex);
      duration.observe([...values, http.method ?? '', reporter(flow)], latencySeconds(flow), ex);
    }
  };
};

const policyPlugin: Plugin = (reg, ctx) => {
  const verdicts = reg.counter('hubble_policy_verdicts_total', 'Total number of Cilium network policy verdicts', [
    'direction',
    'match',
    'action',
    ...contextLabelNames(ctx),
  ]);
  return (flow) => {
    const type = flow.event_type?.type;
    const direction = (flow.traffic_direction ?? 'TRAFFIC_DIRECTION_UNKNOWN').toLowerCase();
    const action = (flow.verdict ?? 'VERDICT_UNKNOWN').toLowerCase();
    if (type === msg.policyVerdict) {
      // The host may reach any local endpoint: its verdicts are not counted (reserved identity 1).
      if (flow.source?.identity === 1) return;
      const match = (matchTypes[flow.policy_match_type ?? 0] ?? 'unknown').toLowerCase();
      verdicts.inc([direction, match, action, ...contextLabelValues(ctx, flow)]);
    } else if (type === msg.accessLog) {
      const l7 = flow.l7;
      const sub = l7?.dns ? 'dns' : l7?.http ? 'http' : l7?.kafka ? 'kafka' : '';
      verdicts.inc([direction, `l7/${sub}`, action, ...contextLabelValues(ctx, flow)]);
    }
  };
};

const flowsToWorldPlugin: Plugin = (reg, ctx, options) => {
  const anyDrop = hasOption(options, 'any-drop');
  const port = hasOption(options, 'port');
  const synOnly = hasOption(options, 'syn-only');
  const world = reg.counter('hubble_flows_to_world_total', 'Total number of flows to reserved:world', [
    'protocol',
    'verdict',
    ...(port ? ['port'] : []),
    ...contextLabelNames(ctx),
  ]);
  return (flow) => {
    const l4 = flow.l4;
    if (!flow.destination?.labels?.includes('reserved:world') || !flow.event_type || !l4) return;
    if (flow.verdict === 'DROPPED' && !anyDrop && flow.drop_reason_desc !== 'POLICY_DENIED') return;
    const isReply = flow.is_reply === true;
    if (flow.verdict !== 'DROPPED' && isReply) return;
    if (synOnly && (!l4.TCP?.flags?.SYN || isReply)) return;
    const p = l4.TCP?.destination_port ?? l4.UDP?.destination_port ?? l4.SCTP?.destination_port;
    world.inc([flowProtocol(flow), flow.verdict ?? 'VERDICT_UNKNOWN', ...(port ? [p === undefined ? '' : String(p)] : []), ...contextLabelValues(ctx, flow)]);
  };
};

const plugins: Record<string, Plugin | undefined> = {
  flow: flowPlugin,
  drop: dropPlugin,
  tcp: tcpPlugin,
  'port-distribution': portPlugin,
  icmp: icmpPlugin,
  dns: dnsPlugin,
  http: httpV1Plugin,
  httpV2: httpV2Plugin,
  policy: policyPlugin,
  'flows-to-world': flowsToWorldPlugin,
};

/** One agent's Hubble metrics: configured from `hubble-metrics`, fed each recorded flow, rendered on scrape. */
export class HubbleMetrics {
  readonly registry = new MetricsRegistry();
  private readonly handlers: Handler[] = [];
  readonly lostEvents: CounterVec;

  /** Throws an AgentConfigError for a context option Cilium refuses. */
  constructor(specs: MetricSpec[], opts: { openMetrics: boolean }) {
    for (const spec of specs) {
      const plugin = plugins[spec.name];
      if (!plugin) continue;
      this.handlers.push(plugin(this.registry, parseContextOptions(spec.options), spec.options, opts.openMetrics));
    }
    this.lostEvents = this.registry.counter('hubble_lost_events_total', 'Number of lost events', ['source']);
  }

  process(flow: Flow): void {
    for (const h of this.handlers) h(flow);
  }

  render(openMetrics: boolean): string {
    return this.registry.render(openMetrics);
  }
}
