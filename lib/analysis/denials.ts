// Denied packets counted once: a policy-verdict event that denied a packet is paired with the packet's drop event.
import type { Flow } from '../flows/types.ts';

/**
 * How far apart in time a packet's policy-verdict event and its drop event may be. Both come from the same
 * datapath pass, microseconds apart; a retransmitted SYN of the same connection comes a second later at the
 * earliest, so it can never be taken for the same packet.
 */
export const PAIRING_WINDOW_MS = 500;

interface Waiting {
  key: string;
  t: number;
  direction: string | undefined;
  /** Counts the verdict event as the packet's only record; undefined for a drop event. */
  alone: (() => void) | undefined;
  settled: boolean;
}

/** Same node, same 5-tuple: the packet. The direction is compared apart, as one side may not carry it. */
function packetKey(flow: Flow): string | undefined {
  const l4 = flow.l4;
  const ports = l4?.TCP ?? l4?.UDP ?? l4?.SCTP;
  const proto = l4?.TCP ? 'T' : l4?.UDP ? 'U' : l4?.SCTP ? 'S' : l4?.ICMPv4 ? 'I4' : l4?.ICMPv6 ? 'I6' : '';
  const ip = flow.IP;
  if (!ip?.source && !ip?.destination) return undefined;
  return `${flow.node_name ?? ''}|${proto}|${ip?.source ?? ''}|${ports?.source_port ?? ''}|${ip?.destination ?? ''}|${ports?.destination_port ?? ''}`;
}

function sameDirection(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === 'TRAFFIC_DIRECTION_UNKNOWN' || b === 'TRAFFIC_DIRECTION_UNKNOWN' || a === b;
}

/**
 * Streams drop events and denying policy-verdict events; a verdict event with no drop event of the same packet
 * within the window is counted alone (exports filtered to policy verdicts, exporter allowlists keeping only them).
 * Memory is bounded by the events of one window.
 */
export class DenialPairing {
  private readonly byKey = new Map<string, Waiting[]>();
  private readonly queue: Waiting[] = [];
  private head = 0;
  private latest = -Infinity;
  /** Verdict events paired with their packet's drop event. */
  paired = 0;
  /** Verdict events counted alone. */
  alone = 0;

  /** A DROPPED flow from a drop event (type 1) with a policy reason. */
  drop(flow: Flow, t: number | undefined): void {
    this.expire(t);
    const key = packetKey(flow);
    if (key === undefined) return;
    const time = t ?? this.latest;
    if (this.take(key, time, flow.traffic_direction, true)) return;
    this.wait({ key, t: time, direction: flow.traffic_direction, alone: undefined, settled: false });
  }

  /** A policy-verdict event (type 5) that denied a packet; `alone` counts it when no drop event pairs with it. */
  verdict(flow: Flow, t: number | undefined, alone: () => void): void {
    this.expire(t);
    const key = packetKey(flow);
    if (key === undefined) {
      this.alone++;
      alone();
      return;
    }
    const time = t ?? this.latest;
    if (this.take(key, time, flow.traffic_direction, false)) {
      this.paired++;
      return;
    }
    this.wait({ key, t: time, direction: flow.traffic_direction, alone, settled: false });
  }

  /** Settles every waiting verdict event: call once the input has ended. */
  finish(): void {
    this.expire(Infinity);
  }

  /** Finds a waiting event of the other kind for the same packet, and settles both. */
  private take(key: string, t: number, direction: string | undefined, isDrop: boolean): boolean {
    const list = this.byKey.get(key);
    if (!list) return false;
    for (let i = 0; i < list.length; i++) {
      const w = list[i]!;
      const waitingIsDrop = w.alone === undefined;
      if (waitingIsDrop === isDrop || Math.abs(w.t - t) > PAIRING_WINDOW_MS || !sameDirection(w.direction, direction)) continue;
      w.settled = true;
      list.splice(i, 1);
      if (list.length === 0) this.byKey.delete(key);
      if (isDrop) this.paired++;
      return true;
    }
    return false;
  }

  private wait(w: Waiting): void {
    const list = this.byKey.get(w.key);
    if (list) list.push(w);
    else this.byKey.set(w.key, [w]);
    this.queue.push(w);
  }

  private expire(t: number | undefined): void {
    if (t !== undefined && t > this.latest) this.latest = t;
    const horizon = this.latest - PAIRING_WINDOW_MS;
    while (this.head < this.queue.length && (this.queue[this.head]!.t < horizon || this.latest === Infinity)) {
      const w = this.queue[this.head++]!;
      if (w.settled) continue;
      w.settled = true;
      const list = this.byKey.get(w.key);
      if (list) {
        const i = list.indexOf(w);
        if (i !== -1) list.splice(i, 1);
        if (list.length === 0) this.byKey.delete(w.key);
      }
      if (w.alone) {
        this.alone++;
        w.alone();
      }
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
