// `hubble observe` selector and filter flags, and their translation into a GetFlowsRequest exactly as the hubble CLI
// builds it (left/right filters for either-side flags, namespace modifiers, --not into the blacklist, conflicts).
import type { OptionSpec, ParsedArgs } from '../../args.ts';
import { UsageError } from '../../errors.ts';
import type { FlowFilter, GetFlowsRequest, HTTPHeader, TCPFlags, TrafficDirection, Verdict, Workload } from '../../flows/types.ts';
import { formatTimestamp } from '../grpc/timestamp.ts';
import { compileFlowFilters, FilterValueError, type FieldValue, type FilterField } from './match.ts';
import { parseRawFilters, RawFilterError } from './raw.ts';
import { parseHubbleTime } from './time.ts';
import {
  agentEventSubtypes,
  enumValues,
  flowEventTypes,
  MESSAGE_TYPE_AGENT,
  MESSAGE_TYPE_TRACE,
  messageTypes,
  reservedIdentities,
  traceObservationPoints,
} from './tables.ts';

/** `--last` when nothing else selects flows from a server, as hubble's defaults.FlowPrintCount. */
export const DEFAULT_LAST = 20;
/** `number` for `--all` (hubble sends the largest uint64; any number above the buffer size means all). */
export const ALL_FLOWS = Number.MAX_SAFE_INTEGER;

const SELECTORS = 'Selectors';
const FILTERS = 'Filters (repeat a flag to OR its values; different flags AND; --not negates the next one)';

export const observeSelectorOptions: OptionSpec[] = [
  {
    name: 'last',
    type: 'number',
    valueName: 'N',
    group: SELECTORS,
    description: `the last N flows (per node through Relay; default ${DEFAULT_LAST} from a server, all from a file)`,
  },
  { name: 'first', type: 'number', valueName: 'N', group: SELECTORS, description: 'the first N flows (per node through Relay)' },
  { name: 'all', type: 'boolean', group: SELECTORS, description: 'every flow in the buffer' },
  { name: 'follow', short: 'f', type: 'boolean', group: SELECTORS, description: 'keep streaming new flows (ignored for a file)' },
  {
    name: 'since',
    type: 'string',
    valueName: 'TIME',
    group: SELECTORS,
    description: 'flows from TIME: a duration back from now (30s, 5m, 1h30m) or a date (RFC 3339, 2024-05-01, 2024-05-01T12Z)',
  },
  { name: 'until', type: 'string', valueName: 'TIME', group: SELECTORS, description: 'flows up to TIME (same forms as --since; ignored with --follow)' },
];

/** Which filter an observe flag fills: the source's, the destination's, either (two filters ORed), or neither. */
export type FlagSide = 'from' | 'to' | 'either' | 'none';

/** The FlowFilter fields that come as a source_ and a destination_ pair, by the part after the prefix. */
type SidedField = {
  [K in FilterField]: K extends `source_${infer B}` ? (`destination_${B}` extends FilterField ? B : never) : never;
}[FilterField];

/** What a value parser can ask of the request being built besides giving a value. */
interface FlagContext {
  /** `--verdict DENIED`: policy drops (DROPPED with a policy drop reason), with a note that Hubble has no such verdict. */
  policyDrops(): void;
}

/** A flag's value as its FlowFilter field holds it; undefined when the flag adds nothing to the field. */
type Parser<V> = (value: string, ctx: FlagContext) => V | undefined;
/** Flags of string fields take the value as it is unless they say otherwise. */
type ParseColumn<V> = string extends V ? { parse?: Parser<V> } : { parse: Parser<V> };

interface FlagText {
  name: string;
  short?: string;
  /** The value's name in the help; a flag without one (--ipv4) is a boolean. */
  valueName?: string;
  description: string;
  /** A value the flag accepts: the tests build and compile a request from every row with it. */
  example?: string;
  /**
   * Flags this one cannot be combined with in one list (allowlist or blacklist): hubble's conflict groups. The
   * error names this flag first, as hubble does.
   */
  excludes?: readonly string[];
}

type SidedFlag = { [B in SidedField]: FlagText & { side: Exclude<FlagSide, 'none'>; field: B } & ParseColumn<FieldValue<`source_${B}`>> }[SidedField];
type PlainFlag = { [K in FilterField]: FlagText & { side: 'none'; field: K } & ParseColumn<FieldValue<K>> }[FilterField];
/** Namespace flags fill no field of their own: they complete the pod and service fields of their side(s). */
type NamespaceFlag = FlagText & { side: Exclude<FlagSide, 'none'>; field: 'namespace' };

export type FilterFlag = SidedFlag | PlainFlag | NamespaceFlag;

/** The fields a namespace flag completes: their values are checked once the request is built, namespaces added. */
const NAMESPACED_FIELDS: ReadonlySet<string> = new Set(['pod', 'service']);

const POLICY_DROP_REASONS = ['POLICY_DENIED', 'POLICY_DENY'];

function parseVerdict(value: string, ctx: FlagContext): Verdict | undefined {
  if (value === 'DENIED') {
    ctx.policyDrops();
    return undefined;
  }
  if (!Object.hasOwn(enumValues('flow.Verdict'), value)) {
    const upper = value.toUpperCase();
    throw new UsageError(`invalid --verdict value: ${value}`, {
      hint:
        upper !== value && (Object.hasOwn(enumValues('flow.Verdict'), upper) || upper === 'DENIED')
          ? `verdicts are upper case: --verdict ${upper}`
          : `one of ${Object.keys(enumValues('flow.Verdict'))
              .filter((v) => v !== 'VERDICT_UNKNOWN')
              .join(', ')}`,
    });
  }
  return value as Verdict;
}

function parseDropReason(value: string): string {
  if (value === '') throw new UsageError('empty --drop-reason-desc value');
  if (!Object.hasOwn(enumValues('flow.DropReason'), value)) {
    throw new UsageError(`invalid --drop-reason-desc value: ${value}`, {
      hint: 'drop reasons are upper case, e.g. POLICY_DENIED, POLICY_DENY, STALE_OR_UNROUTABLE_IP',
    });
  }
  return value;
}

function parseTrafficDirection(value: string): TrafficDirection {
  const td = value.toLowerCase();
  if (td !== 'ingress' && td !== 'egress') throw new UsageError(`${value}: invalid traffic direction, expected ingress or egress`);
  return td.toUpperCase() as TrafficDirection;
}

function parseHttpHeader(value: string): HTTPHeader {
  const colon = value.indexOf(':');
  if (colon < 0) throw new UsageError(`invalid --http-header value "${value}", expected name:value`);
  return { key: value.slice(0, colon), value: value.slice(colon + 1) };
}

function parseTcpFlags(value: string): TCPFlags {
  const flags: TCPFlags = {};
  for (const part of value.split(',')) {
    const name = part.toUpperCase();
    if (!['SYN', 'FIN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'].includes(name)) {
      throw new UsageError(`unknown tcp flag: "${part}"`, { hint: 'flags are SYN, FIN, RST, PSH, ACK, URG, ECE, CWR, NS, comma-separated' });
    }
    flags[name as keyof TCPFlags] = true;
  }
  return flags;
}

function parseIdentity(value: string): number {
  const reserved = reservedIdentities[value];
  if (reserved !== undefined) return reserved;
  // Go's strconv.ParseUint(s, 0, 32): decimal, 0x hex, 0o/0 octal, 0b binary.
  let n = NaN;
  if (/^[1-9][0-9_]*$|^0$/.test(value)) n = Number(value.replaceAll('_', ''));
  else if (/^0[xX][0-9a-fA-F]+$/.test(value)) n = parseInt(value.slice(2), 16);
  else if (/^0[oO]?[0-7]+$/.test(value)) n = parseInt(value.replace(/^0[oO]?/, ''), 8);
  else if (/^0[bB][01]+$/.test(value)) n = parseInt(value.slice(2), 2);
  if (!Number.isInteger(n) || n > 0xffffffff) {
    throw new UsageError(`invalid security identity "${value}"`, {
      hint: `expected a number or one of ${Object.keys(reservedIdentities).join(', ')}`,
    });
  }
  return n;
}

function parseWorkload(value: string): Workload {
  if (value === '') return {};
  const slash = value.indexOf('/');
  if (slash < 0) return { name: value };
  const kind = value.slice(0, slash);
  const name = value.slice(slash + 1);
  return { ...(kind ? { kind } : {}), ...(name ? { name } : {}) };
}

function parseEventType(value: string): { type: number; match_sub_type?: boolean; sub_type?: number } {
  const colon = value.indexOf(':');
  const typeText = colon < 0 ? value : value.slice(0, colon);
  const subText = colon < 0 ? undefined : value.slice(colon + 1);
  const named = messageTypes[typeText];
  let type: number;
  if (named !== undefined) {
    type = named;
  } else if (/^\d+$/.test(typeText) && Number(typeText) <= 0xffffffff) {
    type = Number(typeText) | 0;
  } else {
    throw new UsageError(`unable to parse type "${typeText}", not a known type name and not a number`, {
      hint: `types: ${flowEventTypes.join(', ')}; trace sub-types: ${Object.keys(traceObservationPoints).join(', ')}`,
    });
  }
  if (subText === undefined) return { type };
  // Sub-type names apply only when the type was given by name, as in hubble.
  const subNames = named === MESSAGE_TYPE_TRACE ? traceObservationPoints : named === MESSAGE_TYPE_AGENT ? agentEventSubtypes : {};
  const sub = subNames[subText];
  if (sub !== undefined) return { type, match_sub_type: true, sub_type: sub };
  if (/^\d+$/.test(subText) && Number(subText) <= 0xffffffff) return { type, match_sub_type: true, sub_type: Number(subText) | 0 };
  throw new UsageError(`unable to parse event sub-type "${subText}", not a known sub-type name and not a number`, {
    hint: named === MESSAGE_TYPE_TRACE ? `trace sub-types: ${Object.keys(traceObservationPoints).join(', ')}` : undefined,
  });
}

function ipVersion(value: string): 'IPv4' | 'IPv6' | 'IP_NOT_USED' {
  const v = value.toLowerCase();
  if (['4', 'v4', 'ipv4', 'ip4'].includes(v)) return 'IPv4';
  if (['6', 'v6', 'ipv6', 'ip6'].includes(v)) return 'IPv6';
  if (v === 'none') return 'IP_NOT_USED';
  throw new UsageError(`invalid --ip-version value "${value}"`, { hint: 'use v4, v6 or none' });
}

/**
 * Every `hubble observe` filter flag, in help order: its side, its FlowFilter field, how its value is read, its
 * help, the flags it excludes. The help, the parsing, the conflict checks and the request are all built from it.
 */
export const observeFilterFlags: readonly FilterFlag[] = [
  {
    name: 'namespace',
    short: 'n',
    valueName: 'NS',
    side: 'either',
    field: 'namespace',
    example: 'kube-system',
    description: 'flows from or to pods in namespace NS',
  },
  {
    name: 'from-namespace',
    valueName: 'NS',
    side: 'from',
    field: 'namespace',
    example: 'kube-system',
    excludes: ['namespace'],
    description: 'flows from pods in namespace NS',
  },
  {
    name: 'to-namespace',
    valueName: 'NS',
    side: 'to',
    field: 'namespace',
    example: 'kube-system',
    excludes: ['namespace'],
    description: 'flows to pods in namespace NS',
  },
  {
    name: 'pod',
    valueName: '[NS/]POD',
    side: 'either',
    field: 'pod',
    example: 'kube-system/coredns',
    description: 'flows from or to pods whose name starts with POD (namespace default when omitted)',
  },
  {
    name: 'from-pod',
    valueName: '[NS/]POD',
    side: 'from',
    field: 'pod',
    example: 'kube-system/coredns',
    excludes: ['pod', 'namespace'],
    description: 'flows from pods whose name starts with POD',
  },
  {
    name: 'to-pod',
    valueName: '[NS/]POD',
    side: 'to',
    field: 'pod',
    example: 'kube-system/coredns',
    excludes: ['pod', 'namespace'],
    description: 'flows to pods whose name starts with POD',
  },
  {
    name: 'label',
    short: 'l',
    valueName: 'SELECTOR',
    side: 'either',
    field: 'label',
    example: 'k8s:app=api',
    excludes: ['from-label', 'to-label'],
    description: 'flows from or to endpoints matching a label selector (app=x, k8s:app=x, reserved:world, "app in (a,b)")',
  },
  {
    name: 'from-label',
    valueName: 'SELECTOR',
    side: 'from',
    field: 'label',
    example: 'app in (a,b)',
    description: 'flows from endpoints matching a label selector',
  },
  {
    name: 'to-label',
    valueName: 'SELECTOR',
    side: 'to',
    field: 'label',
    example: 'reserved:world',
    description: 'flows to endpoints matching a label selector',
  },
  {
    name: 'service',
    valueName: '[NS/]SVC',
    side: 'either',
    field: 'service',
    example: 'kube-system/kube-dns',
    excludes: ['from-service', 'to-service'],
    description: 'flows from or to a service (name prefix; namespace default when omitted)',
  },
  { name: 'from-service', valueName: '[NS/]SVC', side: 'from', field: 'service', example: 'api', excludes: ['namespace'], description: 'flows from a service' },
  {
    name: 'to-service',
    valueName: '[NS/]SVC',
    side: 'to',
    field: 'service',
    example: 'kube-system/kube-dns',
    excludes: ['namespace'],
    description: 'flows to a service',
  },
  {
    name: 'workload',
    valueName: '[KIND/]NAME',
    side: 'either',
    field: 'workload',
    parse: parseWorkload,
    example: 'Deployment/api',
    excludes: ['from-workload', 'to-workload'],
    description: 'flows from or to an endpoint of a workload (Deployment/api, api)',
  },
  {
    name: 'from-workload',
    valueName: '[KIND/]NAME',
    side: 'from',
    field: 'workload',
    parse: parseWorkload,
    example: 'api',
    description: 'flows from an endpoint of a workload',
  },
  {
    name: 'to-workload',
    valueName: '[KIND/]NAME',
    side: 'to',
    field: 'workload',
    parse: parseWorkload,
    example: 'Deployment/',
    description: 'flows to an endpoint of a workload',
  },
  {
    name: 'ip',
    valueName: 'IP|CIDR',
    side: 'either',
    field: 'ip',
    example: '10.0.0.0/8',
    excludes: ['fqdn', 'from-namespace', 'namespace', 'from-pod', 'pod', 'to-namespace', 'to-pod'],
    description: 'flows from or to an address (1.2.3.4) or range (10.0.0.0/8)',
  },
  {
    name: 'from-ip',
    valueName: 'IP|CIDR',
    side: 'from',
    field: 'ip',
    example: '1.2.3.4',
    excludes: ['ip', 'fqdn', 'from-namespace', 'namespace', 'from-pod', 'pod'],
    description: 'flows from an address or range',
  },
  {
    name: 'to-ip',
    valueName: 'IP|CIDR',
    side: 'to',
    field: 'ip',
    example: 'fd00::/64',
    excludes: ['ip', 'fqdn', 'to-namespace', 'namespace', 'to-pod', 'pod'],
    description: 'flows to an address or range',
  },
  {
    name: 'snat-ip',
    valueName: 'IP|CIDR',
    side: 'none',
    field: 'source_ip_xlated',
    example: '192.168.1.1',
    description: 'flows source-NATed to an address or range',
  },
  {
    name: 'ip-version',
    valueName: 'v4|v6|none',
    side: 'none',
    field: 'ip_version',
    parse: ipVersion,
    example: 'v6',
    description: 'IPv4, IPv6 or non-IP flows',
  },
  { name: 'ipv4', short: '4', side: 'none', field: 'ip_version', parse: () => 'IPv4', description: 'IPv4 flows' },
  { name: 'ipv6', short: '6', side: 'none', field: 'ip_version', parse: () => 'IPv6', description: 'IPv6 flows' },
  {
    name: 'port',
    valueName: 'PORT',
    side: 'either',
    field: 'port',
    example: '53',
    excludes: ['from-port', 'to-port'],
    description: 'flows with this source or destination port',
  },
  { name: 'from-port', valueName: 'PORT', side: 'from', field: 'port', example: '40000', description: 'flows with this source port' },
  { name: 'to-port', valueName: 'PORT', side: 'to', field: 'port', example: '443', description: 'flows with this destination port' },
  {
    name: 'identity',
    valueName: 'ID',
    side: 'either',
    field: 'identity',
    parse: parseIdentity,
    example: 'world',
    excludes: ['from-identity', 'to-identity'],
    description: 'flows from or to a security identity (number, or host, world, health, …)',
  },
  {
    name: 'from-identity',
    valueName: 'ID',
    side: 'from',
    field: 'identity',
    parse: parseIdentity,
    example: '0x10',
    description: 'flows from a security identity',
  },
  { name: 'to-identity', valueName: 'ID', side: 'to', field: 'identity', parse: parseIdentity, example: '12345', description: 'flows to a security identity' },
  {
    name: 'fqdn',
    valueName: 'PATTERN',
    side: 'either',
    field: 'fqdn',
    example: '*.example.com',
    excludes: ['from-namespace', 'namespace', 'from-pod', 'pod', 'to-namespace', 'to-pod'],
    description: 'flows from or to a DNS name (*.example.com)',
  },
  {
    name: 'from-fqdn',
    valueName: 'PATTERN',
    side: 'from',
    field: 'fqdn',
    example: 'api.example.com',
    excludes: ['from-ip', 'ip', 'fqdn', 'from-namespace', 'namespace', 'from-pod', 'pod'],
    description: 'flows from a DNS name',
  },
  {
    name: 'to-fqdn',
    valueName: 'PATTERN',
    side: 'to',
    field: 'fqdn',
    example: 'api.*',
    excludes: ['to-ip', 'ip', 'fqdn', 'to-namespace', 'namespace', 'to-pod', 'pod'],
    description: 'flows to a DNS name',
  },
  { name: 'cluster', valueName: 'NAME', side: 'either', field: 'cluster_name', example: 'kind-kind', description: 'flows from or to endpoints of a cluster' },
  { name: 'from-cluster', valueName: 'NAME', side: 'from', field: 'cluster_name', example: 'c1', description: 'flows from endpoints of a cluster' },
  { name: 'to-cluster', valueName: 'NAME', side: 'to', field: 'cluster_name', example: 'c2', description: 'flows to endpoints of a cluster' },
  {
    name: 'protocol',
    valueName: 'PROTO',
    side: 'none',
    field: 'protocol',
    example: 'tcp',
    description: 'tcp, udp, sctp, icmp, icmpv4, icmpv6, http, dns or kafka',
  },
  {
    name: 'verdict',
    valueName: 'VERDICT',
    side: 'none',
    field: 'verdict',
    parse: parseVerdict,
    example: 'DROPPED',
    description: 'FORWARDED, DROPPED, AUDIT, REDIRECTED, ERROR, TRACED or TRANSLATED (DENIED: policy drops, see below)',
  },
  {
    name: 'drop-reason-desc',
    valueName: 'REASON',
    side: 'none',
    field: 'drop_reason_desc',
    parse: parseDropReason,
    example: 'POLICY_DENIED',
    description: 'drops with this reason (POLICY_DENIED, POLICY_DENY, …)',
  },
  {
    name: 'traffic-direction',
    valueName: 'DIR',
    side: 'none',
    field: 'traffic_direction',
    parse: parseTrafficDirection,
    example: 'ingress',
    description: 'ingress or egress',
  },
  {
    name: 'type',
    short: 't',
    valueName: 'TYPE[:SUB]',
    side: 'none',
    field: 'event_type',
    parse: parseEventType,
    example: 'trace:to-endpoint',
    description: `event type: ${flowEventTypes.join(', ')}; trace:to-endpoint and other trace points`,
  },
  { name: 'http-status', valueName: 'CODE', side: 'none', field: 'http_status_code', example: '5+', description: 'HTTP status code or prefix (404, 5+, 40+)' },
  { name: 'http-method', valueName: 'METHOD', side: 'none', field: 'http_method', example: 'get', description: 'HTTP method (get, post, …)' },
  { name: 'http-path', valueName: 'REGEX', side: 'none', field: 'http_path', example: '/api/\\d+', description: 'HTTP path regular expression (/api/\\d+)' },
  { name: 'http-url', valueName: 'REGEX', side: 'none', field: 'http_url', example: 'https?://api\\..*', description: 'HTTP URL regular expression' },
  {
    name: 'http-header',
    valueName: 'KEY:VALUE',
    side: 'none',
    field: 'http_header',
    parse: parseHttpHeader,
    example: 'x-request-id:42',
    description: 'HTTP header',
  },
  {
    name: 'tcp-flags',
    valueName: 'FLAGS',
    side: 'none',
    field: 'tcp_flags',
    parse: parseTcpFlags,
    example: 'syn,ack',
    description: 'TCP flags, all of a comma list set (syn; syn,ack)',
  },
  {
    name: 'node-name',
    valueName: 'PATTERN',
    side: 'none',
    field: 'node_name',
    example: 'kind-kind/*',
    description: 'node name glob, optionally cluster/node (kind-*, kind-kind/*)',
  },
  {
    name: 'node-label',
    valueName: 'SELECTOR',
    side: 'none',
    field: 'node_labels',
    example: 'kubernetes.io/os=linux',
    description: 'flows observed on nodes matching a label selector',
  },
  {
    name: 'interface',
    valueName: 'NAME',
    side: 'none',
    field: 'interface',
    parse: (name) => ({ name }),
    example: 'eth0',
    description: 'flows observed on a network interface',
  },
  {
    name: 'uuid',
    valueName: 'UUID',
    side: 'none',
    field: 'uuid',
    example: 'b9fab269-04ae-495c-9d12-b6c36d41de0d',
    description: 'the flow with this identifier',
  },
  { name: 'trace-id', valueName: 'ID', side: 'none', field: 'trace_id', example: '4bf92f3577b34da6a3ce929d0e0e4736', description: 'flows of a trace' },
];

const filterFlagsByName: ReadonlyMap<string, FilterFlag> = new Map(observeFilterFlags.map((f) => [f.name, f]));

const NOT: OptionSpec = { name: 'not', type: 'boolean', group: FILTERS, description: 'put the next filter flag in the blacklist: --not --from-ip 1.2.3.4' };

export const observeFilterOptions: OptionSpec[] = [
  NOT,
  ...observeFilterFlags.map((f): OptionSpec => ({
    name: f.name,
    ...(f.short ? { short: f.short } : {}),
    type: f.valueName === undefined ? 'boolean' : 'string',
    repeatable: f.valueName !== undefined,
    ...(f.valueName ? { valueName: f.valueName } : {}),
    description: f.description,
    group: FILTERS,
  })),
  {
    name: 'allowlist',
    type: 'string',
    repeatable: true,
    valueName: 'JSON',
    group: FILTERS,
    description: 'a FlowFilter as JSON, ORed with the others: {"source_pod":["kube-system/"]}',
  },
  { name: 'denylist', type: 'string', repeatable: true, valueName: 'JSON', group: FILTERS, description: 'a FlowFilter as JSON added to the blacklist' },
];

/** Pairs of flags that cannot be combined within the allowlist or within the blacklist, each as its error names it. */
const conflicts: readonly (readonly [string, string])[] = observeFilterFlags.flatMap((f) => (f.excludes ?? []).map((other) => [f.name, other] as const));

function add<K extends FilterField>(f: FlowFilter, key: K, value: FieldValue<K>): void {
  const list = (f[key] ?? []) as FieldValue<K>[];
  list.push(value);
  (f as Record<string, unknown>)[key] = list;
}

/** Prefixes names without a namespace with each namespace (hubble's addNamespacesToFilter). */
function addNamespaces(names: string[] | undefined, namespaces: string[]): string[] | undefined {
  if (namespaces.length === 0 || !names || names.length === 0) return names;
  const out: string[] = [];
  for (const name of names) {
    if (name.includes('/')) out.push(name);
    else for (const ns of namespaces) out.push(`${ns}/${name}`);
  }
  return out;
}

function namespaceOf(name: string): string {
  const parts = name.split('/');
  return parts.length > 1 ? parts[0]! : '';
}

function assign(f: FlowFilter, key: 'source_pod' | 'source_service' | 'destination_pod' | 'destination_service', v: string[] | undefined) {
  if (v) f[key] = v;
}

function applySourceNamespaces(namespaces: string[], f: FlowFilter): void {
  if (!f.source_pod?.length && !f.source_service?.length) f.source_pod = [''];
  assign(f, 'source_pod', addNamespaces(f.source_pod, namespaces));
  assign(f, 'source_service', addNamespaces(f.source_service, namespaces));
}

function applyDestinationNamespaces(namespaces: string[], f: FlowFilter): void {
  if (!f.destination_pod?.length && !f.destination_service?.length) f.destination_pod = [''];
  assign(f, 'destination_pod', addNamespaces(f.destination_pod, namespaces));
  assign(f, 'destination_service', addNamespaces(f.destination_service, namespaces));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, x]) => [k, canonical(x)]),
    );
  }
  return v;
}

const sameFilter = (a: FlowFilter, b: FlowFilter) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

/** One side of the request (allowlist or blacklist): hubble's filterTracker. */
class FilterTracker {
  /** The resulting filters are `left OR right`; either-side flags fill left with source, right with destination. */
  left: FlowFilter | undefined;
  right: FlowFilter | undefined;
  ns: string[] = [];
  srcNs: string[] = [];
  dstNs: string[] = [];
  changed: string[] = [];
  /** `--verdict DENIED` was given: expanded into DROPPED + policy drop reasons when the filters are built. */
  denied = false;

  both(update: (f: FlowFilter) => void): void {
    this.sourceSide(update);
    this.destinationSide(update);
  }
  sourceSide(update: (f: FlowFilter) => void): void {
    update((this.left ??= {}));
  }
  destinationSide(update: (f: FlowFilter) => void): void {
    update((this.right ??= {}));
  }

  checkConflicts(): void {
    for (const [flag, other] of conflicts) {
      if (this.changed.includes(flag) && this.changed.includes(other)) throw new UsageError(`filters --${flag} and --${other} cannot be combined`);
    }
  }

  checkNamespaceConflicts(): void {
    for (const f of [this.left, this.right]) {
      if (!f) continue;
      const checks: [string[], string[] | undefined][] = [
        [this.ns, f.source_pod],
        [this.ns, f.source_service],
        [this.ns, f.destination_pod],
        [this.ns, f.destination_service],
        [this.srcNs, f.source_pod],
        [this.srcNs, f.source_service],
        [this.dstNs, f.destination_pod],
        [this.dstNs, f.destination_service],
      ];
      for (const [namespaces, names] of checks) {
        for (const ns of namespaces) {
          for (const name of names ?? []) {
            const nn = namespaceOf(name);
            if (nn !== '' && nn !== ns) throw new UsageError(`namespace conflict: "${ns}" does not contain "${name}"`);
          }
        }
      }
      for (const [pods, services] of [
        [f.source_pod, f.source_service],
        [f.destination_pod, f.destination_service],
      ] as const) {
        for (const pod of pods ?? []) {
          const podNs = namespaceOf(pod);
          if (podNs === '') continue;
          for (const svc of services ?? []) {
            if (namespaceOf(svc) !== podNs) throw new UsageError(`namespace of service "${svc}" conflicts with pod "${pod}"`);
          }
        }
      }
    }
  }

  flowFilters(): FlowFilter[] {
    if (!this.left && !this.right && this.ns.length === 0 && this.srcNs.length === 0 && this.dstNs.length === 0) return [];
    const left = (this.left ??= {});
    const right = (this.right ??= {});
    if (this.dstNs.length > 0) {
      applyDestinationNamespaces(this.dstNs, left);
      applyDestinationNamespaces(this.dstNs, right);
    }
    if (this.srcNs.length > 0) {
      applySourceNamespaces(this.srcNs, left);
      applySourceNamespaces(this.srcNs, right);
    }
    if (this.ns.length > 0) {
      applySourceNamespaces(this.ns, left);
      applyDestinationNamespaces(this.ns, right);
    }
    const filters = sameFilter(left, right) ? [left] : [left, right];
    if (!this.denied) return filters;
    // DENIED ORs "policy drop" with whatever other verdicts were asked for.
    return filters.flatMap((f) => {
      const policyDrop: FlowFilter = { ...f, verdict: ['DROPPED'], drop_reason_desc: [...POLICY_DROP_REASONS] };
      return f.verdict?.length ? [f, policyDrop] : [policyDrop];
    });
  }
}

/** Checks one value the way the server will, so that a bad value is reported against the flag that gave it. */
function validate(flag: string, value: string, filter: FlowFilter): void {
  try {
    compileFlowFilters([filter]);
  } catch (err) {
    if (err instanceof FilterValueError) throw new UsageError(`--${flag} "${value}": ${err.reason}`);
    throw err;
  }
}

interface BuildState {
  allow: FilterTracker;
  deny: FilterTracker;
  blacklisting: boolean;
  warnedDenied: boolean;
  warn: (line: string) => void;
}

/**
 * The field a flag fills in the source-side filter and in the destination-side one: the same field in both for a
 * one-sided flag, source_ and destination_ for an either-side flag (two filters, ORed).
 */
function sideFields(flag: SidedFlag | PlainFlag): { source: FilterField; destination: FilterField } {
  if (flag.side === 'none') return { source: flag.field, destination: flag.field };
  const source = `source_${flag.field}` as const;
  const destination = `destination_${flag.field}` as const;
  if (flag.side === 'from') return { source, destination: source };
  if (flag.side === 'to') return { source: destination, destination };
  return { source, destination };
}

function namespacesOf(t: FilterTracker, side: NamespaceFlag['side']): string[] {
  return side === 'from' ? t.srcNs : side === 'to' ? t.dstNs : t.ns;
}

function setFilter(state: BuildState, t: FilterTracker, flag: FilterFlag, raw: string | boolean | number): void {
  const value = String(raw);
  if (!t.changed.includes(flag.name)) t.changed.push(flag.name);
  t.checkConflicts();

  if (flag.field === 'namespace') {
    namespacesOf(t, flag.side).push(value);
  } else if (!(flag.valueName === undefined && raw === false)) {
    // A boolean flag given as false (--ipv4=false) adds nothing; it was still given, as the conflict checks see it.
    const ctx: FlagContext = {
      policyDrops() {
        if (!state.warnedDenied) {
          state.warn(
            'note: Hubble has no DENIED verdict; --verdict DENIED is read as --verdict DROPPED with drop reason POLICY_DENIED or POLICY_DENY (the hubble CLI rejects DENIED)',
          );
          state.warnedDenied = true;
        }
        t.denied = true;
        t.both(() => {});
      },
    };
    const parse = flag.parse as Parser<unknown> | undefined;
    const parsed = parse ? parse(value, ctx) : value;
    if (parsed !== undefined) {
      const { source, destination } = sideFields(flag);
      if (!NAMESPACED_FIELDS.has(flag.field)) validate(flag.name, value, { [source]: [parsed] });
      t.sourceSide((f) => add(f, source, parsed as FieldValue<FilterField>));
      t.destinationSide((f) => add(f, destination, parsed as FieldValue<FilterField>));
    }
  }
  if (t.denied && t.changed.includes('verdict') && t.changed.includes('drop-reason-desc')) {
    throw new UsageError('--verdict DENIED cannot be combined with --drop-reason-desc', {
      hint: 'DENIED already means --verdict DROPPED --drop-reason-desc POLICY_DENIED/POLICY_DENY; use those flags instead',
    });
  }
  t.checkNamespaceConflicts();
}

function count(parsed: ParsedArgs, name: string): number {
  let value = 0;
  for (const o of parsed.ordered) {
    if (o.name !== name) continue;
    if (typeof o.value !== 'number' || !Number.isSafeInteger(o.value) || o.value < 0) {
      throw new UsageError(`--${name} needs a whole number of flows, not "${o.value}"`);
    }
    value = o.value;
  }
  return value;
}

function time(parsed: ParsedArgs, name: 'since' | 'until', now: Date): string | undefined {
  let text: string | undefined;
  for (const o of parsed.ordered) if (o.name === name) text = String(o.value);
  if (text === undefined || text === '') return undefined;
  const t = parseHubbleTime(text, now);
  if (!t) {
    throw new UsageError(`--${name}: cannot read "${text}" as a time`, {
      hint: 'use a duration back from now (30s, 5m, 1h30m; Go durations have no "d": write 48h) or a date: 2024-05-01, 2024-05-01T12Z, 2024-05-01T12:30Z, RFC 3339 (2024-05-01T12:30:00Z)',
    });
  }
  return formatTimestamp(t.seconds, t.nanos);
}

/** `--allowlist`/`--denylist` values: FlowFilters as JSON, appended after the ones the filter flags build. */
function rawFilters(parsed: ParsedArgs, name: 'allowlist' | 'denylist'): FlowFilter[] {
  const out: FlowFilter[] = [];
  for (const o of parsed.ordered) {
    if (o.name !== name) continue;
    const text = String(o.value);
    try {
      out.push(...parseRawFilters(text));
    } catch (err) {
      if (err instanceof RawFilterError) throw new UsageError(`invalid --${name} flag: failed to decode '${text}': ${err.message}`);
      throw err;
    }
  }
  return out;
}

function flag(parsed: ParsedArgs, name: string): boolean {
  let value = false;
  for (const o of parsed.ordered) if (o.name === name) value = o.value === true;
  return value;
}

/**
 * The GetFlowsRequest `hubble observe` would send for these flags. `live` is true against a server (then a bare
 * request asks for the last 20 flows) and false for a file (no default: every flow). Throws UsageError.
 */
export function buildGetFlowsRequest(parsed: ParsedArgs, opts: { live: boolean; now?: Date; warn?: (line: string) => void }): GetFlowsRequest {
  const state: BuildState = {
    allow: new FilterTracker(),
    deny: new FilterTracker(),
    blacklisting: false,
    warnedDenied: false,
    warn: opts.warn ?? (() => {}),
  };
  for (const o of parsed.ordered) {
    if (o.name === NOT.name) {
      if (o.value === false) continue;
      if (state.blacklisting) throw new UsageError('consecutive --not statements', { hint: '--not applies to the one filter flag after it' });
      state.blacklisting = true;
      continue;
    }
    const flag = filterFlagsByName.get(o.name);
    if (!flag) continue;
    const tracker = state.blacklisting ? state.deny : state.allow;
    state.blacklisting = false;
    setFilter(state, tracker, flag, o.value);
  }
  if (state.blacklisting) throw new UsageError('trailing --not found in the arguments', { hint: 'put a filter flag after --not' });

  const firstN = count(parsed, 'first');
  let lastN = count(parsed, 'last');
  const all = flag(parsed, 'all');
  const follow = flag(parsed, 'follow');
  const first = firstN > 0;
  const last = lastN > 0;
  if (first && last) throw new UsageError('cannot set both --first and --last');
  if (first && all) throw new UsageError('cannot set both --first and --all');
  if (first && follow) throw new UsageError('cannot set both --first and --follow');
  if (last && all) throw new UsageError('cannot set both --last and --all');

  const now = opts.now ?? new Date();
  const since = time(parsed, 'since', now);
  // As hubble: --until is dropped when following (the stream has no end).
  const until = follow ? undefined : time(parsed, 'until', now);
  if (since === undefined && until === undefined && !first) {
    if (all) lastN = ALL_FLOWS;
    else if (lastN === 0 && !follow && opts.live) lastN = DEFAULT_LAST;
  }

  const whitelist = [...state.allow.flowFilters(), ...rawFilters(parsed, 'allowlist')];
  const blacklist = [...state.deny.flowFilters(), ...rawFilters(parsed, 'denylist')];
  // Cross-field rules (e.g. --http-status with a non-l7 --type) surface here, before anything is sent.
  compileFlowFilters(whitelist, blacklist);

  const req: GetFlowsRequest = {};
  const number = first ? firstN : lastN;
  if (number > 0) req.number = number;
  if (first) req.first = true;
  if (follow) req.follow = true;
  if (whitelist.length > 0) req.whitelist = whitelist;
  if (blacklist.length > 0) req.blacklist = blacklist;
  if (since !== undefined) req.since = since;
  if (until !== undefined) req.until = until;
  return req;
}
