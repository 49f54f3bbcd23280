// Wire bytes → jsonpb objects in one pass. A decoder is generated per message type from our protos (as
// protobufjs generates its own), writing straight into the jsonpb shape: enums as names, 64-bit integers as
// strings, Timestamps as RFC 3339, wrappers bare, defaults left out. Decoding with protobufjs and converting
// its message objects afterwards allocated every message twice and ran at about half this speed
// (bench/grpc.bench.ts keeps @grpc/proto-loader's deserializer as the anchor).
import protobuf from 'protobufjs';
import { formatTimestamp } from './timestamp.ts';
import { wrapperTypes } from './convert.ts';

type Reader = protobuf.Reader;
type Decoder = (r: Reader, end: number) => Record<string, unknown>;

/** Reader method and wire type of each scalar; 64-bit kinds are read by the helpers below. */
const scalars: Record<string, { read: string; wire: number; zero: string }> = {
  double: { read: 'r.double()', wire: 1, zero: '0' },
  float: { read: 'r.float()', wire: 5, zero: '0' },
  int32: { read: 'r.int32()', wire: 0, zero: '0' },
  uint32: { read: 'r.uint32()', wire: 0, zero: '0' },
  sint32: { read: 'r.sint32()', wire: 0, zero: '0' },
  fixed32: { read: 'r.fixed32()', wire: 5, zero: '0' },
  sfixed32: { read: 'r.sfixed32()', wire: 5, zero: '0' },
  bool: { read: 'r.bool()', wire: 0, zero: 'false' },
  string: { read: 'r.string()', wire: 2, zero: "''" },
  bytes: { read: 'h.base64(r.bytes())', wire: 2, zero: "''" },
  int64: { read: 'h.varint64String(r, true)', wire: 0, zero: "'0'" },
  uint64: { read: 'h.varint64String(r, false)', wire: 0, zero: "'0'" },
  sint64: { read: 'r.sint64().toString()', wire: 0, zero: "'0'" },
  fixed64: { read: 'r.fixed64().toString()', wire: 1, zero: "'0'" },
  sfixed64: { read: 'r.sfixed64().toString()', wire: 1, zero: "'0'" },
};

/** Reads a varint of up to 64 bits as two 32-bit halves, without allocating a Long. */
function varint64(r: Reader): [number, number] {
  const buf = r.buf;
  let lo = 0;
  let hi = 0;
  let i = 0;
  let b: number;
  // Bytes 1–4 carry bits 0–27.
  for (; i < 4; i++) {
    b = buf[r.pos++]!;
    lo = (lo | ((b & 0x7f) << (i * 7))) >>> 0;
    if (b < 0x80) return [lo, 0];
  }
  // Byte 5 carries bits 28–34: 4 to lo, 3 to hi.
  b = buf[r.pos++]!;
  lo = (lo | ((b & 0x7f) << 28)) >>> 0;
  hi = (b & 0x7f) >> 4;
  if (b < 0x80) return [lo, hi];
  for (i = 0; i < 5; i++) {
    b = buf[r.pos++]!;
    hi = (hi | ((b & 0x7f) << (i * 7 + 3))) >>> 0;
    if (b < 0x80) return [lo, hi];
  }
  throw new Error('invalid varint encoding');
}

function varint64Number(r: Reader, signed: boolean): number {
  const [lo, hi] = varint64(r);
  return (signed ? hi | 0 : hi) * 4294967296 + lo;
}

function varint64String(r: Reader, signed: boolean): string {
  const [lo, hi] = varint64(r);
  if (hi === 0) return String(lo);
  if (hi < 0x200000) return String(hi * 4294967296 + lo);
  const big = (BigInt(hi) << 32n) | BigInt(lo);
  return (signed ? BigInt.asIntN(64, big) : big).toString();
}

function base64(v: Uint8Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

function lowerCamel(path: string): string {
  return path.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function readTimestamp(r: Reader, end: number): string {
  let seconds = 0;
  let nanos = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 8) seconds = varint64Number(r, true);
    else if (tag === 16) nanos = r.int32();
    else r.skipType(tag & 7);
  }
  return formatTimestamp(seconds, nanos);
}

function readAny(r: Reader, end: number): Record<string, unknown> {
  // protojson would need the embedded type's schema; keep the payload so nothing is lost.
  const out: Record<string, unknown> = { '@type': '', value: '' };
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) out['@type'] = r.string();
    else if (tag === 18) out.value = base64(r.bytes());
    else r.skipType(tag & 7);
  }
  return out;
}

function readFieldMask(r: Reader, end: number): string {
  const paths: string[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) paths.push(lowerCamel(r.string()));
    else r.skipType(tag & 7);
  }
  return paths.join(',');
}

function enumName(names: Record<number, string>, value: number): string | number {
  return names[value] ?? value;
}

const helpers = { enumName, varint64String, varint64Number, base64, readTimestamp, readAny, readFieldMask, formatTimestamp };

const cache = new Map<protobuf.Type, Decoder>();

/** Number → name of an enum; the first name wins where values are aliased. */
function enumNames(e: protobuf.Enum): Record<number, string> {
  const names: Record<number, string> = {};
  for (const [name, id] of Object.entries(e.values)) if (names[id] === undefined) names[id] = name;
  return names;
}

/** Code reading one value of the field (tag already read, wire type checked) into an expression. */
function valueCode(field: protobuf.Field, dep: (x: unknown) => string): string {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Enum) return `h.enumName(${dep(enumNames(rt))}, r.int32())`;
  if (rt instanceof protobuf.Type) {
    const full = rt.fullName;
    if (full === '.google.protobuf.Timestamp') return 'h.readTimestamp(r, r.uint32() + r.pos)';
    if (full === '.google.protobuf.Any') return 'h.readAny(r, r.uint32() + r.pos)';
    if (full === '.google.protobuf.FieldMask') return 'h.readFieldMask(r, r.uint32() + r.pos)';
    if (wrapperTypes.has(full)) return `${dep(wrapperDecoder(rt))}(r, r.uint32() + r.pos)`;
    return `${dep(decoderFor(rt))}(r, r.uint32() + r.pos)`;
  }
  const s = scalars[field.type];
  if (!s) throw new Error(`unsupported field type ${field.type} for ${field.fullName}`);
  return s.read;
}

function wireTypeOf(field: protobuf.Field): number {
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  if (field.resolvedType instanceof protobuf.Type) return 2;
  return scalars[field.type]!.wire;
}

function zeroOf(field: protobuf.Field): string {
  if (field.resolvedType instanceof protobuf.Enum) return '0';
  return scalars[field.type]!.zero;
}

/** google.protobuf.*Value: the bare inner value, its default when the wrapper is empty. */
function wrapperDecoder(type: protobuf.Type): (r: Reader, end: number) => unknown {
  const inner = type.fields.value!;
  const read = new Function('h', `return (r) => ${scalars[inner.type]!.read};`)(helpers) as (r: Reader) => unknown;
  const zero = new Function(`return ${scalars[inner.type]!.zero};`)() as unknown;
  const tag = (1 << 3) | scalars[inner.type]!.wire;
  return (r, end) => {
    let v = zero;
    while (r.pos < end) {
      const t = r.uint32();
      if (t === tag) v = read(r);
      else r.skipType(t & 7);
    }
    return v;
  };
}

export function decoderFor(type: protobuf.Type): Decoder {
  const cached = cache.get(type);
  if (cached) return cached;
  // Recursive types see this forwarder until the generated function exists.
  let real: Decoder | undefined;
  cache.set(type, (r, end) => real!(r, end));

  const deps: unknown[] = [];
  const dep = (x: unknown): string => {
    deps.push(x);
    return `d[${deps.length - 1}]`;
  };
  const cases: string[] = [];
  for (const field of type.fieldsArray) {
    if (field.map) throw new Error(`map fields are not supported (${field.fullName})`);
    const key = JSON.stringify(field.name);
    const wire = wireTypeOf(field);
    const value = valueCode(field, dep);
    const body: string[] = [];
    if (field.repeated) {
      const push = `(o[${key}] ??= []).push(${value});`;
      if (wire !== 2) {
        // Packed (proto3's default) or one value per tag: accept both, as every protobuf reader must.
        body.push(`if (wt === 2) { const e = r.uint32() + r.pos; const a = (o[${key}] ??= []); while (r.pos < e) a.push(${value}); }`);
        body.push(`else if (wt === ${wire}) ${push}`);
      } else {
        body.push(`if (wt === 2) ${push}`);
      }
    } else if (wire === 2 && field.resolvedType instanceof protobuf.Type) {
      // A message field is present whenever it was sent, even empty.
      body.push(`if (wt === 2) o[${key}] = ${value};`);
    } else if (field.partOf) {
      body.push(`if (wt === ${wire}) o[${key}] = ${value};`);
    } else {
      // Compare the raw value with the default before converting (enums: 0, not its name).
      const rt = field.resolvedType;
      const raw = rt instanceof protobuf.Enum ? 'r.int32()' : value;
      const converted = rt instanceof protobuf.Enum ? `h.enumName(${dep(enumNames(rt))}, v)` : 'v';
      body.push(
        `if (wt === ${wire}) { const v = ${raw}; if (v !== ${zeroOf(field)}) o[${key}] = ${converted}; else if (o[${key}] !== undefined) delete o[${key}]; }`,
      );
    }
    body.push('else r.skipType(wt);');
    cases.push(`case ${field.id}: ${body.join(' ')} break;`);
  }
  const source = [
    `return function decode${type.name}(r, end) {`,
    'const o = {};',
    'while (r.pos < end) {',
    'const tag = r.uint32(); const wt = tag & 7;',
    'switch (tag >>> 3) {',
    ...cases,
    'default: r.skipType(wt);',
    '}',
    '}',
    'return o;',
    '};',
  ].join('\n');
  real = new Function('h', 'd', source)(helpers, deps) as Decoder;
  cache.set(type, real);
  return real;
}
