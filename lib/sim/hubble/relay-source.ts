// Hubble Relay's Observer behind the shared server: GetFlows asks every connected node with the same request
// (so number/first count per node), merges the streams through the sort window and reports node_status;
// ServerStatus, GetNodes and GetNamespaces aggregate the nodes' answers.
import type { GetFlowsRequest, GetFlowsResponse, NodeState } from '../../flows/types.ts';
import type { Namespace, Node, ServerStatus } from '../../hubble/grpc/messages.ts';
import { formatTimestamp, parseTimestamp } from '../../hubble/grpc/timestamp.ts';
import { nodeStatusRecord } from '../../hubble/server/ring-source.ts';
import type { FlowStreamSink, ObserverSource } from '../../hubble/server/source.ts';
import type { PeerPool, RelayPeer } from './peer-pool.ts';
import { peerTarget } from './peer-watch.ts';
import { SortWindow } from './sort-window.ts';

export interface RelaySourceOptions {
  pool: PeerPool;
  version: string;
  /** node_name on the records Relay makes itself (node_status). */
  relayNodeName: string;
  /** --sort-buffer-len-max (default 100). */
  sortBufferMaxLen: number;
  /** --sort-buffer-drain-timeout (default 1 s), follow mode only. */
  sortBufferDrainMs: number;
  startedAtMs?: number;
}

/** Relay lists at most this many unavailable nodes in ServerStatus, as Hubble Relay does. */
const maxUnavailableListed = 10;

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The request for what a server recorded after the last record already read (a node or Relay coming back). */
export function resumeRequest(req: GetFlowsRequest, lastTime: string | undefined): GetFlowsRequest {
  const last = lastTime === undefined ? undefined : parseTimestamp(lastTime);
  if (!last) return req;
  const { number: _n, first: _f, since: _s, ...rest } = req;
  const nanos = last.nanos + 1;
  return { ...rest, since: nanos >= 1e9 ? formatTimestamp(last.seconds + 1, 0) : formatTimestamp(last.seconds, nanos) };
}

function sum(values: (string | undefined)[]): string {
  return values.reduce((acc, v) => acc + BigInt(v ?? 0), 0n).toString();
}

export class RelayObserverSource implements ObserverSource {
  private readonly startedAtMs: number;
  private readonly opts: RelaySourceOptions;

  constructor(opts: RelaySourceOptions) {
    this.opts = opts;
    this.startedAtMs = opts.startedAtMs ?? Date.now();
  }

  private status(state: NodeState, names: string[], message?: string): GetFlowsResponse {
    return nodeStatusRecord(this.opts.relayNodeName, state, names, message);
  }

  async getFlows(req: GetFlowsRequest, sink: FlowStreamSink, signal: AbortSignal): Promise<void> {
    const { pool } = this.opts;
    const peers = pool.list();
    const connected = peers.filter((p) => p.state === 'connected' && p.client);
    const unavailable = peers.filter((p) => !connected.includes(p));
    let maxLen = this.opts.sortBufferMaxLen;
    const perRequest = (req.number ?? 0) * peers.length;
    if (perRequest > 0 && perRequest < maxLen) maxLen = perRequest;
    const window = new SortWindow(sink, { maxLen, ...(req.follow ? { drainMs: this.opts.sortBufferDrainMs } : {}) });

    const direct = async (record: GetFlowsResponse) => {
      if (!sink.send(record)) await sink.drained();
    };
    if (connected.length > 0)
      await direct(
        this.status(
          'NODE_CONNECTED',
          connected.map((p) => p.name),
        ),
      );
    if (unavailable.length > 0)
      await direct(
        this.status(
          'NODE_UNAVAILABLE',
          unavailable.map((p) => p.name),
        ),
      );

    const readers = new Map<string, { stop: AbortController; done: Promise<void> }>();
    // Per node, the time of the last record passed on, so a node that comes back resumes after it.
    const lastTime = new Map<string, string>();
    const read = async (peer: RelayPeer, request: GetFlowsRequest, stop: AbortController) => {
      let reason: string;
      try {
        for await (const r of peer.client!.getFlows(request, { signal: stop.signal })) {
          const t = r.time ?? r.flow?.time;
          if (t !== undefined) lastTime.set(peer.name, t);
          await window.push(r);
          if (stop.signal.aborted) return;
        }
        if (!req.follow || stop.signal.aborted) return;
        reason = 'the node ended the stream';
      } catch (err) {
        if (stop.signal.aborted) return;
        reason = errorMessage(err);
      } finally {
        if (readers.get(peer.name)?.stop === stop) readers.delete(peer.name);
      }
      pool.markUnavailable(peer.name, reason, peer.client);
      await window.push(this.status('NODE_UNAVAILABLE', [peer.name], reason));
      // The pool may have reconnected while this stream was failing: then no 'connected' event is still to come.
      const now = pool.get(peer.name);
      if (req.follow && !signal.aborted && now?.state === 'connected' && now.client !== peer.client) rejoin(now);
    };
    const rejoin = (peer: RelayPeer) => {
      if (readers.has(peer.name) || !peer.client) return;
      void window.push(this.status('NODE_CONNECTED', [peer.name]));
      start(peer, resumeRequest(req, lastTime.get(peer.name)));
    };
    const start = (peer: RelayPeer, request: GetFlowsRequest) => {
      const stop = new AbortController();
      const entry = { stop, done: Promise.resolve() };
      readers.set(peer.name, entry);
      entry.done = read(peer, request, stop);
    };

    const abortAll = () => {
      for (const r of readers.values()) r.stop.abort();
    };
    signal.addEventListener('abort', abortAll, { once: true });
    const unsubscribe = req.follow
      ? pool.onChange((e) => {
          if (signal.aborted) return;
          if (e.type === 'connected') {
            rejoin(e.peer);
          } else if (e.type === 'removed') {
            readers.get(e.peer.name)?.stop.abort();
            void window.push(this.status('NODE_GONE', [e.peer.name]));
          }
        })
      : () => {};
    try {
      for (const p of connected) start(p, req);
      if (req.follow) {
        await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
        return;
      }
      await Promise.all([...readers.values()].map((r) => r.done));
      if (!signal.aborted) await window.flush();
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', abortAll);
      abortAll();
      window.close();
    }
  }

  /** Each connected node's ServerStatus; a node that fails to answer is marked unavailable. */
  private async statuses(): Promise<{ peer: RelayPeer; status: ServerStatus | undefined; error?: string }[]> {
    return Promise.all(
      this.opts.pool.list().map(async (peer) => {
        if (peer.state !== 'connected' || !peer.client) return { peer, status: undefined };
        try {
          return { peer, status: await peer.client.serverStatus() };
        } catch (err) {
          this.opts.pool.markUnavailable(peer.name, errorMessage(err), peer.client);
          return { peer, status: undefined, error: errorMessage(err) };
        }
      }),
    );
  }

  async serverStatus(): Promise<ServerStatus> {
    const results = await this.statuses();
    const answered = results.flatMap((r) => (r.status ? [r.status] : []));
    const unavailable = results.filter((r) => !r.status).map((r) => r.peer.name);
    const uptime = answered.reduce((max, s) => (BigInt(s.uptime_ns ?? 0) > max ? BigInt(s.uptime_ns ?? 0) : max), 0n);
    const status: ServerStatus = {
      num_flows: sum(answered.map((s) => s.num_flows)),
      max_flows: sum(answered.map((s) => s.max_flows)),
      seen_flows: sum(answered.map((s) => s.seen_flows)),
      uptime_ns: (answered.length > 0 ? uptime : BigInt(Date.now() - this.startedAtMs) * 1_000_000n).toString(),
      num_connected_nodes: results.length - unavailable.length,
      num_unavailable_nodes: unavailable.length,
      version: this.opts.version,
      flows_rate: answered.reduce((acc, s) => acc + (s.flows_rate ?? 0), 0),
    };
    if (unavailable.length > 0) status.unavailable_nodes = unavailable.slice(0, maxUnavailableListed);
    return status;
  }

  async getNodes(): Promise<Node[]> {
    const results = await this.statuses();
    return results.map(({ peer, status, error }) => {
      const target = peerTarget(peer.address);
      const state: NodeState = status ? 'NODE_CONNECTED' : error ? 'NODE_ERROR' : 'NODE_UNAVAILABLE';
      const node: Node = { name: peer.name, state, tls: { enabled: false } };
      if (target) node.address = `${target.host}:${target.port}`;
      if (status) {
        Object.assign(node, {
          version: status.version,
          uptime_ns: status.uptime_ns,
          num_flows: status.num_flows,
          max_flows: status.max_flows,
          seen_flows: status.seen_flows,
        });
      }
      return node;
    });
  }

  async getNamespaces(): Promise<Namespace[]> {
    const lists = await Promise.all(this.opts.pool.list().map((p) => (p.state === 'connected' && p.client ? p.client.getNamespaces().catch(() => []) : [])));
    const seen = new Map<string, Namespace>();
    for (const ns of lists.flat()) seen.set(`${ns.cluster ?? ''}\u0000${ns.namespace ?? ''}`, ns);
    return [...seen.values()].sort((a, b) => (a.cluster ?? '').localeCompare(b.cluster ?? '') || (a.namespace ?? '').localeCompare(b.namespace ?? ''));
  }
}
