// Follows Relay's GetFlows for the lab run: writes flows.jsonl (jsonpb) and hands every record to the analysis.
// A broken stream is resumed from a little before the last flow's time, the overlap dropped by uuid; whether the
// agents' buffers still held the gap is checked, and every gap is kept with what it cost.
import { createWriteStream, type WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GetFlowsRequest, GetFlowsResponse } from '../flows/types.ts';
import { connectObserver, type ObserverClient } from '../hubble/client.ts';
import { toJsonpb } from '../hubble/codec/write.ts';
import { redactFlowSecrets } from '../flows/redact.ts';
import type { CollectionGap } from '../analysis/quality.ts';

/** A time the flow stream was down: a collection gap, with the nodes whose buffers no longer held all of it. */
export interface StreamGap extends CollectionGap {
  /** Nodes whose buffer had already dropped part of the gap, and from when they hold flows again. */
  overwritten: { node: string; heldFrom: string }[];
}

export interface CollectorStats {
  flows: number;
  lostEvents: number;
  nodeStatus: number;
  duplicates: number;
  reconnects: number;
  lastError?: string;
  gaps: StreamGap[];
  /** How the collection ended: 'stopped', or why the stream was down when it was stopped. */
  ended: string;
}

/** How many recent uuids are remembered to drop the overlap after a resume. */
const recentUuids = 50_000;

/**
 * A resume asks for flows from this long before the last one held: Relay merges the nodes' flows through a sort
 * window, so when the stream broke, flows a little older than the last one sent may not have been sent yet.
 */
export const resumeOverlapMs = 5000;

/** How long a resume waits for Relay to reach the nodes it served before: a node not yet connected would be left out. */
const nodesWaitMs = 10_000;

const iso = (ms: number) => new Date(ms).toISOString();
const secondsText = (s: number) => `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;

function timeMs(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

interface OpenGap {
  fromMs: number;
  reason: string;
  /** The last flow time held when it broke. */
  lastFlowMs: number | undefined;
}

export class FlowCollector {
  readonly stats: CollectorStats = { flows: 0, lostEvents: 0, nodeStatus: 0, duplicates: 0, reconnects: 0, gaps: [], ended: 'running' };
  private readonly out: WriteStream;
  private readonly controller = new AbortController();
  private readonly seen = new Set<string>();
  private lastTime: string | undefined;
  private lastMs: number | undefined;
  /** Per node: flows collected and the first and last flow time, for the rate a loss is estimated with. */
  private readonly flowsByNode = new Map<string, { count: number; firstMs: number; lastMs: number }>();
  private gap: OpenGap | undefined;
  /** The last gap while the resumed stream replays it: lost_events until it reaches the break mean the replay lost flows. */
  private replaying: { gap: StreamGap; untilMs: number } | undefined;
  private running: Promise<void> | undefined;
  private client: ObserverClient | undefined;

  constructor(
    private readonly address: string,
    private readonly request: GetFlowsRequest,
    outPath: string,
    private readonly onResponse: (resp: GetFlowsResponse) => void,
    private readonly onProblem: (line: string) => void = () => {},
  ) {
    this.out = createWriteStream(outPath);
  }

  /** Opens the stream; resolves once the first connection is made (rejects when Relay cannot be reached). */
  async start(): Promise<void> {
    this.client = await connectObserver(this.address, { what: 'Hubble Relay' });
    this.running = this.loop();
  }

  private remember(uuid: string): boolean {
    if (this.seen.has(uuid)) return false;
    this.seen.add(uuid);
    if (this.seen.size > recentUuids) this.seen.delete(this.seen.values().next().value!);
    return true;
  }

  private resumeRequest(): GetFlowsRequest {
    const req: GetFlowsRequest = { ...this.request, follow: true };
    if (this.lastMs !== undefined) {
      const since = this.lastMs - resumeOverlapMs;
      const first = timeMs(this.request.since);
      req.since = iso(first !== undefined ? Math.max(first, since) : since);
    }
    return req;
  }

  private async loop(): Promise<void> {
    const signal = this.controller.signal;
    let backoff = 250;
    let lastProblem = '';
    while (!signal.aborted) {
      try {
        this.client ??= await connectObserver(this.address, { what: 'Hubble Relay' });
        const overwritten = this.gap ? await this.checkBuffers(this.client, signal) : [];
        for await (const resp of this.client.getFlows(this.resumeRequest(), { signal })) {
          backoff = 250;
          lastProblem = '';
          if (this.gap) this.closeGap(overwritten);
          if (resp.flow) {
            if (resp.flow.uuid && !this.remember(resp.flow.uuid)) {
              this.stats.duplicates++;
              continue;
            }
            this.stats.flows++;
            const ms = timeMs(resp.flow.time);
            if (ms !== undefined) {
              this.lastTime = resp.flow.time;
              if (this.lastMs === undefined || ms > this.lastMs) this.lastMs = ms;
              const node = resp.flow.node_name ?? resp.node_name ?? '';
              const seen = this.flowsByNode.get(node);
              if (seen) {
                seen.count++;
                seen.firstMs = Math.min(seen.firstMs, ms);
                seen.lastMs = Math.max(seen.lastMs, ms);
              } else this.flowsByNode.set(node, { count: 1, firstMs: ms, lastMs: ms });
            }
            if (this.replaying && ms !== undefined && ms >= this.replaying.untilMs) this.replaying = undefined;
          } else if (resp.lost_events) {
            this.stats.lostEvents++;
            if (this.replaying) this.replayLost(this.replaying.gap, Number(resp.lost_events.num_events_lost ?? 0));
          } else if (resp.node_status) this.stats.nodeStatus++;
          // flows.jsonl outlives the run: URL secrets from clusters that do not redact them stay out of it.
          if (resp.flow) redactFlowSecrets(resp.flow);
          this.out.write(`${toJsonpb(resp)}\n`);
          this.onResponse(resp);
        }
        if (signal.aborted) break;
        throw new Error('the server ended the stream');
      } catch (err) {
        if (signal.aborted) break;
        const reason = (err as Error).message;
        this.stats.reconnects++;
        this.stats.lastError = reason;
        if (!this.gap) {
          this.gap = { fromMs: Date.now(), reason, lastFlowMs: this.lastMs };
          this.onProblem(`flow stream broke (${reason}); resuming from ${this.lastTime ?? 'the start'}`);
        } else if (reason !== lastProblem) {
          this.onProblem(`flow stream still down (${reason}); retrying`);
        }
        lastProblem = reason;
        this.client?.close();
        this.client = undefined;
        await sleep(backoff, undefined, { signal }).catch(() => {});
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /**
   * Which nodes' buffers no longer hold the flows since the last one collected: a full ring whose oldest flow is
   * newer than that. Relay answers `first: 1` per node, so one call gives every node's oldest flow.
   */
  private async checkBuffers(client: ObserverClient, signal: AbortSignal): Promise<{ node: string; heldFromMs: number }[]> {
    const deadline = Date.now() + nodesWaitMs;
    const want = this.flowsByNode.size;
    for (;;) {
      const status = await client.serverStatus();
      if ((status.num_unavailable_nodes ?? 0) === 0 && (status.num_connected_nodes ?? 0) >= want) break;
      if (Date.now() >= deadline) break;
      await sleep(250, undefined, { signal });
    }
    const from = this.gap?.lastFlowMs;
    if (from === undefined) return [];
    const full = new Map<string, boolean>();
    for (const n of await client.getNodes()) {
      if (n.name) full.set(n.name, Number(n.max_flows ?? 0) > 0 && Number(n.num_flows ?? 0) >= Number(n.max_flows ?? 0));
    }
    const lost: { node: string; heldFromMs: number }[] = [];
    for await (const resp of client.getFlows({ first: true, number: 1 }, { signal })) {
      const node = resp.flow?.node_name;
      const oldest = timeMs(resp.flow?.time);
      if (!node || oldest === undefined) continue;
      // A ring that never filled has lost nothing, however new its oldest flow.
      if ((full.get(node) ?? true) && oldest > from) lost.push({ node, heldFromMs: oldest });
    }
    return lost;
  }

  /** Flows per second of a node (of every node, without one) while they were collected. */
  private rate(node?: string): number {
    const nodes = node === undefined ? [...this.flowsByNode.values()] : [this.flowsByNode.get(node)].filter((n) => n !== undefined);
    let rate = 0;
    for (const n of nodes) {
      const span = (n.lastMs - n.firstMs) / 1000;
      // n flows span n − 1 intervals; a single flow gives no rate, so it counts as one a second.
      rate += n.count >= 2 && span > 0 ? (n.count - 1) / span : n.count;
    }
    return rate;
  }

  private closeGap(overwritten: { node: string; heldFromMs: number }[]): void {
    const gap = this.gap!;
    this.gap = undefined;
    const now = Date.now();
    const from = gap.lastFlowMs ?? gap.fromMs;
    const estimatedLost = Math.ceil(overwritten.reduce((sum, o) => sum + (this.rate(o.node) * Math.max(0, o.heldFromMs - from)) / 1000, 0));
    const recorded: StreamGap = {
      from: iso(gap.fromMs),
      to: iso(now),
      seconds: (now - gap.fromMs) / 1000,
      recovered: overwritten.length === 0,
      estimatedLost,
      reason: gap.reason,
      overwritten: overwritten.map((o) => ({ node: o.node, heldFrom: iso(o.heldFromMs) })),
    };
    this.stats.gaps.push(recorded);
    this.replaying = { gap: recorded, untilMs: gap.fromMs };
    if (recorded.recovered) {
      this.onProblem(
        `flow stream resumed after ${secondsText(recorded.seconds)}; the agents' buffers still held the flows since ${this.lastTime ?? 'the start'}`,
      );
    } else {
      const nodes = recorded.overwritten.map((o) => `${o.node} from ${o.heldFrom}`).join(', ');
      this.onProblem(
        `flow stream resumed after ${secondsText(recorded.seconds)}, but buffers had been overwritten (held again: ${nodes}): about ${estimatedLost} flow(s) lost`,
      );
    }
  }

  /** Hubble's buffer moved on while the gap was being replayed: what it reports lost was part of the gap. */
  private replayLost(gap: StreamGap, lost: number): void {
    gap.estimatedLost += lost;
    if (gap.recovered) this.onProblem(`the flows of the gap since ${gap.from} were overwritten while they were replayed: ${lost} lost`);
    gap.recovered = false;
  }

  /** Waits `drainMs` for late flows, then ends the stream and closes flows.jsonl. */
  async stop(drainMs: number): Promise<CollectorStats> {
    await new Promise((r) => setTimeout(r, drainMs));
    this.controller.abort();
    await this.running;
    this.client?.close();
    const gap = this.gap;
    if (gap) {
      // Nothing says whether flows were made while the stream was down: the rate before it is the estimate.
      const now = Date.now();
      const from = gap.lastFlowMs ?? gap.fromMs;
      this.stats.gaps.push({
        from: iso(gap.fromMs),
        to: null,
        seconds: (now - gap.fromMs) / 1000,
        recovered: false,
        estimatedLost: Math.ceil((this.rate() * Math.max(0, now - from)) / 1000),
        reason: gap.reason,
        overwritten: [],
      });
      this.stats.ended = `the flow stream was down from ${iso(gap.fromMs)} to the end (${gap.reason})`;
    } else this.stats.ended = 'stopped';
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return this.stats;
  }
}
