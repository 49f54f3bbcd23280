// IP addresses and CIDR ranges as Go's net package parses and matches them, without allocating per check on IPv4.

/** An IPv4 address as an unsigned 32-bit number, or -1 when the text is not a dotted quad (Go: no leading zeros). */
export function parseIPv4(text: string, start = 0, end = text.length): number {
  let value = 0;
  let parts = 0;
  let i = start;
  while (i < end) {
    if (parts === 4) return -1;
    let n = 0;
    let digits = 0;
    const partStart = i;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      digits++;
      i++;
    }
    if (digits === 0 || digits > 3 || n > 255) return -1;
    if (digits > 1 && text.charCodeAt(partStart) === 48) return -1;
    value = value * 256 + n;
    parts++;
    if (i < end) {
      if (text.charCodeAt(i) !== 46 || i === end - 1) return -1;
      i++;
    }
  }
  return parts === 4 ? value : -1;
}

/** An IPv6 (or IPv4-mapped) address as 16 bytes; undefined when invalid. IPv4 text is returned mapped (::ffff:a.b.c.d). */
export function parseIP16(text: string): Uint8Array | undefined {
  const v4 = parseIPv4(text);
  if (v4 >= 0) {
    const out = new Uint8Array(16);
    out[10] = 0xff;
    out[11] = 0xff;
    writeV4(out, 12, v4);
    return out;
  }
  if (!text.includes(':')) return undefined;
  const out = new Uint8Array(16);
  let ellipsis = -1;
  let pos = 0;
  let i = 0;
  if (text.startsWith('::')) {
    ellipsis = 0;
    i = 2;
    if (i === text.length) return out;
  }
  while (i < text.length && pos < 16) {
    let j = i;
    let n = 0;
    while (j < text.length && j - i < 5) {
      const h = hexValue(text.charCodeAt(j));
      if (h < 0) break;
      n = n * 16 + h;
      j++;
    }
    if (j === i || j - i > 4) {
      return undefined;
    }
    if (j < text.length && text[j] === '.') {
      // Trailing dotted IPv4 part.
      if (ellipsis < 0 && pos !== 12) return undefined;
      if (pos + 4 > 16) return undefined;
      const tail = parseIPv4(text, i);
      if (tail < 0) return undefined;
      writeV4(out, pos, tail);
      pos += 4;
      i = text.length;
      break;
    }
    out[pos++] = n >> 8;
    out[pos++] = n & 0xff;
    i = j;
    if (i === text.length) break;
    if (text[i] !== ':' || i + 1 === text.length) return undefined;
    i++;
    if (text[i] === ':') {
      if (ellipsis >= 0) return undefined;
      ellipsis = pos;
      i++;
      if (i === text.length) break;
    }
  }
  if (i !== text.length) return undefined;
  if (pos < 16) {
    if (ellipsis < 0) return undefined;
    const n = 16 - pos;
    for (let k = pos - 1; k >= ellipsis; k--) out[k + n] = out[k]!;
    for (let k = ellipsis + n - 1; k >= ellipsis; k--) out[k] = 0;
  } else if (ellipsis >= 0) {
    return undefined;
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function writeV4(out: Uint8Array, at: number, v4: number): void {
  out[at] = (v4 >>> 24) & 0xff;
  out[at + 1] = (v4 >>> 16) & 0xff;
  out[at + 2] = (v4 >>> 8) & 0xff;
  out[at + 3] = v4 & 0xff;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function mappedV4(b: Uint8Array): number {
  return ((b[12]! << 24) | (b[13]! << 16) | (b[14]! << 8) | b[15]!) >>> 0;
}

/** A CIDR range that answers `contains(ipText)` the way Go's net.IPNet.Contains does. */
export interface Cidr {
  contains(ip: string): boolean;
}

/** Go's net.ParseCIDR; undefined when invalid. An IPv4 range also contains IPv4-mapped IPv6 addresses. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const bitsText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  const addrText = text.slice(0, slash);
  const v4 = parseIPv4(addrText);
  if (v4 >= 0) {
    if (bits > 32) return undefined;
    return v4Cidr(v4, bits);
  }
  const net = parseIP16(addrText);
  if (!net || bits > 128) return undefined;
  // Go treats an IPv4-mapped network as an IPv4 one.
  if (isV4Mapped(net)) return v4Cidr(mappedV4(net), Math.max(0, bits - 96));
  return {
    contains(ip: string): boolean {
      if (!ip.includes(':')) return false;
      const b = parseIP16(ip);
      if (!b || isV4Mapped(b)) return false;
      let left = bits;
      for (let i = 0; i < 16 && left > 0; i++, left -= 8) {
        const m = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff;
        if ((b[i]! & m) !== (net[i]! & m)) return false;
      }
      return true;
    },
  };
}

function v4Cidr(v4: number, bits: number): Cidr {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const network = (v4 & mask) >>> 0;
  return {
    contains(ip: string): boolean {
      let value = parseIPv4(ip);
      if (value < 0) {
        const b = parseIP16(ip);
        if (!b || !isV4Mapped(b)) return false;
        value = mappedV4(b);
      }
      return (value & mask) >>> 0 === network;
    },
  };
}
