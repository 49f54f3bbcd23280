// Just enough DNS wire format (RFC 1035) for a pod's resolver: A queries out, A/AAAA answers in.
// Plain ESM with no imports so the pod preload can load it without a TypeScript loader (the sim's own DNS code,
// lib/sim/dns, is TypeScript).

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const RCODE_NOERROR = 0;
export const RCODE_NXDOMAIN = 3;

function encodeName(name) {
  const parts = [];
  for (const label of name.replace(/\.$/, '').split('.')) {
    if (!label) continue;
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length > 63) throw new Error(`DNS label too long in ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function decodeName(buf, offset) {
  const labels = [];
  let pos = offset;
  let end = -1;
  for (let hops = 0; hops < 64; hops++) {
    if (pos >= buf.length) throw new Error('DNS name runs past the message');
    const len = buf[pos];
    if (len === 0) {
      return { name: labels.join('.'), next: end >= 0 ? end : pos + 1 };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new Error('DNS name pointer runs past the message');
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1];
      continue;
    }
    labels.push(buf.toString('ascii', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  throw new Error('DNS name has too many compression pointers');
}

/** A standard query with recursion desired. */
export function encodeQuery(id, name, type) {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, encodeName(name), tail]);
}

/** Header, questions and the A/AAAA answers of a message; throws on a malformed one. */
export function decodeMessage(buf) {
  if (buf.length < 12) throw new Error('DNS message shorter than its header');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let pos = 12;
  const questions = [];
  for (let i = 0; i < qd; i++) {
    const { name, next } = decodeName(buf, pos);
    if (next + 4 > buf.length) throw new Error('DNS question runs past the message');
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    pos = next + 4;
  }
  const answers = [];
  for (let i = 0; i < an; i++) {
    const { name, next } = decodeName(buf, pos);
    if (next + 10 > buf.length) throw new Error('DNS answer runs past the message');
    const type = buf.readUInt16BE(next);
    const ttl = buf.readUInt32BE(next + 4);
    const len = buf.readUInt16BE(next + 8);
    const data = buf.subarray(next + 10, next + 10 + len);
    if (data.length !== len) throw new Error('DNS answer data runs past the message');
    if (type === TYPE_A && len === 4) answers.push({ name, type, ttl, address: [...data].join('.') });
    else if (type === TYPE_AAAA && len === 16) {
      const groups = [];
      for (let g = 0; g < 16; g += 2) groups.push(data.readUInt16BE(g).toString(16));
      answers.push({ name, type, ttl, address: groups.join(':') });
    }
    pos = next + 10 + len;
  }
  return { id, response: (flags & 0x8000) !== 0, opcode: (flags >> 11) & 0xf, rcode: flags & 0xf, questions, answers };
}
