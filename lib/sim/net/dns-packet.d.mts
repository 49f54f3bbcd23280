// Types for dns-packet.mjs, the pod resolver's minimal DNS wire format.
export declare const TYPE_A: 1;
export declare const TYPE_AAAA: 28;
export declare const RCODE_NOERROR: 0;
export declare const RCODE_NXDOMAIN: 3;

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsAnswer {
  name: string;
  type: number;
  ttl: number;
  address: string;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  opcode: number;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsAnswer[];
}

export declare function encodeQuery(id: number, name: string, type: number): Buffer;
export declare function decodeMessage(buf: Buffer): DnsMessage;
