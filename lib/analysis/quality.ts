// Data quality: what the numbers rest on — time window, malformed lines, lost events, unavailable nodes, L7 visibility.
import type { Flow, GetFlowsResponse } from '../flows/types.ts';
import { diagnoseNothingRead } from '../hubble/codec/diagnose.ts';
import type { ReadStats } from '../hubble/codec/read.ts';

const MAX_NODES = 1000;
const UNAVAILABLE_STATES = new Set(['NODE_UNAVAILABLE', 'NODE_GONE', 'NODE_ERROR']);

export interface MalformedSample {
  line: number;
  reason: string;
}

export interface UnavailableNode {
  name: string;
  state: string;
  message: string | undefined;
  time: string | undefined;
}

/** What reading the input gave, beyond the records themselves: what the completeness check judges. */
export interface InputRead {
  /** Lines read from a file or stdin; null for a live server. */
  lines: number | null;
  /** Hubble records read: flows, lost events and node status. */
  records: number;
  malformed: number;
  malformedExamples: MalformedSample[];
  /** Recognised records that are not flows (exporter agent and debug events), left out. */
  skipped: number;
  /** When no record could be read: what the input held instead, and what to do. */
  diagnosis: string | null;
  /** The read ended before the input did (truncated gzip, I/O error, a stream cut): why, and the last line read. */
  failure: { reason: string; lastGoodLine: number | null } | null;
}

/** What a file reader saw, for the analysis; `source` is the path as given (`-` for stdin), for suggested commands. */
export function inputReadOf(stats: ReadStats, source: string): InputRead {
  return {
    lines: stats.lines,
    records: stats.records,
    malformed: stats.malformed,
    malformedExamples: stats.firstMalformed,
    skipped: stats.skipped,
    diagnosis: diagnoseNothingRead(stats, source) ?? null,
    failure: null,
  };
}

/** An enum value this version does not know (a newer Cilium's, or a typo): kept under its own name, never guessed. */
export interface UnknownValue {
  /** The field, as `flow.verdict`. */
  field: string;
  value: string;
  count: number;
  /** The first lines it was seen on, when read from a file. */
  lines: number[];
}

/** A stretch of a live collection whose flows may not all have been read: the stream was down, or the run stopped early. */
export interface CollectionGap {
  /** When it began (RFC 3339). */
  from: string;
  /** When flows came again (RFC 3339); null when they had not by the end. */
  to: string | null;
  seconds: number;
  /** True when every flow of the gap was read after all (replayed from the agents' buffers). */
  recovered: boolean;
  /** Flows estimated lost (0 when recovered). */
  estimatedLost: number;
  reason: string;
}

export interface QualitySummary {
  window: { start: string | null; end: string | null; seconds: number };
  input: InputRead;
  malformedLines: number;
  malformedExamples: MalformedSample[];
  unknownValues: UnknownValue[];
  /** Flows read that the filters left out. */
  flowsFiltered: number;
  lostEvents: { total: number; records: number; bySource: Record<string, number> };
  nodes: { seen: string[]; unavailable: UnavailableNode[] };
  l7: { flows: number; http: number; dns: number; kafka: number; note: string | null };
  /** False when events were lost or a node was unavailable: counts are then lower bounds. */
  /** Times a live collection was cut off; present only when there were any. */
  gaps?: CollectionGap[];
  complete: boolean;
  notes: string[];
}

export const NO_L7_NOTE =
  'No L7 flows: latency and HTTP status need an L7 visibility policy (a CiliumNetworkPolicy with `rules.http` or `rules.dns` on the port), so they are not reported rather than shown as zeros.';

export class QualityTracker {
  private startMs = Infinity;
  private endMs = -Infinity;
  private start: string | null = null;
  private end: string | null = null;
  private lostTotal = 0;
  private lostRecords = 0;
  private readonly lostBySource: Record<string, number> = {};
  private readonly nodesSeen = new Set<string>();
  private readonly unavailable = new Map<string, UnavailableNode>();
  private l7 = { flows: 0, http: 0, dns: 0, kafka: 0 };
  private read: InputRead = { lines: null, records: 0, malformed: 0, malformedExamples: [], skipped: 0, diagnosis: null, failure: null };
  private unknownValues: UnknownValue[] = [];
  private filtered = 0;
  private readonly notes: string[] = [];
  private readonly gaps: CollectionGap[] = [];

  observeFlow(flow: Flow, timeMs: number | undefined): void {
    if (timeMs !== undefined) {
      if (timeMs < this.startMs || (timeMs === this.startMs && flow.time! < this.start!)) {
        this.startMs = timeMs;
        this.start = flow.time!;
      }
      // Equal milliseconds: the nanoseconds decide (same RFC 3339 shape compares as text).
      if (timeMs > this.endMs || (timeMs === this.endMs && flow.time! > this.end!)) {
        this.endMs = timeMs;
        this.end = flow.time!;
      }
    }
    const node = flow.node_name;
    if (node && this.nodesSeen.size < MAX_NODES) this.nodesSeen.add(node);
    const l7 = flow.l7;
    if (l7) {
      this.l7.flows++;
      if (l7.http) this.l7.http++;
      else if (l7.dns) this.l7.dns++;
      else if (l7.kafka) this.l7.kafka++;
    }
  }

  observeLost(resp: GetFlowsResponse): void {
    const lost = resp.lost_events!;
    const n = Number(lost.num_events_lost ?? 0);
    const source = lost.source ?? 'UNKNOWN_LOST_EVENT_SOURCE';
    this.lostRecords++;
    this.lostTotal += n;
    this.lostBySource[source] = (this.lostBySource[source] ?? 0) + n;
  }

  observeNodeStatus(resp: GetFlowsResponse): void {
    const status = resp.node_status!;
    const state = status.state_change ?? 'UNKNOWN_NODE_STATE';
    if (!UNAVAILABLE_STATES.has(state)) return;
    for (const name of status.node_names ?? []) {
      if (this.unavailable.size >= MAX_NODES) break;
      // The first time a node went away is the one that matters: the window is incomplete from there.
      if (!this.unavailable.has(name)) this.unavailable.set(name, { name, state, message: status.message || undefined, time: resp.time });
    }
  }

  /** Nodes the server itself reported unavailable (ServerStatus), for live analysis. */
  observeServerStatus(unavailableNodes: readonly string[]): void {
    for (const name of unavailableNodes) {
      if (!this.unavailable.has(name)) {
        this.unavailable.set(name, { name, state: 'NODE_UNAVAILABLE', message: 'reported by ServerStatus', time: undefined });
      }
    }
  }

  /** What the reader saw. Records read live (no reader) are counted by the caller and passed as `records`. */
  setRead(read: InputRead, unknownValues: readonly UnknownValue[] = []): void {
    this.read = { ...read, malformedExamples: read.malformedExamples.map((e) => ({ line: e.line, reason: e.reason })) };
    this.unknownValues = unknownValues.map((u) => ({ ...u, lines: [...u.lines] }));
  }

  get failure(): InputRead['failure'] {
    return this.read.failure;
  }

  /** The read ended early: the report covers what came before, and says so. */
  setFailure(reason: string, lastGoodLine: number | null): void {
    this.read = { ...this.read, failure: { reason, lastGoodLine } };
  }

  setFiltered(flows: number): void {
    this.filtered = flows;
  }

  /** A time the collection was cut off (a broken stream, a run that stopped early); unrecovered, the data is incomplete. */
  observeGap(gap: CollectionGap): void {
    const { from, to, seconds, recovered, estimatedLost, reason } = gap;
    this.gaps.push({ from, to, seconds, recovered, estimatedLost, reason });
  }

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  summary(): QualitySummary {
    const seconds = this.start === null ? 0 : Math.max(0, (this.endMs - this.startMs) / 1000);
    const unavailable = [...this.unavailable.values()];
    const complete =
      this.lostTotal === 0 && this.lostRecords === 0 && unavailable.length === 0 && this.read.failure === null && this.gaps.every((g) => g.recovered);
    return {
      window: { start: this.start, end: this.end, seconds },
      input: { ...this.read, malformedExamples: [...this.read.malformedExamples] },
      malformedLines: this.read.malformed,
      malformedExamples: [...this.read.malformedExamples],
      unknownValues: this.unknownValues.map((u) => ({ ...u, lines: [...u.lines] })),
      flowsFiltered: this.filtered,
      lostEvents: { total: this.lostTotal, records: this.lostRecords, bySource: { ...this.lostBySource } },
      nodes: { seen: [...this.nodesSeen].sort(), unavailable },
      l7: { ...this.l7, note: this.l7.flows === 0 ? NO_L7_NOTE : null },
      ...(this.gaps.length ? { gaps: this.gaps.map((g) => ({ ...g })) } : {}),
      complete,
      notes: [...this.notes, ...this.gaps.filter((g) => g.recovered).map(gapText)],
    };
  }
}

function gapText(g: CollectionGap): string {
  const span = g.to === null && g.seconds === 0 ? `after ${g.from}` : `from ${g.from} to ${g.to ?? 'the end'} (${g.seconds.toFixed(1)}s)`;
  if (g.recovered) return `The flow stream was down ${span}: ${g.reason}; every flow of the gap was read from the agents' buffers after it resumed.`;
  return `flows were not collected ${span}: ${g.reason}${g.estimatedLost ? `; about ${g.estimatedLost} flow(s) lost` : ''}`;
}

/** What the collection itself missed: such data is incomplete whatever `incomplete` accepts of Hubble's own losses. */
export function missedFlows(q: QualitySummary): string[] {
  return (q.gaps ?? []).filter((g) => !g.recovered).map(gapText);
}
