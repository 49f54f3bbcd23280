// TCP connections per edge: attempts (distinct SYNs), those never answered, and resets, from flags on L3/L4 flows.
import type { Flow } from '../flows/types.ts';

export interface TcpStats {
  /** Distinct connections opened by a SYN (retransmissions and the second observation point count once). */
  attempts: number;
  /** Attempts answered by the server: a SYN-ACK or an RST in the reply direction. */
  answered: number;
  /** Distinct connections that carried an RST, in either direction. */
  resets: number;
}

export interface TcpSummary {
  attempts: number;
  unanswered: number;
  resets: number;
}

export function createTcpStats(): TcpStats {
  return { attempts: 0, answered: 0, resets: 0 };
}

export function mergeTcp(into: TcpStats, from: TcpStats): void {
  into.attempts += from.attempts;
  into.answered += from.answered;
  into.resets += from.resets;
}

export function summarizeTcp(s: TcpStats): TcpSummary | null {
  if (s.attempts === 0 && s.resets === 0) return null;
  return { attempts: s.attempts, unanswered: s.attempts - s.answered, resets: s.resets };
}

interface Connection {
  stats: TcpStats;
  attempted: boolean;
  answered: boolean;
  reset: boolean;
  createdMs: number;
  lastSynMs: number;
}

/**
 * A SYN within this long of the previous one on the same 4-tuple is the same SYN seen at another observation
 * point (or reordered); later, on an answered connection, it opens a new one. Retransmissions of an unanswered
 * SYN (1 s, 2 s, …) stay one attempt.
 */
const SAME_SYN_MS = 500;

export interface TcpTrackerOptions {
  /** A connection not seen for this long (flow time) may be forgotten; its counts stay. */
  idleMs?: number;
  maxConnections?: number;
}

/**
 * Follows connections by their 4-tuple in request orientation. Only the state needed to recognise a
 * connection's later packets is kept, for a bounded time and number of connections.
 */
export class TcpTracker {
  private readonly conns = new Map<string, Connection>();
  private readonly idleMs: number;
  private readonly maxConnections: number;
  private latestMs = -Infinity;
  private sinceSweep = 0;

  constructor(opts: TcpTrackerOptions = {}) {
    this.idleMs = opts.idleMs ?? 120_000;
    this.maxConnections = opts.maxConnections ?? 200_000;
  }

  observe(stats: TcpStats, flow: Flow, reply: boolean, timeMs: number | undefined): void {
    const tcp = flow.l4?.TCP;
    if (!tcp || flow.l7) return;
    // Only handshakes and resets change what is counted; data segments are skipped without a lookup.
    const flags = tcp.flags;
    if (!flags || !(flags.SYN || flags.RST)) return;
    const ip = flow.IP;
    if (!ip?.source || !ip.destination) return;
    if (timeMs !== undefined && timeMs > this.latestMs) this.latestMs = timeMs;
    const key = reply
      ? `${ip.destination}|${tcp.destination_port}|${ip.source}|${tcp.source_port}`
      : `${ip.source}|${tcp.source_port}|${ip.destination}|${tcp.destination_port}`;
    let conn = this.conns.get(key);
    if (!reply && flags.SYN && !flags.ACK) {
      const t = timeMs ?? this.latestMs;
      if (conn && conn.attempted && (conn.answered || conn.reset) && t - conn.lastSynMs > SAME_SYN_MS) {
        // The 4-tuple was reused for a new connection after the previous one was answered.
        conn.attempted = conn.answered = conn.reset = false;
      }
      if (!conn || !conn.attempted) {
        conn = this.track(key, conn, stats, timeMs);
        conn.attempted = true;
        stats.attempts++;
      }
      conn.lastSynMs = t;
    }
    if (reply && conn && conn.attempted && !conn.answered) {
      conn.answered = true;
      conn.stats.answered++;
    }
    if (flags.RST) {
      conn = this.track(key, conn, stats, timeMs);
      if (!conn.reset) {
        conn.reset = true;
        conn.stats.resets++;
      }
    }
  }

  private track(key: string, conn: Connection | undefined, stats: TcpStats, timeMs: number | undefined): Connection {
    if (conn) return conn;
    const created: Connection = { stats, attempted: false, answered: false, reset: false, createdMs: timeMs ?? this.latestMs, lastSynMs: -Infinity };
    this.conns.set(key, created);
    if (++this.sinceSweep >= 4096 || this.conns.size > this.maxConnections) this.sweep();
    return created;
  }

  /** Forgets connections opened long ago (insertion order is creation order), and the oldest beyond the bound. */
  private sweep(): void {
    this.sinceSweep = 0;
    const horizon = this.latestMs - this.idleMs;
    for (const [key, conn] of this.conns) {
      if (conn.createdMs >= horizon && this.conns.size <= this.maxConnections) break;
      this.conns.delete(key);
    }
  }

  get tracked(): number {
    return this.conns.size;
  }
}
