// An ObserverSource over one FlowRing, with the GetFlows semantics of Hubble's local observer: where to start
// (first / last N / since / follow), until, whitelist − blacklist, and lost_events for readers that fall behind.
import type { Flow, GetFlowsRequest, GetFlowsResponse, NodeState } from '../../flows/types.ts';
import { encodeGetFlowsResponse, type Namespace, type Node, type ServerStatus } from '../grpc/messages.ts';
import { cpuSlicer } from './cpu-slice.ts';
import { compileFieldMask } from './field-mask.ts';
import { compileRequestFilters } from './request-filters.ts';
import { formatTimestamp, parseTimestamp, timestampFromMillis, type TimestampParts } from '../grpc/timestamp.ts';
import { compareTime, entryBytes, MAX_MESSAGE_BYTES, type FlowRing, type RingEntry } from './ring.ts';
import { ObserverError, type FlowStreamSink, type ObserverSource } from './source.ts';

export interface RingSourceOptions {
  /** Node name put on lost_events this observer generates itself. */
  nodeName: string;
  /** Reported in ServerStatus.version and Node.version. */
  version: string;
  /** The nodes behind this observer (GetNodes, ServerStatus node counts); defaults to this node, connected. */
  nodes?: () => Node[];
  /** Start of uptime (ms since the epoch); defaults to now. */
  startedAtMs?: number;
  /**
   * Count `number` per node, as Hubble Relay does (it asks every node for the last or first N and merges):
   * for a ring that holds several nodes' records, like a replayed export.
   */
  perNode?: boolean;
  /** Told, once per record, of a record not served because it is larger than a client accepts. */
  onSkip?(note: string): void;
}

/** Non-flow records (lost_events, node_status) are never filtered, time-ranged or counted. */
function isFlowEntry(e: RingEntry): e is RingEntry & { response: GetFlowsResponse & { flow: Flow } } {
  return e.response.flow !== undefined;
}

function requestTime(text: string | undefined, name: string): TimestampParts | undefined {
  if (text === undefined) return undefined;
  const t = parseTimestamp(text);
  if (!t) throw new ObserverError('INVALID_ARGUMENT', `${name} is not a valid timestamp: ${text}`);
  return t;
}

/** Iterations of a ring walk between clock reads: matching one flow may take a while. */
const CHECK_EVERY = 8;

/** Sequence number to start reading at, as Hubble's newRingReader picks it. */
async function startSeq(
  ring: FlowRing,
  req: GetFlowsRequest,
  match: (f: Flow) => boolean,
  since: TimestampParts | undefined,
  signal: AbortSignal,
): Promise<number> {
  const number = req.number ?? 0;
  if (req.first && !since) return ring.oldest;
  if (req.follow && number === 0 && !since) return ring.written;
  // Walk back from the newest record until enough matching flows (last N) or one older than `since`.
  let count = 0;
  const slice = cpuSlicer({ checkEvery: CHECK_EVERY });
  for (let seq = ring.written - 1; seq >= ring.oldest; seq--) {
    const pause = slice();
    if (pause) {
      await pause;
      if (signal.aborted) return ring.written;
    }
    const e = ring.at(seq);
    if (!e || !isFlowEntry(e) || !match(e.response.flow)) continue;
    count++;
    if (since) {
      if (compareTime(e, since.seconds, since.nanos) < 0) return seq + 1;
    } else if (count === number) {
      return seq;
    }
  }
  return ring.oldest;
}

function nowText(): string {
  const now = timestampFromMillis(Date.now());
  return formatTimestamp(now.seconds, now.nanos);
}

function lostRecord(nodeName: string, lost: number): GetFlowsResponse {
  return { lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: String(lost) }, node_name: nodeName, time: nowText() };
}

/** A node_status record as Relay sends it, from its own node, stamped now. */
export function nodeStatusRecord(relayNodeName: string, state: NodeState, names: string[], message?: string): GetFlowsResponse {
  return { node_status: { state_change: state, node_names: names, ...(message ? { message } : {}) }, node_name: relayNodeName, time: nowText() };
}

const nodeOf = (flow: Flow): string => flow.node_name ?? '';

/**
 * Which flows of the ring's history a request admits. Hubble's observer counts `number` over its own ring;
 * Relay counts it per node. Records written after the request started are always admitted (follow).
 */
interface Selection {
  start: number;
  /** Called for each matching flow in order; false drops it. */
  admit(flow: Flow, seq: number): boolean;
  /** Whether a record that is no flow (lost_events, node_status) is passed on; all are, unless counted per node. */
  admitOther?(record: GetFlowsResponse, seq: number): boolean;
  /** True once nothing more can be admitted. */
  done(): boolean;
}

async function singleObserver(
  ring: FlowRing,
  req: GetFlowsRequest,
  match: (f: Flow) => boolean,
  since: TimestampParts | undefined,
  signal: AbortSignal,
): Promise<Selection> {
  const limit = req.follow ? 0 : (req.number ?? 0);
  let sent = 0;
  return {
    start: await startSeq(ring, req, match, since, signal),
    admit: () => {
      sent++;
      return true;
    },
    done: () => limit > 0 && sent >= limit,
  };
}

/**
 * Relay asks every node for its last (or first) N and merges the streams: each node's stream starts at its own
 * Nth-last matching flow, or at its oldest record when fewer match, and with `first` ends after its N flows. Records
 * that are no flow follow their node's stream (a lost_events record of a node is sent only while that node's
 * stream runs); those of no flow node (Relay's own node_status) pass from the start.
 */
async function perNode(
  ring: FlowRing,
  req: GetFlowsRequest,
  match: (f: Flow) => boolean,
  since: TimestampParts | undefined,
  signal: AbortSignal,
): Promise<Selection> {
  const number = req.number ?? 0;
  if (since || number === 0) return { ...(await singleObserver(ring, { ...req, number: 0 }, match, since, signal)), done: () => false };
  const historyEnd = ring.written;
  const counts = new Map<string, number>();
  const recordNode = (r: GetFlowsResponse) => r.node_name ?? '';
  if (req.first) {
    return {
      start: ring.oldest,
      admit: (flow, seq) => {
        if (seq >= historyEnd) return true;
        const n = counts.get(nodeOf(flow)) ?? 0;
        counts.set(nodeOf(flow), n + 1);
        return n < number;
      },
      admitOther: (record, seq) => seq >= historyEnd || (counts.get(recordNode(record)) ?? 0) < number,
      done: () => false,
    };
  }
  // Walk back from the newest record until each node has its N matching flows (or the ring ends).
  const starts = new Map<string, number>();
  const flowNodes = new Set<string>();
  const slice = cpuSlicer({ checkEvery: CHECK_EVERY });
  for (let seq = historyEnd - 1; seq >= ring.oldest; seq--) {
    const pause = slice();
    if (pause) {
      await pause;
      if (signal.aborted) break;
    }
    const e = ring.at(seq);
    if (!e || !isFlowEntry(e)) continue;
    const node = nodeOf(e.response.flow);
    flowNodes.add(node);
    if (!match(e.response.flow)) continue;
    const n = counts.get(node) ?? 0;
    if (n < number) {
      counts.set(node, n + 1);
      starts.set(node, seq);
    }
  }
  // A node with fewer than N matching flows is read from its oldest record.
  const startOf = (node: string) => ((counts.get(node) ?? 0) >= number ? starts.get(node)! : ring.oldest);
  const start = [...flowNodes].reduce((min, node) => Math.min(min, startOf(node)), historyEnd);
  return {
    start,
    admit: (flow, seq) => seq >= historyEnd || seq >= startOf(nodeOf(flow)),
    admitOther: (record, seq) => seq >= historyEnd || !flowNodes.has(recordNode(record)) || seq >= startOf(recordNode(record)),
    done: () => false,
  };
}

/**
 * Streams what `req` selects from the ring into the sink. Honours backpressure (waits while the sink is full)
 * and the signal (returns as soon as it aborts: the client cancelled or its deadline passed); the work of
 * filtering gives the event loop back every few milliseconds, so other calls are served meanwhile. A reader that the writer laps gets one lost_events record
 * (HUBBLE_RING_BUFFER, the number of records it missed) and continues from the oldest record still held.
 */
export async function streamFromRing(
  ring: FlowRing,
  req: GetFlowsRequest,
  sink: FlowStreamSink,
  signal: AbortSignal,
  opts: { nodeName: string; perNode?: boolean; onSkip?(note: string): void },
): Promise<void> {
  if (req.first && req.follow) throw new ObserverError('INVALID_ARGUMENT', 'first cannot be specified with follow');
  const since = requestTime(req.since, 'since');
  const until = requestTime(req.until, 'until');
  const match = await compileRequestFilters(req, signal);
  if (!match) return;
  const mask = compileFieldMask(req);
  // What the ring held when the request came: a walk to the start may yield while more records arrive.
  const historyEnd = ring.written;
  const selection = await (opts.perNode ? perNode : singleObserver)(ring, req, match, since, signal);
  let seq = selection.start;
  const slice = cpuSlicer({ checkEvery: CHECK_EVERY });
  while (!signal.aborted) {
    if (selection.done()) return;
    const pause = slice();
    if (pause) {
      await pause;
      continue;
    }
    if (seq >= ring.written || (opts.perNode && !req.follow && seq >= historyEnd)) {
      if (!req.follow) return;
      await ring.nextWrite(signal);
      slice.resumed();
      continue;
    }
    let ok: boolean;
    const entry = ring.at(seq);
    if (!entry) {
      // The writer lapped us: report what was overwritten unread and carry on from the oldest record.
      const oldest = ring.oldest;
      ok = sink.send(lostRecord(opts.nodeName, oldest - seq));
      seq = oldest;
    } else {
      const at = seq++;
      if (isFlowEntry(entry)) {
        if (until && compareTime(entry, until.seconds, until.nanos) > 0) return;
        if (since && compareTime(entry, since.seconds, since.nanos) < 0) continue;
        if (!match(entry.response.flow)) continue;
      } else if (selection.admitOther && !selection.admitOther(entry.response, at)) {
        continue;
      }
      let bytes: Uint8Array;
      try {
        bytes = mask && isFlowEntry(entry) ? encodeGetFlowsResponse({ ...entry.response, flow: mask(entry.response.flow) }) : entryBytes(entry);
      } catch (err) {
        // An export can hold what protobuf cannot carry (an enum name from a newer Cilium): skip it, end no stream.
        skipRecord(entry, `it cannot be encoded: ${(err as Error).message}`, opts.onSkip);
        continue;
      }
      // Checked before the flow counts towards `number`: a skipped flow is not one of the N sent.
      if (bytes.length > MAX_MESSAGE_BYTES) {
        skipRecord(entry, `${bytes.length} bytes encoded, over the ${MAX_MESSAGE_BYTES} bytes (4 MiB) a Hubble client accepts in one message`, opts.onSkip);
        continue;
      }
      if (isFlowEntry(entry) && !selection.admit(entry.response.flow, at)) continue;
      ok = sink.send(bytes);
    }
    if (!ok) {
      await sink.drained();
      slice.resumed();
    }
  }
}

/** Notes, once per record, that it is not served: one record must not end every stream that covers it. */
function skipRecord(entry: RingEntry, why: string, onSkip: ((note: string) => void) | undefined): void {
  if (entry.oversize) return;
  entry.oversize = true;
  const r = entry.response;
  const what = r.flow ? `flow ${r.flow.uuid ?? '(no uuid)'}` : r.lost_events ? 'lost_events record' : 'record';
  const where = [r.node_name ?? r.flow?.node_name, r.time ?? r.flow?.time].filter(Boolean).join(' at ');
  onSkip?.(`not serving the ${what}${where ? ` from ${where}` : ''}: ${why}`);
}

/** Namespaces with flows within an hour of the newest record, sorted by cluster then name (as Hubble). */
function recentNamespaces(ring: FlowRing): Namespace[] {
  const newest = ring.at(ring.written - 1);
  const horizon = newest && !Number.isNaN(newest.seconds) ? newest.seconds - 3600 : -Infinity;
  const seen = new Map<string, Namespace>();
  for (let seq = ring.written - 1; seq >= ring.oldest; seq--) {
    const e = ring.at(seq);
    if (!e || !isFlowEntry(e)) continue;
    if (e.seconds < horizon) break;
    for (const ep of [e.response.flow.source, e.response.flow.destination]) {
      if (!ep?.namespace) continue;
      const cluster = ep.cluster_name ?? '';
      const key = `${cluster}\u0000${ep.namespace}`;
      if (!seen.has(key)) seen.set(key, cluster ? { cluster, namespace: ep.namespace } : { namespace: ep.namespace });
    }
  }
  return [...seen.values()].sort((a, b) => (a.cluster ?? '').localeCompare(b.cluster ?? '') || (a.namespace ?? '').localeCompare(b.namespace ?? ''));
}

export class RingObserverSource implements ObserverSource {
  readonly ring: FlowRing;
  private readonly opts: RingSourceOptions;
  private readonly startedAtMs: number;

  constructor(ring: FlowRing, opts: RingSourceOptions) {
    this.ring = ring;
    this.opts = opts;
    this.startedAtMs = opts.startedAtMs ?? Date.now();
  }

  getFlows(req: GetFlowsRequest, sink: FlowStreamSink, signal: AbortSignal): Promise<void> {
    return streamFromRing(this.ring, req, sink, signal, { nodeName: this.opts.nodeName, perNode: this.opts.perNode, onSkip: this.opts.onSkip });
  }

  private uptimeNs(): string {
    return String(BigInt(Math.max(0, Date.now() - this.startedAtMs)) * 1_000_000n);
  }

  serverStatus(): ServerStatus {
    const nodes = this.getNodes();
    const unavailable = nodes.filter((n) => n.state !== 'NODE_CONNECTED').map((n) => n.name ?? '');
    const status: ServerStatus = {
      num_flows: String(this.ring.numFlows),
      max_flows: String(this.ring.capacity),
      seen_flows: String(this.ring.seenFlows),
      uptime_ns: this.uptimeNs(),
      num_connected_nodes: nodes.length - unavailable.length,
      num_unavailable_nodes: unavailable.length,
      version: this.opts.version,
      flows_rate: this.ring.flowsRate(),
    };
    if (unavailable.length > 0) status.unavailable_nodes = unavailable;
    return status;
  }

  getNodes(): Node[] {
    if (this.opts.nodes) return this.opts.nodes();
    return [
      {
        name: this.opts.nodeName,
        version: this.opts.version,
        state: 'NODE_CONNECTED',
        uptime_ns: this.uptimeNs(),
        num_flows: String(this.ring.numFlows),
        max_flows: String(this.ring.capacity),
        seen_flows: String(this.ring.seenFlows),
      },
    ];
  }

  getNamespaces(): Namespace[] {
    return recentNamespaces(this.ring);
  }
}
