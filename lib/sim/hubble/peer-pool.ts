// Relay's connections to the Hubble peers it was told about: one Observer client per node, kept connected
// (health-checked, redialled with backoff), and the availability the Relay reports per node.
import type { Duplex } from 'node:stream';
import { connectObserver, type ObserverClient } from '../../hubble/client.ts';
import { localForward, type LocalForward } from './forward.ts';
import { peerTarget } from './peer-watch.ts';

export type PeerState = 'connecting' | 'connected' | 'unavailable';

export interface RelayPeer {
  readonly name: string;
  /** The address the peer service announced. */
  readonly address: string;
  readonly state: PeerState;
  /** Set while connected. */
  readonly client: ObserverClient | undefined;
  /** Why the peer is not connected. */
  readonly reason: string | undefined;
}

export type PoolEvent = { type: 'connected' | 'unavailable' | 'removed'; peer: RelayPeer };

export interface PeerPoolOptions {
  /** Opens a TCP stream from the Relay pod. */
  dial(host: string, port: number): Promise<Duplex>;
  /** --dial-timeout. */
  dialTimeoutMs: number;
  /** Longest wait between redials of an unreachable peer (--retry-timeout). */
  maxBackoffMs: number;
  /** How often a connected peer's health is checked. */
  healthIntervalMs: number;
  log(line: string): void;
}

interface Entry {
  name: string;
  address: string;
  state: PeerState;
  client: ObserverClient | undefined;
  forward: LocalForward | undefined;
  reason: string | undefined;
  /** Bumped on every (re)connection attempt and disconnect; late results of an older attempt are ignored. */
  generation: number;
  timer: NodeJS.Timeout | undefined;
  backoffMs: number;
}

const firstBackoffMs = 250;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ECONNREFUSED') return 'connection refused';
  return e instanceof Error ? e.message : String(err);
}

export class PeerPool {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(e: PoolEvent) => void>();
  private closed = false;

  constructor(private readonly opts: PeerPoolOptions) {}

  /** A peer was added or its address changed: (re)connect to it. */
  upsert(name: string, address: string): void {
    if (this.closed) return;
    const known = this.entries.get(name);
    if (known && known.address === address) return;
    if (known) this.disconnect(known, 'address changed', false);
    const entry: Entry = known ?? {
      name,
      address,
      state: 'connecting',
      client: undefined,
      forward: undefined,
      reason: undefined,
      generation: 0,
      timer: undefined,
      backoffMs: firstBackoffMs,
    };
    entry.address = address;
    this.entries.set(name, entry);
    void this.connect(entry);
  }

  remove(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    this.entries.delete(name);
    this.disconnect(entry, 'removed from the cluster', false);
    this.emit({ type: 'removed', peer: this.view(entry) });
  }

  /** Every peer, by name. */
  list(): RelayPeer[] {
    return [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name)).map((e) => this.view(e));
  }

  get(name: string): RelayPeer | undefined {
    const e = this.entries.get(name);
    return e && this.view(e);
  }

  /**
   * A call to the peer failed: it is unavailable until a redial succeeds. With `client`, only if that is still the
   * peer's client (a failure on a connection already replaced says nothing about the new one).
   */
  markUnavailable(name: string, reason: string, client?: ObserverClient): void {
    const entry = this.entries.get(name);
    if (!entry || entry.state !== 'connected' || (client && entry.client !== client)) return;
    this.disconnect(entry, reason, true);
    this.schedule(entry, firstBackoffMs);
  }

  onChange(listener: (e: PoolEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.entries.values()].map((e) => this.disconnect(e, 'relay stopping', false)));
    this.entries.clear();
  }

  private view(e: Entry): RelayPeer {
    return { name: e.name, address: e.address, state: e.state, client: e.client, reason: e.reason };
  }

  private emit(event: PoolEvent): void {
    for (const l of [...this.listeners]) l(event);
  }

  private schedule(entry: Entry, ms: number): void {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => void this.connect(entry), ms);
  }

  private async connect(entry: Entry): Promise<void> {
    const generation = ++entry.generation;
    const current = () => generation === entry.generation && this.entries.get(entry.name) === entry && !this.closed;
    const target = peerTarget(entry.address);
    let forward: LocalForward | undefined;
    try {
      if (!target) throw new Error('the peer service gave no address');
      const { dial, dialTimeoutMs } = this.opts;
      // A first dial tells "refused" at once; through the forward it would only show as a handshake timeout.
      const probe = await withTimeout(dial(target.host, target.port), dialTimeoutMs, `dial ${target.host}:${target.port}`);
      probe.destroy();
      forward = await localForward(() => dial(target.host, target.port));
      const client = await connectObserver(forward.address, { dialTimeoutMs, requestTimeoutMs: dialTimeoutMs, what: `Hubble on ${entry.name}` });
      if (!current()) {
        client.close();
        await forward.close();
        return;
      }
      Object.assign(entry, { state: 'connected', client, forward, reason: undefined, backoffMs: firstBackoffMs });
      this.opts.log(`level=info msg="Connected" address=${target.host}:${target.port} hubble-tls=false peer=${entry.name}`);
      this.emit({ type: 'connected', peer: this.view(entry) });
      this.watchHealth(entry, generation);
    } catch (err) {
      await forward?.close();
      if (!current()) return;
      const reason = reasonOf(err);
      const wasConnecting = entry.state === 'connecting';
      Object.assign(entry, { state: 'unavailable', reason });
      if (wasConnecting || entry.backoffMs === firstBackoffMs) {
        this.opts.log(`level=warning msg="Failed to create gRPC client" address=${entry.address} error="${reason}" peer=${entry.name}`);
      }
      this.schedule(entry, entry.backoffMs);
      entry.backoffMs = Math.min(entry.backoffMs * 2, this.opts.maxBackoffMs);
    }
  }

  private watchHealth(entry: Entry, generation: number): void {
    const tick = async () => {
      if (generation !== entry.generation || !entry.client) return;
      try {
        await entry.client.health();
        if (generation === entry.generation) entry.timer = setTimeout(tick, this.opts.healthIntervalMs);
      } catch (err) {
        if (generation === entry.generation) this.markUnavailable(entry.name, reasonOf(err));
      }
    };
    entry.timer = setTimeout(tick, this.opts.healthIntervalMs);
  }

  private disconnect(entry: Entry, reason: string, announce: boolean): Promise<void> {
    entry.generation++;
    clearTimeout(entry.timer);
    const { client, forward } = entry;
    const wasConnected = entry.state === 'connected';
    Object.assign(entry, { state: 'unavailable', client: undefined, forward: undefined, reason });
    client?.close();
    if (announce && wasConnected) {
      this.opts.log(`level=warning msg="Lost connection to peer" peer=${entry.name} error="${reason}"`);
      this.emit({ type: 'unavailable', peer: this.view(entry) });
    }
    return forward?.close() ?? Promise.resolve();
  }
}
