// Follows Relay's GetFlows for the lab run: writes flows.jsonl (jsonpb) and hands every record to the analysis;
// on a broken stream it resumes from the last flow's time and drops the records it already has (by uuid).
import { createWriteStream, type WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GetFlowsRequest, GetFlowsResponse } from '../flows/types.ts';
import { connectObserver, type ObserverClient } from '../hubble/client.ts';
import { toJsonpb } from '../hubble/codec/write.ts';

export interface CollectorStats {
  flows: number;
  lostEvents: number;
  nodeStatus: number;
  duplicates: number;
  reconnects: number;
  lastError?: string;
}

/** How many recent uuids are remembered to drop the overlap after a resume. */
const recentUuids = 50_000;

export class FlowCollector {
  readonly stats: CollectorStats = { flows: 0, lostEvents: 0, nodeStatus: 0, duplicates: 0, reconnects: 0 };
  private readonly out: WriteStream;
  private readonly controller = new AbortController();
  private readonly seen = new Set<string>();
  private lastTime: string | undefined;
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

  private async loop(): Promise<void> {
    const signal = this.controller.signal;
    let backoff = 250;
    while (!signal.aborted) {
      const req: GetFlowsRequest = { ...this.request, follow: true };
      if (this.lastTime) req.since = this.lastTime;
      try {
        this.client ??= await connectObserver(this.address, { what: 'Hubble Relay' });
        for await (const resp of this.client.getFlows(req, { signal })) {
          backoff = 250;
          if (resp.flow) {
            if (resp.flow.uuid && !this.remember(resp.flow.uuid)) {
              this.stats.duplicates++;
              continue;
            }
            this.stats.flows++;
            if (resp.flow.time) this.lastTime = resp.flow.time;
          } else if (resp.lost_events) this.stats.lostEvents++;
          else if (resp.node_status) this.stats.nodeStatus++;
          this.out.write(`${toJsonpb(resp)}\n`);
          this.onResponse(resp);
        }
        if (signal.aborted) break;
        throw new Error('the stream ended');
      } catch (err) {
        if (signal.aborted) break;
        this.stats.reconnects++;
        this.stats.lastError = (err as Error).message;
        this.onProblem(`flow stream broke (${(err as Error).message}); resuming from ${this.lastTime ?? 'the start'}`);
        this.client?.close();
        this.client = undefined;
        await sleep(backoff, undefined, { signal }).catch(() => {});
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /** Waits `drainMs` for late flows, then ends the stream and closes flows.jsonl. */
  async stop(drainMs: number): Promise<CollectorStats> {
    await new Promise((r) => setTimeout(r, drainMs));
    this.controller.abort();
    await this.running;
    this.client?.close();
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return this.stats;
  }
}
