// Types for peers.mjs: virtual socket names and the book of connection peers announced by the datapath.
import type { Server, Socket } from 'node:net';

export interface VirtualAddress {
  ip: string;
  port: number;
}

export interface AnnouncedPeer {
  src: string;
  sport: number;
  dst: string;
  dport: number;
}

export declare function applyNames(socket: Socket, local?: VirtualAddress, remote?: VirtualAddress): void;

export declare class PeerBook {
  set(lport: number, rport: number, peer: AnnouncedPeer): void;
  take(lport: number, rport: number, cb: (peer: AnnouncedPeer | undefined) => void): void;
}

export declare function holdConnections(server: Server, realPort: () => number, book: PeerBook): void;
