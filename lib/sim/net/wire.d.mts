// Types for wire.mjs: the control messages a pod process and the datapath exchange, one JSON object per line.
import type { Duplex } from 'node:stream';

/** Pod process → datapath. Every request carries an id the answer repeats. */
export type PodToDatapath =
  /** First message on a control connection: the token names the pod (and proves the process belongs to it). */
  | { t: 'hello'; token: string }
  /**
   * A socket of the pod is bound: `port` is the port the pod asked for (0 = any), `realPort` the 127.0.0.1 port it
   * really has; `loopback` when it listens on 127.0.0.1 only (reachable from inside the pod only).
   */
  | { t: 'listen'; id: number; proto: 'tcp' | 'udp'; port: number; realPort: number; loopback: boolean }
  | { t: 'unlisten'; proto: 'tcp' | 'udp'; port: number }
  /** A TCP SYN from the pod's port sport to dst:dport; attempt counts transmissions (1 = first SYN). */
  | { t: 'connect'; id: number; sport: number; dst: string; dport: number; attempt: number }
  /** The accepted connection's socket reached the datapath listener from 127.0.0.1:port. */
  | { t: 'bind'; id: number; port: number }
  /** The application gave up on a connect the datapath had accepted. */
  | { t: 'cancel'; id: number };

/** Datapath → pod process. */
export type DatapathToPod =
  | { t: 'listening'; id: number; port: number }
  | { t: 'error'; id: number; code: string; message: string }
  /** The connection is established: connect to the datapath's 127.0.0.1:port, then send bind. */
  | { t: 'accept'; id: number; port: number; src: string; sport: number }
  /** RST: nothing listens there (or policy rejected it). */
  | { t: 'refuse'; id: number }
  /**
   * Who is behind a connection the datapath opened to one of the pod's sockets: the connection from 127.0.0.1:rport
   * to the pod's real port lport carries src:sport → dst:dport.
   */
  | { t: 'peer'; lport: number; rport: number; src: string; sport: number; dst: string; dport: number };

export declare function readLines(stream: Duplex, onMessage: (msg: any) => void, onBad?: (line: string) => void): void;
export declare function writeLine(stream: Duplex, msg: PodToDatapath | DatapathToPod): void;
export declare const UDP_HEADER_BYTES: 8;
export declare function udpHeader(ip: string, port: number): Buffer;
export declare function parseUdpHeader(msg: Buffer): { ip: string; port: number; payload: Buffer } | undefined;
