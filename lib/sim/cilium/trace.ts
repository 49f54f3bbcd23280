// The TCP packets Hubble traces for one connection: handshake, the first data each way, FIN each way or a reset.
import type { TCPFlags } from '../../flows/types.ts';
import type { ConnectionFlows, PacketVerdicts } from '../hubble/flows.ts';

// Shared by every flow (never mutated): one object per flag combination instead of one per packet.
const SYN: TCPFlags = Object.freeze({ SYN: true });
const SYN_ACK: TCPFlags = Object.freeze({ SYN: true, ACK: true });
const ACK: TCPFlags = Object.freeze({ ACK: true });
const PSH_ACK: TCPFlags = Object.freeze({ PSH: true, ACK: true });
const FIN_ACK: TCPFlags = Object.freeze({ FIN: true, ACK: true });
const RST_ACK: TCPFlags = Object.freeze({ RST: true, ACK: true });

export const synFlags = SYN;

const enum Seen {
  Established = 1,
  RequestData = 2,
  ReplyData = 4,
  ClientFin = 8,
  ServerFin = 16,
  Reset = 32,
}

/**
 * Turns a connection's milestones into its trace flows, each packet kind once: Hubble's monitor aggregation
 * (`medium`) reports a connection's SYN, SYN-ACK, first ACK, the first packet carrying data each way and each
 * FIN or RST, not every segment.
 */
export class ConnectionTrace {
  private seen = 0;

  constructor(readonly flows: ConnectionFlows) {}

  private first(mark: Seen): boolean {
    if (this.seen & (mark | Seen.Reset)) return false;
    this.seen |= mark;
    return true;
  }

  /** The client's SYN went out (allowed by policy), after the policy verdicts of the sides that enforce policy. */
  syn(verdicts?: PacketVerdicts): void {
    this.flows.packet('client', SYN, verdicts);
  }

  /** The server accepted: SYN-ACK back, the client's ACK. */
  established(): void {
    if (!this.first(Seen.Established)) return;
    this.flows.packet('server', SYN_ACK);
    this.flows.packet('client', ACK);
  }

  data(direction: 'request' | 'reply'): void {
    if (!this.first(direction === 'request' ? Seen.RequestData : Seen.ReplyData)) return;
    this.flows.packet(direction === 'request' ? 'client' : 'server', PSH_ACK);
  }

  end(side: 'client' | 'server'): void {
    if (!this.first(side === 'client' ? Seen.ClientFin : Seen.ServerFin)) return;
    this.flows.packet(side, FIN_ACK);
  }

  reset(side: 'client' | 'server'): void {
    if (this.seen & Seen.Reset) return;
    this.seen |= Seen.Reset;
    this.flows.packet(side, RST_ACK);
  }

  /** Nothing listened on the server's port: it answered the SYN with a reset. */
  refused(): void {
    this.reset('server');
  }
}
