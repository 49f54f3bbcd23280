// Cluster DNS over UDP and TCP (RFC 1035 framing), answering from a ClusterZone; the sim's kube-dns pods run it.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DnsFormatError, decodeMessage, encodeMessage, rcode, type DnsMessage } from './wire.ts';
import type { ClusterZone } from './zone.ts';

/** The reply to one query message; a message that cannot be parsed gets FORMERR when its id is readable. */
export function answerQuery(zone: ClusterZone, packet: Buffer): Buffer | undefined {
  let msg: DnsMessage;
  try {
    msg = decodeMessage(packet);
  } catch (err) {
    if (!(err instanceof DnsFormatError) || packet.length < 2) return undefined;
    return encodeMessage({
      id: packet.readUInt16BE(0),
      response: true,
      opcode: 0,
      authoritative: false,
      truncated: false,
      recursionDesired: false,
      recursionAvailable: true,
      rcode: rcode.FORMERR,
      questions: [],
      answers: [],
    });
  }
  const reply: DnsMessage = { ...msg, response: true, authoritative: true, recursionAvailable: true, truncated: false, answers: [] };
  const question = msg.questions[0];
  if (msg.response || msg.opcode !== 0 || !question) {
    reply.rcode = msg.opcode !== 0 ? rcode.NOTIMP : rcode.FORMERR;
    return encodeMessage(reply);
  }
  const result = zone.resolve(question.name, question.type);
  reply.rcode = result.rcode;
  reply.answers = result.answers;
  return encodeMessage(reply);
}

/** Answers the queries of one TCP connection (each message after its 2-byte length, RFC 1035 §4.2.2). */
export function tcpConnectionHandler(zone: ClusterZone): (socket: Socket) => void {
  return (socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const reply = answerQuery(zone, pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
        if (reply) {
          const frame = Buffer.alloc(2 + reply.length);
          frame.writeUInt16BE(reply.length, 0);
          reply.copy(frame, 2);
          socket.write(frame);
        }
      }
    });
    socket.on('error', () => socket.destroy());
  };
}

export interface DnsServer {
  udpPort: number;
  tcpPort: number;
  close(): Promise<void>;
}

/** Serves the zone on host (UDP and TCP, same or ephemeral ports). */
export async function startDnsServer(zone: ClusterZone, opts: { host?: string; port?: number } = {}): Promise<DnsServer> {
  const host = opts.host ?? '127.0.0.1';
  const udp: UdpSocket = createSocket('udp4');
  udp.on('message', (packet, rinfo) => {
    const reply = answerQuery(zone, packet);
    if (reply) udp.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(opts.port ?? 0, host, () => resolve());
  });
  const tcp: Server = createServer(tcpConnectionHandler(zone));
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(opts.port ?? 0, host, () => resolve());
  });
  return {
    udpPort: udp.address().port,
    tcpPort: (tcp.address() as AddressInfo).port,
    close: async () => {
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
