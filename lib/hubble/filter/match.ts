// A local GetFlows filter: FlowFilter lists compiled once into a predicate with the Hubble server's semantics
// (whitelist filters OR, blacklist filters NOR, fields of one filter AND, values of one field OR).
import type { Endpoint, EventTypeFilter, Flow, FlowFilter, HTTPHeader, TCPFlags, Workload } from '../../flows/types.ts';
import { UsageError } from '../../errors.ts';
import { parseCidr, type Cidr } from './ip.ts';
import { compileLabelSelectors, SelectorError } from './labels.ts';
import { compileFqdnPatterns, compileNodeNamePatterns, PatternError } from './patterns.ts';
import { compileRe2, Re2Error, type Re2 } from './re2.ts';
import { enumName, MESSAGE_TYPE_ACCESS_LOG } from './tables.ts';

type Predicate = (flow: Flow) => boolean;

/**
 * What to match a record that carries no flow against (lost events, node status): Hubble filters those as a nil
 * Flow, which is an empty flow except that the checks needing a flow (uuid, verdict, drop reason, direction,
 * IP version) never match it.
 */
export const NO_FLOW: Flow = Object.freeze({});

/** Longest part of an offending value quoted in a message: a client may send megabytes of it. */
const QUOTED_VALUE_MAX = 200;

/** A value for a one-line message: cut to its first characters, with its full length, when long. */
export function quoteValue(value: string): string {
  if (value.length <= QUOTED_VALUE_MAX) return `"${value}"`;
  return `"${value.slice(0, QUOTED_VALUE_MAX)}…" (${value.length} characters)`;
}

/** A FlowFilter value the server would reject. `field` is the proto field name, `value` the offending value. */
export class FilterValueError extends UsageError {
  readonly field: string;
  readonly value: string;
  readonly reason: string;
  constructor(field: string, value: string, reason: string) {
    super(`invalid ${field} filter ${quoteValue(value)}: ${reason}`);
    this.field = field;
    this.value = value;
    this.reason = reason;
  }
}

function compiling<T>(field: string, value: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof Re2Error || err instanceof SelectorError || err instanceof PatternError) {
      throw new FilterValueError(field, value, err.message);
    }
    throw err;
  }
}

// ---- IP ----

/** Exact addresses compare as strings (as hubble does); CIDRs by containment. */
export function compileIPs(field: string, ips: readonly string[]): (ip: string | undefined) => boolean {
  const exact = new Set<string>();
  const cidrs: Cidr[] = [];
  for (const ip of ips) {
    if (ip.includes('/')) {
      const cidr = parseCidr(ip);
      if (!cidr) throw new FilterValueError(field, ip, 'not a valid CIDR');
      cidrs.push(cidr);
    } else {
      if (!parseCidr(`${ip}/${ip.includes(':') ? 128 : 32}`)) throw new FilterValueError(field, ip, 'not a valid IP address');
      exact.add(ip);
    }
  }
  return (ip) => {
    if (!ip) return false;
    if (exact.has(ip)) return true;
    for (const c of cidrs) if (c.contains(ip)) return true;
    return false;
  };
}

// ---- pods and services: `[namespace/]prefix`, namespace `default` when omitted ----

function parseNamespaceName(text: string): [ns: string, name: string] {
  const parts = text.split('/');
  const ns = parts[0]!;
  if (parts.length > 1) return [ns, parts[1]!];
  if (ns === '') return ['', ''];
  return ['default', ns];
}

function compileNamespacedNames(field: string, names: readonly string[]): (ns: string, name: string) => boolean {
  const filters = names.map((text) => {
    const [ns, prefix] = parseNamespaceName(text);
    if (ns === '' && prefix === '') throw new FilterValueError(field, text, 'must be [namespace/][<name>]');
    return { ns, prefix };
  });
  return (ns, name) => {
    if (ns === '' && name === '') return false;
    for (const f of filters) if (f.ns === ns && (f.prefix === '' || name.startsWith(f.prefix))) return true;
    return false;
  };
}

// ---- ports ----

function port(flow: Flow, side: 'source_port' | 'destination_port'): number {
  const l4 = flow.l4;
  if (!l4) return -1;
  const pair = l4.TCP ?? l4.UDP ?? l4.SCTP;
  return pair ? (pair[side] ?? 0) : -1;
}

function compilePorts(field: string, ports: readonly string[]): Set<number> {
  const out = new Set<number>();
  for (const p of ports) {
    if (!/^\d+$/.test(p) || Number(p) > 65535) throw new FilterValueError(field, p, 'not a port number (0–65535)');
    out.add(Number(p));
  }
  return out;
}

// ---- HTTP ----

const HTTP_STATUS_FULL = /^[1-5][0-9]{2}$/;
const HTTP_STATUS_PREFIX = /^[1-5][0-9]?\+$/;

/** ASCII case-insensitive equality without allocating (Go's strings.EqualFold for the ASCII methods HTTP uses). */
function equalFold(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x > 127 || y > 127) return a.toLowerCase() === b.toLowerCase();
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x !== y) return false;
  }
  return true;
}

/** The path of an HTTP request URL as Go's url.ParseRequestURI returns it; undefined when Go would reject the URL. */
export function requestPath(url: string): string | undefined {
  let rest = url;
  const query = rest.indexOf('?');
  if (query >= 0) rest = rest.slice(0, query);
  let raw: string;
  if (rest.startsWith('/')) {
    raw = rest;
  } else {
    const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(rest);
    if (!scheme) return undefined;
    rest = rest.slice(scheme[0].length);
    if (rest.startsWith('//')) {
      const slash = rest.indexOf('/', 2);
      raw = slash < 0 ? '' : rest.slice(slash);
    } else if (rest.startsWith('/')) {
      raw = rest;
    } else {
      return ''; // opaque URL such as mailto:x
    }
  }
  if (/[\x00-\x1f\x7f]/.test(url)) return undefined;
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function headerMatches(filters: readonly HTTPHeader[], headers: readonly HTTPHeader[]): boolean {
  for (const h of headers) {
    for (const f of filters) if ((f.key ?? '') === (h.key ?? '') && (f.value ?? '') === (h.value ?? '')) return true;
  }
  return false;
}

// ---- TCP flags ----

const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'] as const;

function flagsCovered(want: TCPFlags, have: TCPFlags): boolean {
  for (const name of TCP_FLAG_NAMES) if (want[name] && !have[name]) return false;
  return true;
}

// ---- enums given as names or numbers ----

function enumNames(field: string, enumType: string, values: readonly (string | number)[]): Set<string> {
  const out = new Set<string>();
  for (const v of values) {
    const name = enumName(enumType, v);
    if (name === undefined) throw new FilterValueError(field, String(v), `not a ${enumType.replace('flow.', '')} value`);
    out.add(name);
  }
  return out;
}

// ---- one FlowFilter ----

const L4_PROTOCOLS = new Set(['icmp', 'icmpv4', 'icmpv6', 'tcp', 'udp', 'sctp']);
const L7_PROTOCOLS = new Set(['dns', 'http', 'kafka']);

function compileProtocols(values: readonly string[]): Predicate {
  const wanted = new Set<string>();
  for (const p of values) {
    const proto = p.toLowerCase();
    if (!L4_PROTOCOLS.has(proto) && !L7_PROTOCOLS.has(proto)) {
      throw new FilterValueError('protocol', p, 'unknown protocol (one of tcp, udp, sctp, icmp, icmpv4, icmpv6, http, dns, kafka)');
    }
    wanted.add(proto);
  }
  const icmp = wanted.has('icmp');
  const v4 = icmp || wanted.has('icmpv4');
  const v6 = icmp || wanted.has('icmpv6');
  const tcp = wanted.has('tcp');
  const udp = wanted.has('udp');
  const sctp = wanted.has('sctp');
  const dns = wanted.has('dns');
  const http = wanted.has('http');
  const kafka = wanted.has('kafka');
  return (flow) => {
    const l4 = flow.l4;
    if (l4 && ((tcp && l4.TCP) || (udp && l4.UDP) || (sctp && l4.SCTP) || (v4 && l4.ICMPv4) || (v6 && l4.ICMPv6))) return true;
    const l7 = flow.l7;
    return !!l7 && !!((dns && l7.dns) || (http && l7.http) || (kafka && l7.kafka));
  };
}

function compileEventTypes(types: readonly EventTypeFilter[]): Predicate {
  return (flow) => {
    const event = flow.event_type;
    if (!event) return false;
    for (const t of types) {
      if (t.type && t.type !== (event.type ?? 0)) continue;
      if (t.match_sub_type && (t.sub_type ?? 0) !== (event.sub_type ?? 0)) continue;
      return true;
    }
    return false;
  };
}

function compileWorkloads(filters: readonly Workload[], side: 'source' | 'destination'): Predicate {
  return (flow) => {
    const workloads = flow[side]?.workloads;
    if (!workloads) return false;
    for (const w of workloads) {
      for (const f of filters) {
        if ((!f.name || f.name === w.name) && (!f.kind || f.kind === w.kind)) return true;
      }
    }
    return false;
  };
}

function compileIdentities(ids: readonly number[], side: 'source' | 'destination'): Predicate {
  const wanted = new Set(ids);
  return (flow) => {
    const ep: Endpoint | undefined = flow[side];
    return ep !== undefined && wanted.has(ep.identity ?? 0);
  };
}

function compileFqdns(field: string, patterns: readonly string[], side: 'source_names' | 'destination_names'): Predicate {
  const re = compiling(field, patterns.join(', '), () => compileFqdnPatterns(patterns));
  return (flow) => {
    const names = flow[side];
    if (!names) return false;
    for (const n of names) if (re.test(n)) return true;
    return false;
  };
}

/** Patterns already compiled, by pattern: a server compiles a request's patterns ahead, yielding between them. */
export type Re2Cache = ReadonlyMap<string, Re2>;

function compileRegexes(field: string, patterns: readonly string[], cache: Re2Cache | undefined): Re2[] {
  return patterns.map((p) => cache?.get(p) ?? compiling(field, p, () => compileRe2(p)));
}

/** Every regular expression in the filters, with the field it is in, in order. */
export function filterRegexes(filters: readonly FlowFilter[]): { field: string; pattern: string }[] {
  const out: { field: string; pattern: string }[] = [];
  for (const f of filters) {
    for (const field of ['dns_query', 'http_path', 'http_url'] as const) for (const pattern of f[field] ?? []) out.push({ field, pattern });
  }
  return out;
}

/** Compiles one regular expression as a filter of `field` would, for a cache. */
export function compileFilterRegex(field: string, pattern: string): Re2 {
  return compiling(field, pattern, () => compileRe2(pattern));
}

function anyMatches(res: readonly Re2[], text: string): boolean {
  for (const re of res) if (re.test(text)) return true;
  return false;
}

function requireL7EventType(f: FlowFilter, what: string): void {
  const types = f.event_type;
  if (types && types.length > 0 && !types.some((t) => t.type === MESSAGE_TYPE_ACCESS_LOG)) {
    throw new UsageError(`filtering by ${what} requires the event type filter to only match 'l7' events`);
  }
}

const set = <T>(v: readonly T[] | undefined): v is readonly T[] => v !== undefined && v.length > 0;

/** The FlowFilter fields that hold a list of values (all but `experimental`). */
export type FilterField = { [K in keyof FlowFilter]-?: NonNullable<FlowFilter[K]> extends readonly unknown[] ? K : never }[keyof FlowFilter];
/** One value of a FlowFilter list field. */
export type FieldValue<K extends FilterField> = NonNullable<FlowFilter[K]>[number];

/** One field's values → a predicate. `filter` is the whole filter, for the rules that involve another field. */
type FieldCompiler<K extends FilterField> = (values: readonly FieldValue<K>[], filter: FlowFilter, cache: Re2Cache | undefined) => Predicate;

function compileIdentityField(side: 'source' | 'destination'): FieldCompiler<'source_identity' | 'destination_identity'> {
  return (ids) => compileIdentities(ids, side);
}

function compileIPField(
  field: 'source_ip' | 'destination_ip' | 'source_ip_xlated',
  address: 'source' | 'destination' | 'source_xlated',
): FieldCompiler<typeof field> {
  return (ips) => {
    const m = compileIPs(field, ips);
    return (flow) => m(flow.IP?.[address]);
  };
}

function compilePodField(field: 'source_pod' | 'destination_pod', side: 'source' | 'destination'): FieldCompiler<typeof field> {
  return (names) => {
    const m = compileNamespacedNames(field, names);
    return (flow) => m(flow[side]?.namespace ?? '', flow[side]?.pod_name ?? '');
  };
}

function compileServiceField(field: 'source_service' | 'destination_service', service: 'source_service' | 'destination_service'): FieldCompiler<typeof field> {
  return (names) => {
    const m = compileNamespacedNames(field, names);
    return (flow) => m(flow[service]?.namespace ?? '', flow[service]?.name ?? '');
  };
}

function compileLabelField(
  field: 'source_label' | 'destination_label' | 'node_labels',
  labels: (flow: Flow) => readonly string[] | undefined,
): FieldCompiler<typeof field> {
  return (selectors) => {
    const m = compiling(field, selectors.join(', '), () => compileLabelSelectors(selectors));
    return (flow) => m(labels(flow));
  };
}

function compilePortField(field: 'source_port' | 'destination_port'): FieldCompiler<typeof field> {
  return (values) => {
    const ports = compilePorts(field, values);
    return (flow) => ports.has(port(flow, field));
  };
}

function compileClusterField(side: 'source' | 'destination'): FieldCompiler<'source_cluster_name' | 'destination_cluster_name'> {
  const field = `${side}_cluster_name` as const;
  return (names) => {
    if (names.includes('')) throw new FilterValueError(field, '', 'name must not be empty');
    const wanted = new Set(names);
    return (flow) => wanted.has(flow[side]?.cluster_name ?? '');
  };
}

function compileHttpStatus(codes: readonly string[], f: FlowFilter): Predicate {
  requireL7EventType(f, 'http status code');
  const full = new Set<number>();
  const prefixes: string[] = [];
  for (const s of codes) {
    if (HTTP_STATUS_FULL.test(s)) full.add(Number(s));
    else if (HTTP_STATUS_PREFIX.test(s)) prefixes.push(s.slice(0, -1));
    else throw new FilterValueError('http_status_code', s, 'not a status code (e.g. 404) or prefix (e.g. 5+, 40+)');
  }
  // Prefixes compare on the leading digits of the three-digit code ("5" → 5xx, "40" → 40x).
  const hundreds = new Set(prefixes.filter((p) => p.length === 1).map(Number));
  const tens = new Set(prefixes.filter((p) => p.length === 2).map(Number));
  return (flow) => {
    const code = flow.l7?.http?.code;
    if (!code) return false;
    if (full.has(code)) return true;
    if (code < 100 || code > 999) {
      const text = String(code).padStart(3, '0');
      return prefixes.some((p) => text.startsWith(p));
    }
    return hundreds.has(Math.floor(code / 100)) || tens.has(Math.floor(code / 10));
  };
}

function compileNodeNames(patterns: readonly string[]): Predicate {
  const re = compiling('node_name', patterns.join(', '), () => compileNodeNamePatterns(patterns));
  // Flows of one node arrive in runs: remember the last answer.
  let lastName: string | undefined;
  let lastResult = false;
  return (flow) => {
    const name = flow.node_name;
    if (!name) return false;
    if (name === lastName) return lastResult;
    lastName = name;
    lastResult = re.test(name.includes('/') ? name : `default/${name}`);
    return lastResult;
  };
}

/**
 * How each FlowFilter field hubble-lab applies is compiled, in the order its checks run. A field that is not here
 * is refused (SUPPORTED_FIELDS): one we cannot apply must not be dropped silently, the result would hold flows it
 * excludes.
 */
const FIELD_COMPILERS: { [K in FilterField]?: FieldCompiler<K> } = {
  uuid: (uuids) => {
    const ids = new Set(uuids);
    return (flow) => flow !== NO_FLOW && ids.has(flow.uuid ?? '');
  },
  event_type: (types) => compileEventTypes(types),
  verdict: (values) => {
    const verdicts = enumNames('verdict', 'flow.Verdict', values);
    return (flow) => flow !== NO_FLOW && verdicts.has(flow.verdict ?? 'VERDICT_UNKNOWN');
  },
  drop_reason_desc: (values) => {
    const reasons = enumNames('drop_reason_desc', 'flow.DropReason', values);
    return (flow) => flow.verdict === 'DROPPED' && reasons.has(flow.drop_reason_desc ?? 'DROP_REASON_UNKNOWN');
  },
  reply: (replies) => (flow) => {
    // As Hubble: a drop with unknown direction counts as a request, any other unknown-direction flow never matches.
    if (flow.is_reply === undefined && flow.verdict !== 'DROPPED') return false;
    return replies.includes(flow.is_reply ?? false);
  },
  source_identity: compileIdentityField('source'),
  destination_identity: compileIdentityField('destination'),
  protocol: (protocols) => compileProtocols(protocols),
  source_ip: compileIPField('source_ip', 'source'),
  destination_ip: compileIPField('destination_ip', 'destination'),
  source_ip_xlated: compileIPField('source_ip_xlated', 'source_xlated'),
  source_pod: compilePodField('source_pod', 'source'),
  destination_pod: compilePodField('destination_pod', 'destination'),
  source_workload: (workloads) => compileWorkloads(workloads, 'source'),
  destination_workload: (workloads) => compileWorkloads(workloads, 'destination'),
  source_service: compileServiceField('source_service', 'source_service'),
  destination_service: compileServiceField('destination_service', 'destination_service'),
  source_fqdn: (patterns) => compileFqdns('source_fqdn', patterns, 'source_names'),
  destination_fqdn: (patterns) => compileFqdns('destination_fqdn', patterns, 'destination_names'),
  dns_query: (patterns, _f, cache) => {
    const res = compileRegexes('dns_query', patterns, cache);
    return (flow) => {
      const dns = flow.l7?.dns;
      return dns !== undefined && anyMatches(res, dns.query ?? '');
    };
  },
  source_label: compileLabelField('source_label', (flow) => flow.source?.labels),
  destination_label: compileLabelField('destination_label', (flow) => flow.destination?.labels),
  node_labels: compileLabelField('node_labels', (flow) => flow.node_labels),
  source_port: compilePortField('source_port'),
  destination_port: compilePortField('destination_port'),
  http_status_code: compileHttpStatus,
  http_method: (methods, f) => {
    requireL7EventType(f, 'http method');
    return (flow) => {
      const method = flow.l7?.http?.method;
      if (!method) return false;
      for (const m of methods) if (equalFold(method, m)) return true;
      return false;
    };
  },
  http_path: (patterns, f, cache) => {
    requireL7EventType(f, 'http path');
    const res = compileRegexes('http_path', patterns, cache);
    return (flow) => {
      const url = flow.l7?.http?.url;
      if (!url) return false;
      const path = requestPath(url);
      return path !== undefined && anyMatches(res, path);
    };
  },
  http_url: (patterns, f, cache) => {
    requireL7EventType(f, 'http url');
    const res = compileRegexes('http_url', patterns, cache);
    return (flow) => {
      const url = flow.l7?.http?.url;
      return !!url && anyMatches(res, url);
    };
  },
  http_header: (headers, f) => {
    requireL7EventType(f, 'http headers');
    return (flow) => {
      const have = flow.l7?.http?.headers;
      return !!have && headerMatches(headers, have);
    };
  },
  tcp_flags: (wanted) => (flow) => {
    const have = flow.l4?.TCP?.flags;
    if (!have) return false;
    for (const w of wanted) if (flagsCovered(w, have)) return true;
    return false;
  },
  node_name: (patterns) => compileNodeNames(patterns),
  source_cluster_name: compileClusterField('source'),
  destination_cluster_name: compileClusterField('destination'),
  ip_version: (values) => {
    const versions = enumNames('ip_version', 'flow.IPVersion', values);
    return (flow) => flow !== NO_FLOW && versions.has(flow.IP?.ipVersion ?? 'IP_NOT_USED');
  },
  trace_id: (traceIds) => {
    const ids = new Set(traceIds);
    return (flow) => ids.has(flow.trace_context?.parent?.trace_id ?? '');
  },
  traffic_direction: (values) => {
    const directions = enumNames('traffic_direction', 'flow.TrafficDirection', values);
    return (flow) => flow !== NO_FLOW && directions.has(flow.traffic_direction ?? 'TRAFFIC_DIRECTION_UNKNOWN');
  },
  interface: (ifaces) => (flow) => {
    const iface = flow.interface;
    if (!iface) return false;
    for (const want of ifaces) {
      if (want.index && want.index > 0 && want.index !== (iface.index ?? 0)) continue;
      if (want.name && want.name !== (iface.name ?? '')) continue;
      return true;
    }
    return false;
  },
};

/** Every FlowFilter field compileOne applies. */
export const SUPPORTED_FIELDS: ReadonlySet<string> = new Set(Object.keys(FIELD_COMPILERS));

/** Whether a decoded proto value differs from its default (unset). */
function hasValue(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.values(v).some(hasValue);
  return true;
}

function compileOne(f: FlowFilter, cache?: Re2Cache): Predicate[] {
  for (const [key, value] of Object.entries(f)) {
    if (!SUPPORTED_FIELDS.has(key) && hasValue(value)) {
      throw new FilterValueError(key, JSON.stringify(value), 'this filter is not supported by hubble-lab');
    }
  }
  const ps: Predicate[] = [];
  for (const [field, compile] of Object.entries(FIELD_COMPILERS) as [FilterField, FieldCompiler<FilterField>][]) {
    const values = f[field] as readonly FieldValue<FilterField>[] | undefined;
    if (set(values)) ps.push(compile(values, f, cache));
  }
  return ps;
}

function all(ps: Predicate[]): Predicate {
  switch (ps.length) {
    case 0:
      return () => true;
    case 1:
      return ps[0]!;
    case 2: {
      const [a, b] = ps as [Predicate, Predicate];
      return (flow) => a(flow) && b(flow);
    }
    default:
      return (flow) => {
        for (const p of ps) if (!p(flow)) return false;
        return true;
      };
  }
}

function any(ps: Predicate[]): Predicate {
  if (ps.length === 1) return ps[0]!;
  return (flow) => {
    for (const p of ps) if (p(flow)) return true;
    return false;
  };
}

/**
 * Compiles GetFlowsRequest whitelist/blacklist filters into one predicate: true when the flow matches any
 * whitelist filter (or there is none) and no blacklist filter. Throws UsageError (FilterValueError for a bad
 * value) on filters the Hubble server would refuse.
 */
export function compileFlowFilters(whitelist?: FlowFilter[], blacklist?: FlowFilter[], regexes?: Re2Cache): (flow: Flow) => boolean {
  const allow = (whitelist ?? []).map((f) => all(compileOne(f, regexes)));
  const deny = (blacklist ?? []).map((f) => all(compileOne(f, regexes)));
  if (allow.length === 0 && deny.length === 0) return () => true;
  if (deny.length === 0) return any(allow);
  const denied = any(deny);
  if (allow.length === 0) return (flow) => !denied(flow);
  const allowed = any(allow);
  return (flow) => allowed(flow) && !denied(flow);
}
