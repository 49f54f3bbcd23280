// IP addresses and CIDR blocks (IPv4 and IPv6) for ipBlock and Cilium CIDR rules.
import { isIP } from 'node:net';
import type { Endpoint } from './types.ts';

export interface Address {
  family: 4 | 6;
  value: bigint;
}

export interface Cidr {
  family: 4 | 6;
  /** Network address with host bits cleared. */
  network: bigint;
  prefix: number;
}

function parseV6(text: string): bigint {
  let s = text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = parseV4(v4[1]!);
    s = `${s.slice(0, v4.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function parseV4(text: string): bigint {
  return text.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

/** Parses an IP address; undefined when it is not one. */
export function parseAddress(text: string): Address | undefined {
  const family = isIP(text);
  if (family === 4) return { family, value: parseV4(text) };
  if (family === 6) return { family, value: parseV6(text) };
  return undefined;
}

/** Parses `a.b.c.d/n` or `x::/n`; a bare address is a host route. Undefined when invalid. */
export function parseCidr(text: string, requirePrefix = false): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0 && requirePrefix) return undefined;
  const addr = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (!addr) return undefined;
  const bits = addr.family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(bits) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  const hostBits = BigInt(bits - prefix);
  return { family: addr.family, network: (addr.value >> hostBits) << hostBits, prefix };
}

export function cidrContains(cidr: Cidr, addr: Address): boolean {
  if (cidr.family !== addr.family) return false;
  const hostBits = BigInt((cidr.family === 4 ? 32 : 128) - cidr.prefix);
  return addr.value >> hostBits === cidr.network >> hostBits;
}

/** Whether `inner` lies inside `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrContains(outer, { family: inner.family, value: inner.network });
}

export interface CidrBlock {
  cidr: Cidr;
  except: Cidr[];
}

/**
 * CIDR selectors (ipBlock, fromCIDR/toCIDR, toCIDRSet) select only endpoints outside the cluster, as in Cilium:
 * pods and nodes have label-derived identities, so a block never matches them even when it holds their IPs.
 */
export function worldInBlocks(blocks: readonly CidrBlock[]): (peer: Endpoint) => boolean {
  return (peer) => {
    if (peer.kind !== 'world') return false;
    const addr = parseAddress(peer.ip);
    return addr !== undefined && blocks.some((b) => cidrContains(b.cidr, addr) && !b.except.some((e) => cidrContains(e, addr)));
  };
}
