// Drops: reasons (policy denials apart, with the side that denied), per edge and overall, with a few example flows.
import type { Flow } from '../flows/types.ts';
import { enumValues } from '../hubble/filter/tables.ts';
import { CappedCounter } from './counter.ts';
import { redactFlowSecrets } from '../flows/redact.ts';
import { count, msg, type Message } from './message.ts';

let dropReasonNames: Map<number, string> | undefined;

/** Drop reasons by number (from flow.proto), for exports that carry only the numeric `drop_reason` or event sub-type. */
function dropReasonName(code: number): string {
  if (!dropReasonNames) dropReasonNames = new Map(Object.entries(enumValues('flow.DropReason')).map(([name, n]) => [n, name]));
  return dropReasonNames.get(code) ?? `DROP_REASON_${code}`;
}

const POLICY_REASONS = new Set(['POLICY_DENIED', 'POLICY_DENY']);
const DROP_EVENT_TYPE = 1;

/** The drop reason's enum name from whichever field the export carries. */
export function dropReason(flow: Flow): string {
  if (flow.drop_reason_desc) return flow.drop_reason_desc;
  const n = flow.drop_reason || (flow.event_type?.type === DROP_EVENT_TYPE ? flow.event_type.sub_type : undefined);
  if (n) return dropReasonName(n);
  return 'DROP_REASON_UNKNOWN';
}

/** A policy denial is a DROPPED flow whose reason is POLICY_DENIED (default deny) or POLICY_DENY (deny rule). */
export function isPolicyReason(reason: string): boolean {
  return POLICY_REASONS.has(reason);
}

/** Just enough of a flow to show it in a report and find it again with `hubble-lab observe`. */
export interface FlowExample {
  time: string | undefined;
  node: string | undefined;
  source: string;
  destination: string;
  verdict: string;
  reason: string | undefined;
  direction: string | undefined;
  summary: string | undefined;
}

function address(ip: string | undefined, port: number | undefined): string {
  if (!ip) return '?';
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return port === undefined ? host : `${host}:${port}`;
}

function describeL4(flow: Flow): string | undefined {
  const tcp = flow.l4?.TCP;
  if (tcp?.flags) {
    const set = Object.entries(tcp.flags)
      .filter(([, on]) => on)
      .map(([flag]) => flag);
    return `TCP Flags: ${set.join(', ')}`;
  }
  if (flow.l4?.UDP) return 'UDP';
  if (flow.l4?.ICMPv4) return `ICMPv4 type ${flow.l4.ICMPv4.type ?? 0}`;
  if (flow.l4?.ICMPv6) return `ICMPv6 type ${flow.l4.ICMPv6.type ?? 0}`;
  return undefined;
}

function redactSummary(summary: string): string {
  const holder = { Summary: summary };
  redactFlowSecrets(holder);
  return holder.Summary;
}

export function flowExample(flow: Flow, reason: string | undefined): FlowExample {
  const pair = flow.l4?.TCP ?? flow.l4?.UDP ?? flow.l4?.SCTP;
  const src = flow.source?.pod_name ? `${flow.source.namespace}/${flow.source.pod_name}` : undefined;
  const dst = flow.destination?.pod_name ? `${flow.destination.namespace}/${flow.destination.pod_name}` : undefined;
  const srcAddr = address(flow.IP?.source, pair?.source_port);
  const dstAddr = address(flow.IP?.destination, pair?.destination_port);
  return {
    time: flow.time,
    node: flow.node_name,
    source: src ? `${src} (${srcAddr})` : srcAddr,
    destination: dst ? `${dst} (${dstAddr})` : dstAddr,
    verdict: flow.verdict ?? 'VERDICT_UNKNOWN',
    reason,
    direction: flow.traffic_direction,
    // Written into reports: a URL's secrets stay out, also for flows from clusters that did not redact them.
    summary: flow.Summary ? redactSummary(flow.Summary) : describeL4(flow),
  };
}

const MAX_REASONS = 64;
const EXAMPLES_PER_EDGE = 3;

/** Drops on one edge. */
export interface EdgeDrops {
  byReason: CappedCounter;
  policyDenied: number;
  /** Policy-denied packets that were a connection's first SYN: what a denied TCP connection looks like. */
  policyDeniedSyns: number;
  /** Policy denials by the side whose policy dropped: the server's ingress or the client's egress. */
  policyDeniedBy: { ingress: number; egress: number; unknown: number };
  examples: FlowExample[];
}

export function createEdgeDrops(): EdgeDrops {
  return {
    byReason: new CappedCounter(MAX_REASONS),
    policyDenied: 0,
    policyDeniedSyns: 0,
    policyDeniedBy: { ingress: 0, egress: 0, unknown: 0 },
    examples: [],
  };
}

/**
 * The reason a denying policy-verdict event stands for: its own when it carries a known one, else POLICY_DENIED
 * (a verdict event is a policy decision, whatever the export kept of its reason).
 */
export function verdictEventReason(flow: Flow): string {
  const reason = dropReason(flow);
  return reason === 'DROP_REASON_UNKNOWN' ? 'POLICY_DENIED' : reason;
}

function isFirstSyn(flow: Flow): boolean {
  const flags = flow.l4?.TCP?.flags;
  return flags?.SYN === true && flags.ACK !== true;
}

/** What was denied, in the unit that was counted: `4 SYNs denied` when every one was a connection's first SYN. */
export function deniedMessage(denied: number, syns: number): Message {
  return msg`${count(denied, denied > 0 && syns === denied ? 'SYN' : 'packet')} denied`;
}

export function mergeDrops(into: EdgeDrops, from: EdgeDrops): void {
  into.byReason.merge(from.byReason);
  into.policyDenied += from.policyDenied;
  into.policyDeniedSyns += from.policyDeniedSyns;
  for (const k of ['ingress', 'egress', 'unknown'] as const) into.policyDeniedBy[k] += from.policyDeniedBy[k];
  for (const ex of from.examples) if (into.examples.length < EXAMPLES_PER_EDGE) into.examples.push(ex);
}

/** Counts a dropped packet on its edge; returns the reason. */
export function observeDrop(drops: EdgeDrops, flow: Flow, reason: string = dropReason(flow)): string {
  drops.byReason.add(reason);
  if (isPolicyReason(reason)) {
    drops.policyDenied++;
    if (isFirstSyn(flow)) drops.policyDeniedSyns++;
    const dir = flow.traffic_direction;
    if (dir === 'INGRESS') drops.policyDeniedBy.ingress++;
    else if (dir === 'EGRESS') drops.policyDeniedBy.egress++;
    else drops.policyDeniedBy.unknown++;
  }
  // A second example of a reason only while room is left, so a rare reason is not crowded out by a frequent one.
  const known = drops.examples.some((e) => e.reason === reason);
  if (drops.examples.length < EXAMPLES_PER_EDGE && (!known || drops.examples.length < 2)) {
    drops.examples.push(flowExample(flow, reason));
  }
  return reason;
}
