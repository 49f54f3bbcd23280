// Cilium's DNS proxy for traffic a dns rule selects: reports each query and its answer as L7 DNS flows and answers
// names the rules do not allow with REFUSED itself, over UDP datagrams and over TCP (RFC 1035 length-prefixed).
import type net from 'node:net';
import { dnsRuleAllows, type DnsRule } from '../../policy/index.ts';
import { DnsFormatError, decodeMessage, encodeMessage, rcode, rrType, rrTypeName, type DnsMessage } from '../dns/wire.ts';
import type { ConnectionFlows } from '../hubble/flows.ts';
import type { ConnectionTrace } from './trace.ts';

interface PendingQuery {
  query: string;
  qtypes: string[];
  startNs: bigint;
}

/** Queries waiting for their answer, per flow; bounded so unanswered queries cannot pile up. */
const maxPending = 256;

/** The DNS proxy's view of one client flow (a UDP 5-tuple or a TCP connection). */
export class DnsVisibility {
  private readonly pending = new Map<number, PendingQuery>();

  constructor(
    private readonly flows: ConnectionFlows,
    private readonly rules: readonly DnsRule[],
  ) {}

  /**
   * A query from the client. Returns the REFUSED answer to send back instead of forwarding it when the rules do not
   * allow the name; undefined to forward (messages that do not parse are forwarded for the server to judge).
   */
  query(payload: Buffer): Buffer | undefined {
    let msg: DnsMessage;
    try {
      msg = decodeMessage(payload);
    } catch (err) {
      if (err instanceof DnsFormatError) return undefined;
      throw err;
    }
    const question = msg.questions[0];
    if (msg.response || !question) return undefined;
    const qtypes = [rrTypeName(question.type)];
    if (!dnsRuleAllows(this.rules, question.name)) {
      this.flows.dnsRequest(question.name, qtypes, 'DROPPED');
      return encodeMessage({ ...msg, response: true, authoritative: false, recursionAvailable: false, truncated: false, rcode: rcode.REFUSED, answers: [] });
    }
    this.flows.dnsRequest(question.name, qtypes);
    if (this.pending.size >= maxPending) this.pending.delete(this.pending.keys().next().value!);
    this.pending.set(msg.id, { query: question.name, qtypes, startNs: process.hrtime.bigint() });
    return undefined;
  }

  /** An answer from the server, matched to its query by id. */
  answer(payload: Buffer): void {
    let msg: DnsMessage;
    try {
      msg = decodeMessage(payload);
    } catch (err) {
      if (err instanceof DnsFormatError) return;
      throw err;
    }
    const q = this.pending.get(msg.id);
    if (!q || !msg.response) return;
    this.pending.delete(msg.id);
    const ips: string[] = [];
    const rrtypes: string[] = [];
    let ttl = 0;
    for (const a of msg.answers) {
      if (a.type === rrType.A || a.type === rrType.AAAA) ips.push(a.data);
      const name = rrTypeName(a.type);
      if (!rrtypes.includes(name)) rrtypes.push(name);
      ttl = ttl === 0 ? a.ttl : Math.min(ttl, a.ttl);
    }
    this.flows.dnsResponse({ query: q.query, qtypes: q.qtypes, ips, ttl, rcode: msg.rcode, rrtypes, latencyNs: process.hrtime.bigint() - q.startNs });
  }
}

/** Splits RFC 1035 TCP framing (2-byte length, message) as bytes arrive. */
class FrameReader {
  private buf: Buffer | undefined;

  /** The complete messages in `chunk` (with what was held), keeping a partial one for later. */
  push(chunk: Buffer): Buffer[] {
    let buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    this.buf = undefined;
    const out: Buffer[] = [];
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      out.push(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
    }
    if (buf.length) this.buf = buf;
    return out;
  }
}

function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}

/** DNS over TCP through the proxy: each query checked and reported, answers reported on their way back. */
export function proxyDnsTcp(client: net.Socket, upstream: () => Promise<net.Socket>, trace: ConnectionTrace, dns: DnsVisibility): void {
  trace.established();
  const fromClient = new FrameReader();
  const fromServer = new FrameReader();
  let up: net.Socket | undefined;
  let opening: Promise<net.Socket | undefined> | undefined;
  let closed = false;
  const abort = (side: 'client' | 'server') => {
    if (closed) return;
    closed = true;
    trace.reset(side);
    client.resetAndDestroy();
    up?.resetAndDestroy();
  };
  const open = () =>
    (opening ??= upstream().then(
      (socket) => {
        if (closed) {
          socket.destroy();
          return undefined;
        }
        up = socket;
        socket.on('data', (chunk: Buffer) => {
          trace.data('reply');
          for (const m of fromServer.push(chunk)) dns.answer(m);
          client.write(chunk);
        });
        socket.on('end', () => {
          trace.end('server');
          client.end();
        });
        socket.on('error', () => abort('server'));
        return socket;
      },
      () => {
        abort('server');
        return undefined;
      },
    ));
  client.on('data', (chunk: Buffer) => {
    trace.data('request');
    for (const m of fromClient.push(chunk)) {
      const refused = dns.query(m);
      if (refused) {
        trace.data('reply');
        client.write(frame(refused));
        continue;
      }
      const framed = frame(m);
      void open().then((socket) => socket?.write(framed));
    }
  });
  client.on('end', () => {
    trace.end('client');
    if (opening) void opening.then((socket) => socket?.end());
    else {
      trace.end('server');
      client.end();
    }
  });
  client.on('error', () => abort('client'));
  client.on('close', () => up?.destroy());
}
