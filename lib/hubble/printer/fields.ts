// The columns hubble prints for a flow: endpoints with ports, identities, event type, verdict and summary.
import { reservedIdentityNames } from '../../flows/reserved.ts';
import { traceObservationPointNames } from '../filter/tables.ts';
import { posix } from 'node:path';
import type { Flow, Policy } from '../../flows/types.ts';
import type { Colorer } from './terminal.ts';

// Cilium's monitor message types (event_type.type).
const MSG_DROP = 1;
const MSG_CAPTURE = 3;
const MSG_TRACE = 4;
const MSG_POLICY_VERDICT = 5;
const MSG_TRACE_SOCK = 7;

/** Drop reasons by code (pkg/monitor/api/drop.go). */
export const DROP_REASON_TEXT: Record<number, string> = {
  0: 'Success',
  2: 'Invalid packet',
  3: 'Interface',
  4: 'Interface Decrypted',
  5: 'LB, sock cgroup: No backend slot entry found',
  6: 'LB, sock cgroup: No backend entry found',
  7: 'LB, sock cgroup: Reverse entry update failed',
  8: 'LB, sock cgroup: Reverse entry stale',
  9: 'Fragmented packet',
  10: 'Fragmented packet entry update failed',
  11: 'Missed tail call to custom program',
  130: 'Invalid source mac',
  131: 'Invalid destination mac',
  132: 'Invalid source ip',
  133: 'Policy denied',
  134: 'Invalid packet',
  135: 'CT: Truncated or invalid header',
  136: 'Fragmentation needed',
  137: 'CT: Unknown L4 protocol',
  138: "CT: Can't create entry from packet",
  139: 'Unsupported L3 protocol',
  140: 'Missed tail call',
  141: 'Error writing to packet',
  142: 'Unknown L4 protocol',
  143: 'Unknown ICMPv4 code',
  144: 'Unknown ICMPv4 type',
  145: 'Unknown ICMPv6 code',
  146: 'Unknown ICMPv6 type',
  147: 'Error retrieving tunnel key',
  148: 'Error retrieving tunnel options',
  149: 'Invalid Geneve option',
  150: 'Unknown L3 target address',
  151: 'Stale or unroutable IP',
  152: 'No matching local container found',
  153: 'Error while correcting L3 checksum',
  154: 'Error while correcting L4 checksum',
  155: 'CT: Map insertion failed',
  156: 'Invalid IPv6 extension header',
  157: 'IP fragmentation not supported',
  158: 'Service backend not found',
  160: 'No tunnel/encapsulation endpoint (datapath BUG!)',
  161: 'NAT 46/64 not enabled',
  162: 'Reached EDT rate-limiting drop horizon',
  163: 'Unknown connection tracking state',
  164: 'Local host is unreachable',
  165: 'No configuration available to perform policy decision',
  166: 'Unsupported L2 protocol',
  167: 'No mapping for NAT masquerade',
  168: 'Unsupported protocol for NAT masquerade',
  169: 'FIB lookup failed',
  170: 'Encapsulation traffic is prohibited',
  171: 'Invalid identity',
  172: 'Unknown sender',
  173: 'NAT not needed',
  174: 'Is a ClusterIP',
  175: 'First logical datagram fragment not found',
  176: 'Forbidden ICMPv6 message',
  177: 'Denied by LB src range check',
  178: 'Socket lookup failed',
  179: 'Socket assign failed',
  180: 'Proxy redirection not supported for protocol',
  181: 'Policy denied by denylist',
  182: 'VLAN traffic disallowed by VLAN filter',
  183: 'Incorrect VNI from VTEP',
  184: 'Failed to update or lookup TC buffer',
  185: 'No SID was found for the IP address',
  186: 'SRv6 state was removed during tail call',
  187: 'L3 translation from IPv4 to IPv6 failed (NAT46)',
  188: 'L3 translation from IPv6 to IPv4 failed (NAT64)',
  189: 'Authentication required',
  190: 'No conntrack map found',
  191: 'No nat map found',
  192: 'Invalid ClusterID',
  193: 'Unsupported packet protocol for DSR encapsulation',
  194: 'No egress gateway found',
  195: 'Traffic is unencrypted',
  196: 'TTL exceeded',
  197: 'No node ID found',
  198: 'Rate limited',
};

/** Policy match types by number (pkg/monitor/api PolicyMatchType.String). */
const POLICY_MATCH: Record<number, string> = { 0: 'none', 1: 'L3-Only', 2: 'L3-L4', 3: 'L4-Only', 4: 'all', 5: 'L3-Proto', 6: 'Proto-Only' };

const SOCK_XLATE: Record<string, string> = {
  SOCK_XLATE_POINT_POST_DIRECTION_FWD: 'post-xlate-fwd',
  SOCK_XLATE_POINT_POST_DIRECTION_REV: 'post-xlate-rev',
  SOCK_XLATE_POINT_PRE_DIRECTION_FWD: 'pre-xlate-fwd',
  SOCK_XLATE_POINT_PRE_DIRECTION_REV: 'pre-xlate-rev',
};

function u8(n: number | undefined): number {
  return (n ?? 0) & 0xff;
}

export function dropReasonText(code: number): string {
  return DROP_REASON_TEXT[u8(code)] ?? `${u8(code)}, 0`;
}

/** The TYPE column: l7 protocol and type, trace point, drop reason, policy verdict, capture or socket point. */
export function flowType(f: Flow): string {
  const l7 = f.l7;
  if (l7 != null) {
    let proto = 'l7';
    let type = (l7.type ?? 'UNKNOWN_L7_TYPE').toLowerCase();
    if (l7.http != null) proto = 'http';
    else if (l7.dns != null) {
      proto = 'dns';
      type += ` ${l7.dns.observation_source ?? ''}`;
    } else if (l7.kafka != null) proto = 'kafka';
    return `${proto}-${type}`;
  }
  const sub = f.event_type?.sub_type;
  switch (f.event_type?.type ?? 0) {
    case MSG_TRACE:
      return traceObservationPointNames[u8(sub)] ?? String(u8(sub));
    case MSG_DROP:
      return dropReasonText(sub ?? 0);
    case MSG_POLICY_VERDICT:
      return `policy-verdict:${POLICY_MATCH[f.policy_match_type ?? 0] ?? 'unknown'} ${f.traffic_direction ?? 'TRAFFIC_DIRECTION_UNKNOWN'}`;
    case MSG_CAPTURE:
      return f.debug_capture_point ?? 'DBG_CAPTURE_POINT_UNKNOWN';
    case MSG_TRACE_SOCK:
      return SOCK_XLATE[f.sock_xlate_point ?? ''] ?? f.sock_xlate_point ?? 'SOCK_XLATE_POINT_UNKNOWN';
    default:
      return 'UNKNOWN';
  }
}

/** ` BY name (kind), …` for the policies that have both a name and a kind; '' when none has. */
function byPolicies(policies: Policy[] | undefined): string {
  const named = (policies ?? []).filter((p) => p.kind && p.name);
  return named.length === 0 ? '' : ` BY ${named.map((p) => `${p.name} (${p.kind})`).join(', ')}`;
}

/**
 * The VERDICT column; policy-verdict events say ALLOWED / DENIED / AUDITED instead, and with --print-policy-names
 * which policies of the flow's direction decided it.
 */
export function verdictText(f: Flow, c: Colorer, policyNames = false): string {
  const verdict = f.verdict ?? 'VERDICT_UNKNOWN';
  const policyVerdict = f.event_type?.type === MSG_POLICY_VERDICT;
  const dir = f.traffic_direction;
  switch (verdict) {
    case 'FORWARDED':
    case 'REDIRECTED': {
      if (!policyVerdict) return c.paint('green', verdict);
      const by = policyNames ? byPolicies(dir === 'EGRESS' ? f.egress_allowed_by : dir === 'INGRESS' ? f.ingress_allowed_by : undefined) : '';
      return c.paint('green', `ALLOWED${by}`);
    }
    case 'DROPPED':
    case 'ERROR': {
      if (!policyVerdict) return c.paint('red', verdict);
      const by = policyNames ? byPolicies(dir === 'EGRESS' ? f.egress_denied_by : dir === 'INGRESS' ? f.ingress_denied_by : undefined) : '';
      return c.paint('red', `DENIED${by}`);
    }
    case 'AUDIT':
      return c.paint('yellow', policyVerdict ? 'AUDITED' : verdict);
    case 'TRACED':
    case 'TRANSLATED':
      return c.paint('yellow', verdict);
    default:
      return verdict;
  }
}

/** The SUMMARY column: the flow's Summary, with the auth type when mutual auth is on. */
export function summaryText(f: Flow, c: Colorer): string {
  const auth = f.auth_type ?? 'DISABLED';
  if (auth === 'DISABLED') return f.Summary ?? '';
  return `${f.Summary ?? ''}; Auth: ${c.paint(auth === 'TEST_ALWAYS_FAIL' ? 'red' : 'green', auth)}`;
}

export function identityText(identity: number | undefined, c: Colorer): string {
  const id = identity ?? 0;
  const reserved = reservedIdentityNames[id];
  return c.paint('magenta', reserved !== undefined ? `(${reserved})` : `(ID:${id})`);
}

function ports(f: Flow): [string, string] {
  const l4 = f.l4;
  const p = l4?.TCP ?? l4?.UDP ?? l4?.SCTP;
  if (!p) return ['', ''];
  return [String(p.source_port ?? 0), String(p.destination_port ?? 0)];
}

/** Go's path.Join of a namespace and a name: `ns/name` when both are plain names, as they nearly always are. */
function joinName(ns: string, name: string): string {
  if (ns !== '' && ns !== '.' && ns !== '..' && name !== '.' && name !== '..' && !ns.includes('/') && !name.includes('/')) return `${ns}/${name}`;
  return posix.join(ns, name);
}

function hostname(ip: string, port: string, ns: string, pod: string, svc: string, names: string[] | undefined, translate: boolean, c: Colorer): string {
  let host = ip;
  if (translate) {
    if (pod !== '') host = joinName(ns, pod);
    else if (svc !== '') host = joinName(ns, svc);
    else if (names && names.length > 0) host = names.join(',');
  }
  if (port === '' || port === '0') return host;
  // net.JoinHostPort brackets hosts that contain a colon (IPv6).
  return `${host.includes(':') ? `[${host}]` : host}:${c.paint('yellow', port)}`;
}

/** SOURCE and DESTINATION: ns/pod, ns/service or DNS names (with IP translation), else the IP; then the port. */
export function hostNames(f: Flow, translate: boolean, c: Colorer): [string, string] {
  if (f.IP == null) {
    if (f.ethernet != null) return [c.paint('cyan', f.ethernet.source ?? ''), c.paint('cyan', f.ethernet.destination ?? '')];
    return ['', ''];
  }
  let srcNs = f.source?.namespace ?? '';
  let dstNs = f.destination?.namespace ?? '';
  const srcPod = f.source?.pod_name ?? '';
  const dstPod = f.destination?.pod_name ?? '';
  let srcSvc = '';
  let dstSvc = '';
  if (f.source_service != null) {
    srcNs = f.source_service.namespace ?? '';
    srcSvc = f.source_service.name ?? '';
  }
  if (f.destination_service != null) {
    dstNs = f.destination_service.namespace ?? '';
    dstSvc = f.destination_service.name ?? '';
  }
  const [sp, dp] = ports(f);
  return [
    c.paint('cyan', hostname(f.IP.source ?? '', sp, srcNs, srcPod, srcSvc, f.source_names, translate, c)),
    c.paint('cyan', hostname(f.IP.destination ?? '', dp, dstNs, dstPod, dstSvc, f.destination_names, translate, c)),
  ];
}
