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

/** Every FlowFilter field compileOne applies. */
const SUPPORTED_FIELDS = new Set<string>([
  'uuid', 'event_type', 'verdict', 'drop_reason_desc', 'reply', 'source_identity', 'destination_identity', 'protocol',
  'source_ip', 'destination_ip', 'source_ip_xlated', 'source_pod', 'destination_pod', 'source_workload',
  'destination_workload', 'source_service', 'destination_service', 'source_fqdn', 'destination_fqdn', 'dns_query',
  'source_label', 'destination_label', 'node_labels', 'source_port', 'destination_port', 'http_status_code',
  'http_method', 'http_path', 'http_url', 'http_header', 'tcp_flags', 'node_name', 'source_cluster_name',
  'destination_cluster_name', 'ip_version', 'trace_id', 'traffic_direction', 'interface',
]);

/** Whether a decoded proto value differs from its default (unset). */
function hasValue(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.values(v).some(hasValue);
  return true;
}

function compileOne(f: FlowFilter, cache?: Re2Cache): Predicate[] {
  // A criterion we cannot apply must not be dropped silently: the result would hold flows it excludes.
  for (const [key, value] of Object.entries(f)) {
    if (!SUPPORTED_FIELDS.has(key) && hasValue(value)) {
      throw new FilterValueError(key, JSON.stringify(value), 'this filter is not supported by hubble-lab');
    }
  }
  const ps: Predicate[] = [];
  if (set(f.uuid)) {
    const ids = new Set(f.uuid);
    ps.push((flow) => flow !== NO_FLOW && ids.has(flow.uuid ?? ''));
  }
  if (set(f.event_type)) ps.push(compileEventTypes(f.event_type));
  if (set(f.verdict)) {
    const verdicts = enumNames('verdict', 'flow.Verdict', f.verdict);
    ps.push((flow) => flow !== NO_FLOW && verdicts.has(flow.verdict ?? 'VERDICT_UNKNOWN'));
  }
  if (set(f.drop_reason_desc)) {
    const reasons = enumNames('drop_reason_desc', 'flow.DropReason', f.drop_reason_desc);
    ps.push((flow) => flow.verdict === 'DROPPED' && reasons.has(flow.drop_reason_desc ?? 'DROP_REASON_UNKNOWN'));
  }
  if (set(f.reply)) {
    const replies = f.reply;
    ps.push((flow) => {
      // As Hubble: a drop with unknown direction counts as a request, any other unknown-direction flow never matches.
      if (flow.is_reply === undefined && flow.verdict !== 'DROPPED') return false;
      return replies.includes(flow.is_reply ?? false);
    });
  }
  if (set(f.source_identity)) ps.push(compileIdentities(f.source_identity, 'source'));
  if (set(f.destination_identity)) ps.push(compileIdentities(f.destination_identity, 'destination'));
  if (set(f.protocol)) ps.push(compileProtocols(f.protocol));
  if (set(f.source_ip)) {
    const m = compileIPs('source_ip', f.source_ip);
    ps.push((flow) => m(flow.IP?.source));
  }
  if (set(f.destination_ip)) {
    const m = compileIPs('destination_ip', f.destination_ip);
    ps.push((flow) => m(flow.IP?.destination));
  }
  if (set(f.source_ip_xlated)) {
    const m = compileIPs('source_ip_xlated', f.source_ip_xlated);
    ps.push((flow) => m(flow.IP?.source_xlated));
  }
  if (set(f.source_pod)) {
    const m = compileNamespacedNames('source_pod', f.source_pod);
    ps.push((flow) => m(flow.source?.namespace ?? '', flow.source?.pod_name ?? ''));
  }
  if (set(f.destination_pod)) {
    const m = compileNamespacedNames('destination_pod', f.destination_pod);
    ps.push((flow) => m(flow.destination?.namespace ?? '', flow.destination?.pod_name ?? ''));
  }
  if (set(f.source_workload)) ps.push(compileWorkloads(f.source_workload, 'source'));
  if (set(f.destination_workload)) ps.push(compileWorkloads(f.destination_workload, 'destination'));
  if (set(f.source_service)) {
    const m = compileNamespacedNames('source_service', f.source_service);
    ps.push((flow) => m(flow.source_service?.namespace ?? '', flow.source_service?.name ?? ''));
  }
  if (set(f.destination_service)) {
    const m = compileNamespacedNames('destination_service', f.destination_service);
    ps.push((flow) => m(flow.destination_service?.namespace ?? '', flow.destination_service?.name ?? ''));
  }
  if (set(f.source_fqdn)) ps.push(compileFqdns('source_fqdn', f.source_fqdn, 'source_names'));
  if (set(f.destination_fqdn)) ps.push(compileFqdns('destination_fqdn', f.destination_fqdn, 'destination_names'));
  if (set(f.dns_query)) {
    const res = compileRegexes('dns_query', f.dns_query, cache);
    ps.push((flow) => {
      const dns = flow.l7?.dns;
      return dns !== undefined && anyMatches(res, dns.query ?? '');
    });
  }
  if (set(f.source_label)) {
    const m = compiling('source_label', f.source_label.join(', '), () => compileLabelSelectors(f.source_label!));
    ps.push((flow) => m(flow.source?.labels));
  }
  if (set(f.destination_label)) {
    const m = compiling('destination_label', f.destination_label.join(', '), () => compileLabelSelectors(f.destination_label!));
    ps.push((flow) => m(flow.destination?.labels));
  }
  if (set(f.node_labels)) {
    const m = compiling('node_labels', f.node_labels.join(', '), () => compileLabelSelectors(f.node_labels!));
    ps.push((flow) => m(flow.node_labels));
  }
  if (set(f.source_port)) {
    const ports = compilePorts('source_port', f.source_port);
    ps.push((flow) => ports.has(port(flow, 'source_port')));
  }
  if (set(f.destination_port)) {
    const ports = compilePorts('destination_port', f.destination_port);
    ps.push((flow) => ports.has(port(flow, 'destination_port')));
  }
  if (set(f.http_status_code)) {
    requireL7EventType(f, 'http status code');
    const full = new Set<number>();
    const prefixes: string[] = [];
    for (const s of f.http_status_code) {
      if (HTTP_STATUS_FULL.test(s)) full.add(Number(s));
      else if (HTTP_STATUS_PREFIX.test(s)) prefixes.push(s.slice(0, -1));
      else throw new FilterValueError('http_status_code', s, 'not a status code (e.g. 404) or prefix (e.g. 5+, 40+)');
    }
    // Prefixes compare on the leading digits of the three-digit code ("5" → 5xx, "40" → 40x).
    const hundreds = new Set(prefixes.filter((p) => p.length === 1).map(Number));
    const tens = new Set(prefixes.filter((p) => p.length === 2).map(Number));
    ps.push((flow) => {
      const code = flow.l7?.http?.code;
      if (!code) return false;
      if (full.has(code)) return true;
      if (code < 100 || code > 999) {
        const text = String(code).padStart(3, '0');
        return prefixes.some((p) => text.startsWith(p));
      }
      return hundreds.has(Math.floor(code / 100)) || tens.has(Math.floor(code / 10));
    });
  }
  if (set(f.http_method)) {
    requireL7EventType(f, 'http method');
    const methods = f.http_method;
    ps.push((flow) => {
      const method = flow.l7?.http?.method;
      if (!method) return false;
      for (const m of methods) if (equalFold(method, m)) return true;
      return false;
    });
  }
  if (set(f.http_path)) {
    requireL7EventType(f, 'http path');
    const res = compileRegexes('http_path', f.http_path, cache);
    ps.push((flow) => {
      const url = flow.l7?.http?.url;
      if (!url) return false;
      const path = requestPath(url);
      return path !== undefined && anyMatches(res, path);
    });
  }
  if (set(f.http_url)) {
    requireL7EventType(f, 'http url');
    const res = compileRegexes('http_url', f.http_url, cache);
    ps.push((flow) => {
      const url = flow.l7?.http?.url;
      return !!url && anyMatches(res, url);
    });
  }
  if (set(f.http_header)) {
    requireL7EventType(f, 'http headers');
    const headers = f.http_header;
    ps.push((flow) => {
      const have = flow.l7?.http?.headers;
      return !!have && headerMatches(headers, have);
    });
  }
  if (set(f.tcp_flags)) {
    const wanted = f.tcp_flags;
    ps.push((flow) => {
      const have = flow.l4?.TCP?.flags;
      if (!have) return false;
      for (const w of wanted) if (flagsCovered(w, have)) return true;
      return false;
    });
  }
  if (set(f.node_name)) {
    const re = compiling('node_name', f.node_name.join(', '), () => compileNodeNamePatterns(f.node_name!));
    // Flows of one node arrive in runs: remember the last answer.
    let lastName: string | undefined;
    let lastResult = false;
    ps.push((flow) => {
      const name = flow.node_name;
      if (!name) return false;
      if (name === lastName) return lastResult;
      lastName = name;
      lastResult = re.test(name.includes('/') ? name : `default/${name}`);
      return lastResult;
    });
  }
  if (set(f.source_cluster_name) || set(f.destination_cluster_name)) {
    for (const side of ['source', 'destination'] as const) {
      const names = f[`${side}_cluster_name`];
      if (!set(names)) continue;
      if (names.includes('')) throw new FilterValueError(`${side}_cluster_name`, '', 'name must not be empty');
      const wanted = new Set(names);
      ps.push((flow) => wanted.has(flow[side]?.cluster_name ?? ''));
    }
  }
  if (set(f.ip_version)) {
    const versions = enumNames('ip_version', 'flow.IPVersion', f.ip_version);
    ps.push((flow) => flow !== NO_FLOW && versions.has(flow.IP?.ipVersion ?? 'IP_NOT_USED'));
  }
  if (set(f.trace_id)) {
    const ids = new Set(f.trace_id);
    ps.push((flow) => ids.has(flow.trace_context?.parent?.trace_id ?? ''));
  }
  if (set(f.traffic_direction)) {
    const directions = enumNames('traffic_direction', 'flow.TrafficDirection', f.traffic_direction);
    ps.push((flow) => flow !== NO_FLOW && directions.has(flow.traffic_direction ?? 'TRAFFIC_DIRECTION_UNKNOWN'));
  }
  if (set(f.interface)) {
    const ifaces = f.interface;
    ps.push((flow) => {
      const iface = flow.interface;
      if (!iface) return false;
      for (const want of ifaces) {
        if (want.index && want.index > 0 && want.index !== (iface.index ?? 0)) continue;
        if (want.name && want.name !== (iface.name ?? '')) continue;
        return true;
      }
      return false;
    });
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
