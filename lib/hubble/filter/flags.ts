// `hubble observe` selector and filter flags, and their translation into a GetFlowsRequest exactly as the hubble CLI
// builds it (left/right filters for either-side flags, namespace modifiers, --not into the blacklist, conflicts).
import type { OptionSpec, ParsedArgs } from '../../args.ts';
import { UsageError } from '../../errors.ts';
import type { FlowFilter, GetFlowsRequest, TCPFlags, TrafficDirection, Verdict, Workload } from '../../flows/types.ts';
import { formatTimestamp } from '../grpc/timestamp.ts';
import { compileFlowFilters, FilterValueError } from './match.ts';
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
  { name: 'last', type: 'number', valueName: 'N', group: SELECTORS, description: `the last N flows (per node through Relay; default ${DEFAULT_LAST} from a server, all from a file)` },
  { name: 'first', type: 'number', valueName: 'N', group: SELECTORS, description: 'the first N flows (per node through Relay)' },
  { name: 'all', type: 'boolean', group: SELECTORS, description: 'every flow in the buffer' },
  { name: 'follow', short: 'f', type: 'boolean', group: SELECTORS, description: 'keep streaming new flows (ignored for a file)' },
  { name: 'since', type: 'string', valueName: 'TIME', group: SELECTORS, description: 'flows from TIME: a duration back from now (30s, 5m, 1h30m) or a date (RFC 3339, 2024-05-01, 2024-05-01T12Z)' },
  { name: 'until', type: 'string', valueName: 'TIME', group: SELECTORS, description: 'flows up to TIME (same forms as --since; ignored with --follow)' },
];

interface FilterFlag {
  name: string;
  short?: string;
  /** Flags that take no value (--ipv4) are booleans. */
  boolean?: boolean;
  valueName?: string;
  description: string;
}

const filterFlags: FilterFlag[] = [
  { name: 'not', boolean: true, description: 'put the next filter flag in the blacklist: --not --from-ip 1.2.3.4' },
  { name: 'namespace', short: 'n', valueName: 'NS', description: 'flows from or to pods in namespace NS' },
  { name: 'from-namespace', valueName: 'NS', description: 'flows from pods in namespace NS' },
  { name: 'to-namespace', valueName: 'NS', description: 'flows to pods in namespace NS' },
  { name: 'pod', valueName: '[NS/]POD', description: 'flows from or to pods whose name starts with POD (namespace default when omitted)' },
  { name: 'from-pod', valueName: '[NS/]POD', description: 'flows from pods whose name starts with POD' },
  { name: 'to-pod', valueName: '[NS/]POD', description: 'flows to pods whose name starts with POD' },
  { name: 'label', short: 'l', valueName: 'SELECTOR', description: 'flows from or to endpoints matching a label selector (app=x, k8s:app=x, reserved:world, "app in (a,b)")' },
  { name: 'from-label', valueName: 'SELECTOR', description: 'flows from endpoints matching a label selector' },
  { name: 'to-label', valueName: 'SELECTOR', description: 'flows to endpoints matching a label selector' },
  { name: 'service', valueName: '[NS/]SVC', description: 'flows from or to a service (name prefix; namespace default when omitted)' },
  { name: 'from-service', valueName: '[NS/]SVC', description: 'flows from a service' },
  { name: 'to-service', valueName: '[NS/]SVC', description: 'flows to a service' },
  { name: 'workload', valueName: '[KIND/]NAME', description: 'flows from or to an endpoint of a workload (Deployment/api, api)' },
  { name: 'from-workload', valueName: '[KIND/]NAME', description: 'flows from an endpoint of a workload' },
  { name: 'to-workload', valueName: '[KIND/]NAME', description: 'flows to an endpoint of a workload' },
  { name: 'ip', valueName: 'IP|CIDR', description: 'flows from or to an address (1.2.3.4) or range (10.0.0.0/8)' },
  { name: 'from-ip', valueName: 'IP|CIDR', description: 'flows from an address or range' },
  { name: 'to-ip', valueName: 'IP|CIDR', description: 'flows to an address or range' },
  { name: 'snat-ip', valueName: 'IP|CIDR', description: 'flows source-NATed to an address or range' },
  { name: 'ip-version', valueName: 'v4|v6|none', description: 'IPv4, IPv6 or non-IP flows' },
  { name: 'ipv4', short: '4', boolean: true, description: 'IPv4 flows' },
  { name: 'ipv6', short: '6', boolean: true, description: 'IPv6 flows' },
  { name: 'port', valueName: 'PORT', description: 'flows with this source or destination port' },
  { name: 'from-port', valueName: 'PORT', description: 'flows with this source port' },
  { name: 'to-port', valueName: 'PORT', description: 'flows with this destination port' },
  { name: 'identity', valueName: 'ID', description: 'flows from or to a security identity (number, or host, world, health, …)' },
  { name: 'from-identity', valueName: 'ID', description: 'flows from a security identity' },
  { name: 'to-identity', valueName: 'ID', description: 'flows to a security identity' },
  { name: 'fqdn', valueName: 'PATTERN', description: 'flows from or to a DNS name (*.example.com)' },
  { name: 'from-fqdn', valueName: 'PATTERN', description: 'flows from a DNS name' },
  { name: 'to-fqdn', valueName: 'PATTERN', description: 'flows to a DNS name' },
  { name: 'cluster', valueName: 'NAME', description: 'flows from or to endpoints of a cluster' },
  { name: 'from-cluster', valueName: 'NAME', description: 'flows from endpoints of a cluster' },
  { name: 'to-cluster', valueName: 'NAME', description: 'flows to endpoints of a cluster' },
  { name: 'protocol', valueName: 'PROTO', description: 'tcp, udp, sctp, icmp, icmpv4, icmpv6, http, dns or kafka' },
  { name: 'verdict', valueName: 'VERDICT', description: 'FORWARDED, DROPPED, AUDIT, REDIRECTED, ERROR, TRACED or TRANSLATED (DENIED: policy drops, see below)' },
  { name: 'drop-reason-desc', valueName: 'REASON', description: 'drops with this reason (POLICY_DENIED, POLICY_DENY, …)' },
  { name: 'traffic-direction', valueName: 'DIR', description: 'ingress or egress' },
  { name: 'type', short: 't', valueName: 'TYPE[:SUB]', description: `event type: ${flowEventTypes.join(', ')}; trace:to-endpoint and other trace points` },
  { name: 'http-status', valueName: 'CODE', description: 'HTTP status code or prefix (404, 5+, 40+)' },
  { name: 'http-method', valueName: 'METHOD', description: 'HTTP method (get, post, …)' },
  { name: 'http-path', valueName: 'REGEX', description: 'HTTP path regular expression (/api/\\d+)' },
  { name: 'http-url', valueName: 'REGEX', description: 'HTTP URL regular expression' },
  { name: 'http-header', valueName: 'KEY:VALUE', description: 'HTTP header' },
  { name: 'tcp-flags', valueName: 'FLAGS', description: 'TCP flags, all of a comma list set (syn; syn,ack)' },
  { name: 'node-name', valueName: 'PATTERN', description: 'node name glob, optionally cluster/node (kind-*, kind-kind/*)' },
  { name: 'node-label', valueName: 'SELECTOR', description: 'flows observed on nodes matching a label selector' },
  { name: 'interface', valueName: 'NAME', description: 'flows observed on a network interface' },
  { name: 'uuid', valueName: 'UUID', description: 'the flow with this identifier' },
  { name: 'trace-id', valueName: 'ID', description: 'flows of a trace' },
];

export const observeFilterOptions: OptionSpec[] = [
  ...filterFlags.map((f) => ({
    name: f.name,
    ...(f.short ? { short: f.short } : {}),
    type: f.boolean ? ('boolean' as const) : ('string' as const),
    repeatable: !f.boolean,
    ...(f.valueName ? { valueName: f.valueName } : {}),
    description: f.description,
    group: FILTERS,
  })),
  { name: 'allowlist', type: 'string', repeatable: true, valueName: 'JSON', group: FILTERS, description: 'a FlowFilter as JSON, ORed with the others: {"source_pod":["kube-system/"]}' },
  { name: 'denylist', type: 'string', repeatable: true, valueName: 'JSON', group: FILTERS, description: 'a FlowFilter as JSON added to the blacklist' },
];

const filterFlagNames = new Set(filterFlags.map((f) => f.name));

/** Flags that cannot be combined within the allowlist or within the blacklist (hubble's conflict groups). */
const conflictGroups: string[][] = [
  ['from-fqdn', 'from-ip', 'ip', 'fqdn', 'from-namespace', 'namespace'],
  ['from-fqdn', 'from-ip', 'ip', 'fqdn', 'from-pod', 'pod'],
  ['to-fqdn', 'to-ip', 'ip', 'fqdn', 'to-namespace', 'namespace'],
  ['to-fqdn', 'to-ip', 'ip', 'fqdn', 'to-pod', 'pod'],
  ['to-pod', 'namespace'],
  ['from-pod', 'namespace'],
  ['to-service', 'namespace'],
  ['from-service', 'namespace'],
  ['label', 'from-label'],
  ['label', 'to-label'],
  ['service', 'from-service'],
  ['service', 'to-service'],
  ['port', 'to-port'],
  ['port', 'from-port'],
  ['identity', 'to-identity'],
  ['identity', 'from-identity'],
  ['workload', 'to-workload'],
  ['workload', 'from-workload'],
];

const POLICY_DROP_REASONS = ['POLICY_DENIED', 'POLICY_DENY'];

type ArrayField = { [K in keyof FlowFilter]-?: NonNullable<FlowFilter[K]> extends readonly unknown[] ? K : never }[keyof FlowFilter];
type Element<K extends ArrayField> = NonNullable<FlowFilter[K]>[number];

function add<K extends ArrayField>(f: FlowFilter, key: K, value: Element<K>): void {
  const list = (f[key] ?? []) as Element<K>[];
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
    for (const group of conflictGroups) {
      for (const flag of group) {
        if (!this.changed.includes(flag)) continue;
        for (const other of group) {
          if (other !== flag && this.changed.includes(other)) {
            throw new UsageError(`filters --${flag} and --${other} cannot be combined`);
          }
        }
      }
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

function setFilter(state: BuildState, t: FilterTracker, name: string, raw: string | boolean | number): void {
  const value = String(raw);
  if (!t.changed.includes(name)) t.changed.push(name);
  t.checkConflicts();
  const one = (field: string, v: unknown) => validate(name, value, { [field]: [v] } as FlowFilter);

  switch (name) {
    case 'uuid':
      t.both((f) => add(f, 'uuid', value));
      break;
    case 'fqdn':
      one('source_fqdn', value);
      t.sourceSide((f) => add(f, 'source_fqdn', value));
      t.destinationSide((f) => add(f, 'destination_fqdn', value));
      break;
    case 'from-fqdn':
      one('source_fqdn', value);
      t.both((f) => add(f, 'source_fqdn', value));
      break;
    case 'to-fqdn':
      one('destination_fqdn', value);
      t.both((f) => add(f, 'destination_fqdn', value));
      break;
    case 'pod':
      t.sourceSide((f) => add(f, 'source_pod', value));
      t.destinationSide((f) => add(f, 'destination_pod', value));
      break;
    case 'from-pod':
      t.both((f) => add(f, 'source_pod', value));
      break;
    case 'to-pod':
      t.both((f) => add(f, 'destination_pod', value));
      break;
    case 'ip':
      one('source_ip', value);
      t.sourceSide((f) => add(f, 'source_ip', value));
      t.destinationSide((f) => add(f, 'destination_ip', value));
      break;
    case 'from-ip':
      one('source_ip', value);
      t.both((f) => add(f, 'source_ip', value));
      break;
    case 'to-ip':
      one('destination_ip', value);
      t.both((f) => add(f, 'destination_ip', value));
      break;
    case 'snat-ip':
      one('source_ip_xlated', value);
      t.both((f) => add(f, 'source_ip_xlated', value));
      break;
    case 'ipv4':
    case 'ipv6':
    case 'ip-version': {
      if (raw === false) break;
      const v = name === 'ipv4' ? 'IPv4' : name === 'ipv6' ? 'IPv6' : ipVersion(value);
      t.both((f) => add(f, 'ip_version', v));
      break;
    }
    case 'label':
      one('source_label', value);
      t.sourceSide((f) => add(f, 'source_label', value));
      t.destinationSide((f) => add(f, 'destination_label', value));
      break;
    case 'from-label':
      one('source_label', value);
      t.both((f) => add(f, 'source_label', value));
      break;
    case 'to-label':
      one('destination_label', value);
      t.both((f) => add(f, 'destination_label', value));
      break;
    case 'namespace':
      t.ns.push(value);
      break;
    case 'from-namespace':
      t.srcNs.push(value);
      break;
    case 'to-namespace':
      t.dstNs.push(value);
      break;
    case 'service':
      t.sourceSide((f) => add(f, 'source_service', value));
      t.destinationSide((f) => add(f, 'destination_service', value));
      break;
    case 'from-service':
      t.both((f) => add(f, 'source_service', value));
      break;
    case 'to-service':
      t.both((f) => add(f, 'destination_service', value));
      break;
    case 'port':
      one('source_port', value);
      t.sourceSide((f) => add(f, 'source_port', value));
      t.destinationSide((f) => add(f, 'destination_port', value));
      break;
    case 'from-port':
      one('source_port', value);
      t.both((f) => add(f, 'source_port', value));
      break;
    case 'to-port':
      one('destination_port', value);
      t.both((f) => add(f, 'destination_port', value));
      break;
    case 'trace-id':
      t.both((f) => add(f, 'trace_id', value));
      break;
    case 'verdict': {
      if (value === 'DENIED') {
        if (!state.warnedDenied) {
          state.warn(
            'note: Hubble has no DENIED verdict; --verdict DENIED is read as --verdict DROPPED with drop reason POLICY_DENIED or POLICY_DENY (the hubble CLI rejects DENIED)',
          );
          state.warnedDenied = true;
        }
        t.denied = true;
        t.both(() => {});
        break;
      }
      if (!Object.hasOwn(enumValues('flow.Verdict'), value)) {
        const upper = value.toUpperCase();
        throw new UsageError(`invalid --verdict value: ${value}`, {
          hint:
            upper !== value && (Object.hasOwn(enumValues('flow.Verdict'), upper) || upper === 'DENIED')
              ? `verdicts are upper case: --verdict ${upper}`
              : `one of ${Object.keys(enumValues('flow.Verdict')).filter((v) => v !== 'VERDICT_UNKNOWN').join(', ')}`,
        });
      }
      t.both((f) => add(f, 'verdict', value as Verdict));
      break;
    }
    case 'drop-reason-desc':
      if (value === '') throw new UsageError('empty --drop-reason-desc value');
      if (!Object.hasOwn(enumValues('flow.DropReason'), value)) {
        throw new UsageError(`invalid --drop-reason-desc value: ${value}`, { hint: 'drop reasons are upper case, e.g. POLICY_DENIED, POLICY_DENY, STALE_OR_UNROUTABLE_IP' });
      }
      t.both((f) => add(f, 'drop_reason_desc', value));
      break;
    case 'http-status':
      one('http_status_code', value);
      t.both((f) => add(f, 'http_status_code', value));
      break;
    case 'http-method':
      t.both((f) => add(f, 'http_method', value));
      break;
    case 'http-path':
      one('http_path', value);
      t.both((f) => add(f, 'http_path', value));
      break;
    case 'http-url':
      one('http_url', value);
      t.both((f) => add(f, 'http_url', value));
      break;
    case 'http-header': {
      const colon = value.indexOf(':');
      if (colon < 0) throw new UsageError(`invalid --http-header value "${value}", expected name:value`);
      const header = { key: value.slice(0, colon), value: value.slice(colon + 1) };
      t.both((f) => add(f, 'http_header', header));
      break;
    }
    case 'type': {
      const et = parseEventType(value);
      t.both((f) => add(f, 'event_type', et));
      break;
    }
    case 'protocol':
      one('protocol', value);
      t.both((f) => add(f, 'protocol', value));
      break;
    case 'workload': {
      const w = parseWorkload(value);
      t.sourceSide((f) => add(f, 'source_workload', w));
      t.destinationSide((f) => add(f, 'destination_workload', w));
      break;
    }
    case 'from-workload': {
      const w = parseWorkload(value);
      t.both((f) => add(f, 'source_workload', w));
      break;
    }
    case 'to-workload': {
      const w = parseWorkload(value);
      t.both((f) => add(f, 'destination_workload', w));
      break;
    }
    case 'identity': {
      const id = parseIdentity(value);
      t.sourceSide((f) => add(f, 'source_identity', id));
      t.destinationSide((f) => add(f, 'destination_identity', id));
      break;
    }
    case 'from-identity': {
      const id = parseIdentity(value);
      t.both((f) => add(f, 'source_identity', id));
      break;
    }
    case 'to-identity': {
      const id = parseIdentity(value);
      t.both((f) => add(f, 'destination_identity', id));
      break;
    }
    case 'node-name':
      one('node_name', value);
      t.both((f) => add(f, 'node_name', value));
      break;
    case 'node-label':
      one('node_labels', value);
      t.both((f) => add(f, 'node_labels', value));
      break;
    case 'cluster':
      one('source_cluster_name', value);
      t.sourceSide((f) => add(f, 'source_cluster_name', value));
      t.destinationSide((f) => add(f, 'destination_cluster_name', value));
      break;
    case 'from-cluster':
      one('source_cluster_name', value);
      t.both((f) => add(f, 'source_cluster_name', value));
      break;
    case 'to-cluster':
      one('destination_cluster_name', value);
      t.both((f) => add(f, 'destination_cluster_name', value));
      break;
    case 'tcp-flags': {
      const flags = parseTcpFlags(value);
      t.both((f) => add(f, 'tcp_flags', flags));
      break;
    }
    case 'traffic-direction': {
      const td = value.toLowerCase();
      if (td !== 'ingress' && td !== 'egress') {
        throw new UsageError(`${value}: invalid traffic direction, expected ingress or egress`);
      }
      t.both((f) => add(f, 'traffic_direction', td.toUpperCase() as TrafficDirection));
      break;
    }
    case 'interface':
      t.both((f) => add(f, 'interface', { name: value }));
      break;
    default:
      throw new Error(`no filter handler for --${name}`);
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
export function buildGetFlowsRequest(
  parsed: ParsedArgs,
  opts: { live: boolean; now?: Date; warn?: (line: string) => void },
): GetFlowsRequest {
  const state: BuildState = {
    allow: new FilterTracker(),
    deny: new FilterTracker(),
    blacklisting: false,
    warnedDenied: false,
    warn: opts.warn ?? (() => {}),
  };
  for (const o of parsed.ordered) {
    if (!filterFlagNames.has(o.name)) continue;
    if (o.name === 'not') {
      if (o.value === false) continue;
      if (state.blacklisting) throw new UsageError('consecutive --not statements', { hint: '--not applies to the one filter flag after it' });
      state.blacklisting = true;
      continue;
    }
    const tracker = state.blacklisting ? state.deny : state.allow;
    state.blacklisting = false;
    setFilter(state, tracker, o.name, o.value);
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
