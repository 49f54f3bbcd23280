// DNS messages on the wire (RFC 1035): just what cluster DNS needs — queries, A/AAAA/CNAME/SRV/TXT answers, rcodes.

export const rrType = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, ANY: 255 } as const;
export type RRTypeName = keyof typeof rrType;
const rrTypeNames = new Map<number, string>(Object.entries(rrType).map(([k, v]) => [v, k]));

export function rrTypeName(code: number): string {
  return rrTypeNames.get(code) ?? `TYPE${code}`;
}

export const rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface Answer {
  name: string;
  type: number;
  ttl: number;
  /** A/AAAA: the address; CNAME/PTR: the target name; TXT: the text; SRV: `priority weight port target`. */
  data: string;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  opcode: number;
  authoritative: boolean;
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  rcode: number;
  questions: Question[];
  answers: Answer[];
}

export class DnsFormatError extends Error {}

function readName(buf: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let offset = start;
  let next = -1;
  for (let jumps = 0; jumps < 64; jumps++) {
    if (offset >= buf.length) throw new DnsFormatError('name runs past the message');
    const len = buf[offset]!;
    if (len === 0) {
      if (next < 0) next = offset + 1;
      return { name: labels.length ? `${labels.join('.')}.` : '.', next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (offset + 1 >= buf.length) throw new DnsFormatError('truncated compression pointer');
      if (next < 0) next = offset + 2;
      offset = ((len & 0x3f) << 8) | buf[offset + 1]!;
      continue;
    }
    if (offset + 1 + len > buf.length) throw new DnsFormatError('label runs past the message');
    labels.push(buf.toString('latin1', offset + 1, offset + 1 + len));
    offset += 1 + len;
  }
  throw new DnsFormatError('too many compression pointers');
}

function writeName(name: string, out: number[]): void {
  for (const label of name.replace(/\.$/, '').split('.')) {
    if (!label) continue;
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length > 63) throw new DnsFormatError(`label too long: ${label}`);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
}

function rdata(a: Answer): number[] {
  switch (a.type) {
    case rrType.A:
      return a.data.split('.').map(Number);
    case rrType.AAAA: {
      const [head = '', tail = ''] = a.data.split('::');
      const h = head ? head.split(':') : [];
      const t = tail ? tail.split(':') : [];
      const groups = a.data.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
      return groups.flatMap((g) => {
        const v = parseInt(g, 16);
        return [v >> 8, v & 0xff];
      });
    }
    case rrType.CNAME:
    case rrType.PTR:
    case rrType.NS: {
      const out: number[] = [];
      writeName(a.data, out);
      return out;
    }
    case rrType.TXT: {
      const b = Buffer.from(a.data, 'utf8');
      return [b.length, ...b];
    }
    case rrType.SRV: {
      const [prio, weight, port, target = '.'] = a.data.split(' ');
      const out = [Number(prio) >> 8, Number(prio) & 0xff, Number(weight) >> 8, Number(weight) & 0xff, Number(port) >> 8, Number(port) & 0xff];
      writeName(target, out);
      return out;
    }
    default:
      throw new DnsFormatError(`cannot encode record type ${a.type}`);
  }
}

function readRdata(buf: Buffer, type: number, start: number, len: number): string {
  switch (type) {
    case rrType.A:
      return [...buf.subarray(start, start + 4)].join('.');
    case rrType.AAAA: {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(start + i).toString(16));
      return groups.join(':');
    }
    case rrType.CNAME:
    case rrType.PTR:
    case rrType.NS:
      return readName(buf, start).name;
    case rrType.TXT:
      return buf.toString('utf8', start + 1, start + 1 + buf[start]!);
    case rrType.SRV:
      return `${buf.readUInt16BE(start)} ${buf.readUInt16BE(start + 2)} ${buf.readUInt16BE(start + 4)} ${readName(buf, start + 6).name}`;
    default:
      return buf.toString('hex', start, start + len);
  }
}

export function encodeMessage(m: DnsMessage): Buffer {
  const out: number[] = [];
  const flags =
    (m.response ? 0x8000 : 0) |
    ((m.opcode & 0xf) << 11) |
    (m.authoritative ? 0x0400 : 0) |
    (m.truncated ? 0x0200 : 0) |
    (m.recursionDesired ? 0x0100 : 0) |
    (m.recursionAvailable ? 0x0080 : 0) |
    (m.rcode & 0xf);
  const u16 = (v: number) => out.push((v >> 8) & 0xff, v & 0xff);
  u16(m.id);
  u16(flags);
  u16(m.questions.length);
  u16(m.answers.length);
  u16(0);
  u16(0);
  for (const q of m.questions) {
    writeName(q.name, out);
    u16(q.type);
    u16(q.class);
  }
  for (const a of m.answers) {
    writeName(a.name, out);
    u16(a.type);
    u16(1);
    out.push((a.ttl >>> 24) & 0xff, (a.ttl >>> 16) & 0xff, (a.ttl >>> 8) & 0xff, a.ttl & 0xff);
    const data = rdata(a);
    u16(data.length);
    out.push(...data);
  }
  return Buffer.from(out);
}

export function decodeMessage(buf: Buffer): DnsMessage {
  if (buf.length < 12) throw new DnsFormatError(`message too short (${buf.length} bytes)`);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let offset = 12;
  const questions: Question[] = [];
  for (let i = 0; i < qd; i++) {
    const { name, next } = readName(buf, offset);
    if (next + 4 > buf.length) throw new DnsFormatError('question runs past the message');
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    offset = next + 4;
  }
  const answers: Answer[] = [];
  for (let i = 0; i < an; i++) {
    const { name, next } = readName(buf, offset);
    if (next + 10 > buf.length) throw new DnsFormatError('answer runs past the message');
    const type = buf.readUInt16BE(next);
    const ttl = buf.readUInt32BE(next + 4);
    const len = buf.readUInt16BE(next + 8);
    if (next + 10 + len > buf.length) throw new DnsFormatError('record data runs past the message');
    answers.push({ name, type, ttl, data: readRdata(buf, type, next + 10, len) });
    offset = next + 10 + len;
  }
  return {
    id: buf.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    questions,
    answers,
  };
}

export function query(id: number, name: string, type: number): Buffer {
  return encodeMessage({
    id,
    response: false,
    opcode: 0,
    authoritative: false,
    truncated: false,
    recursionDesired: true,
    recursionAvailable: false,
    rcode: 0,
    questions: [{ name: name.endsWith('.') ? name : `${name}.`, type, class: 1 }],
    answers: [],
  });
}
