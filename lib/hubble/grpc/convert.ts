// Conversion between decoded wire messages and the jsonpb shape of lib/flows/types.ts (Go protojson with proto
// field names): enums as names, 64-bit integers as strings, Timestamps as RFC 3339, wrappers as bare values,
// fields at their default value omitted, set messages kept even when empty.
import protobuf from 'protobufjs';
import { formatTimestamp, parseTimestamp } from './timestamp.ts';

type Plain = Record<string, unknown>;
type ToJsonpb = (message: unknown) => Plain;
type FromJsonpb = (value: unknown, path: string) => Plain;

/** A jsonpb value that cannot be put on the wire; the path names the field (e.g. `flow.verdict`). */
export class JsonpbError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'JsonpbError';
    this.path = path;
  }
}

const wrapperTypes = new Set([
  '.google.protobuf.BoolValue',
  '.google.protobuf.StringValue',
  '.google.protobuf.BytesValue',
  '.google.protobuf.Int32Value',
  '.google.protobuf.UInt32Value',
  '.google.protobuf.Int64Value',
  '.google.protobuf.UInt64Value',
  '.google.protobuf.FloatValue',
  '.google.protobuf.DoubleValue',
]);
const longScalars = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const numberScalars = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'double', 'float']);

/** Long (from protobufjs' decoder) or number → decimal string, without Long's slow path when it fits 32 bits. */
export function longToString(v: unknown): string {
  if (typeof v === 'number') return String(v);
  const l = v as { low: number; high: number; unsigned: boolean; toString(): string };
  if (l.high === 0) return String(l.low >>> 0);
  return l.toString();
}

function isZeroLong(v: unknown): boolean {
  if (typeof v === 'number') return v === 0;
  const l = v as { low: number; high: number };
  return l.low === 0 && l.high === 0;
}

function longToNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  const l = v as { low: number; high: number; unsigned: boolean };
  return l.unsigned ? (l.high >>> 0) * 4294967296 + (l.low >>> 0) : l.high * 4294967296 + (l.low >>> 0);
}

function bytesToBase64(v: Uint8Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

function lowerCamel(path: string): string {
  return path.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function snakeCase(path: string): string {
  return path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

// ---------------------------------------------------------------------------------------------------------
// Wire → jsonpb. One function is generated per message type (as protobufjs does for its own decoders): straight
// property reads with constant names keep V8's inline caches monomorphic, several times faster than a
// loop over field descriptors. Flows are converted at >100k/s, so this is the hot path.

const toCache = new Map<protobuf.Type, ToJsonpb>();

/** Helpers the generated code calls; passed in rather than closed over so the generated source stands alone. */
const helpers = {
  longToString,
  isZeroLong,
  formatTimestamp,
  longToNumber,
  bytesToBase64,
  lowerCamel,
};

function toExpression(field: protobuf.Field, v: string, deps: unknown[]): { test: string; value: string } {
  const dep = (x: unknown): string => {
    deps.push(x);
    return `d[${deps.length - 1}]`;
  };
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Enum) {
    const names: Record<number, string> = {};
    for (const [name, id] of Object.entries(rt.values)) if (names[id] === undefined) names[id] = name;
    const table = dep(names);
    return { test: `${v} !== 0`, value: `(${table}[${v}] ?? ${v})` };
  }
  if (rt instanceof protobuf.Type) {
    const full = rt.fullName;
    if (full === '.google.protobuf.Timestamp') {
      return { test: `${v} != null`, value: `h.formatTimestamp(h.longToNumber(${v}.seconds), ${v}.nanos)` };
    }
    if (wrapperTypes.has(full)) {
      const inner = rt.fields.value!;
      if (longScalars.has(inner.type)) return { test: `${v} != null`, value: `h.longToString(${v}.value)` };
      if (inner.type === 'bytes') return { test: `${v} != null`, value: `h.bytesToBase64(${v}.value)` };
      return { test: `${v} != null`, value: `${v}.value` };
    }
    if (full === '.google.protobuf.Any') {
      // protojson would need the embedded type's schema; keep the payload so nothing is lost.
      return { test: `${v} != null`, value: `{ '@type': ${v}.type_url, value: h.bytesToBase64(${v}.value) }` };
    }
    if (full === '.google.protobuf.FieldMask') {
      return { test: `${v} != null`, value: `${v}.paths.map(h.lowerCamel).join(',')` };
    }
    const convert = dep(toJsonpbConverter(rt));
    return { test: `${v} != null`, value: `${convert}(${v})` };
  }
  if (longScalars.has(field.type)) return { test: `!h.isZeroLong(${v})`, value: `h.longToString(${v})` };
  if (field.type === 'bool') return { test: `${v} === true`, value: v };
  if (field.type === 'string') return { test: `${v} !== ''`, value: v };
  if (field.type === 'bytes') return { test: `${v}.length !== 0`, value: `h.bytesToBase64(${v})` };
  if (numberScalars.has(field.type)) return { test: `${v} !== 0`, value: v };
  throw new Error(`unsupported field type ${field.type} for ${field.fullName}`);
}

export function toJsonpbConverter(type: protobuf.Type): ToJsonpb {
  const cached = toCache.get(type);
  if (cached) return cached;
  // Recursive types resolve to this forwarder until the real function exists.
  let real: ToJsonpb | undefined;
  const forward: ToJsonpb = (m) => real!(m);
  toCache.set(type, forward);

  const deps: unknown[] = [];
  const lines: string[] = ['const o = {};', 'let v;'];
  for (const field of type.fieldsArray) {
    if (field.map) throw new Error(`map fields are not supported (${field.fullName})`);
    const key = JSON.stringify(field.name);
    lines.push(`v = m[${key}];`);
    if (field.repeated) {
      const el = toExpression(field, 'x', deps);
      const mapped = el.value === 'x' ? 'v' : `v.map((x) => ${el.value})`;
      lines.push(`if (v != null && v.length !== 0) o[${key}] = ${mapped};`);
    } else {
      const { test, value } = toExpression(field, 'v', deps);
      // A oneof member counts as set whenever the decoder put it there, default value or not.
      const present = field.partOf ? `v != null && m.hasOwnProperty(${key})` : `v != null && ${test}`;
      lines.push(`if (${present}) o[${key}] = ${value};`);
    }
  }
  lines.push('return o;');
  const factory = new Function('h', 'd', `return function ${type.name}ToJsonpb(m) {\n${lines.join('\n')}\n};`);
  real = factory(helpers, deps) as ToJsonpb;
  toCache.set(type, real);
  return real;
}

// ---------------------------------------------------------------------------------------------------------
// jsonpb → an object protobufjs can encode. Used once per record on the server (records are encoded once and
// the bytes shared by every client), so it favours clear errors over speed. Unknown keys are ignored: real
// exports carry fields newer than our protos.

const fromCache = new Map<protobuf.Type, FromJsonpb>();

function fail(path: string, message: string): never {
  throw new JsonpbError(path, message);
}

function scalarFromJsonpb(field: protobuf.Field, value: unknown, path: string): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Enum) {
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string') {
      const id = rt.values[value];
      if (id !== undefined) return id;
      fail(path, `unknown ${rt.name} value "${value}"`);
    }
    fail(path, `expected a ${rt.name} name, got ${JSON.stringify(value)}`);
  }
  if (rt instanceof protobuf.Type) return messageFromJsonpb(rt, value, path);
  if (longScalars.has(field.type)) {
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
    fail(path, `expected a 64-bit integer (string), got ${JSON.stringify(value)}`);
  }
  if (numberScalars.has(field.type)) {
    if (typeof value === 'number') return value;
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
    fail(path, `expected a number, got ${JSON.stringify(value)}`);
  }
  if (field.type === 'bool') {
    if (typeof value === 'boolean') return value;
    fail(path, `expected true or false, got ${JSON.stringify(value)}`);
  }
  if (field.type === 'string') {
    if (typeof value === 'string') return value;
    fail(path, `expected a string, got ${JSON.stringify(value)}`);
  }
  if (field.type === 'bytes') {
    if (typeof value === 'string') return Buffer.from(value, 'base64');
    fail(path, `expected base64 text, got ${JSON.stringify(value)}`);
  }
  fail(path, `unsupported field type ${field.type}`);
}

function messageFromJsonpb(type: protobuf.Type, value: unknown, path: string): unknown {
  const full = type.fullName;
  if (full === '.google.protobuf.Timestamp') {
    const t = typeof value === 'string' ? parseTimestamp(value) : undefined;
    if (!t) fail(path, `expected an RFC 3339 timestamp, got ${JSON.stringify(value)}`);
    return t;
  }
  if (wrapperTypes.has(full)) return { value: scalarFromJsonpb(type.fields.value!, value, path) };
  if (full === '.google.protobuf.FieldMask') {
    if (typeof value !== 'string') fail(path, `expected comma-separated paths, got ${JSON.stringify(value)}`);
    return { paths: value === '' ? [] : value.split(',').map(snakeCase) };
  }
  if (full === '.google.protobuf.Any') {
    const any = value as { '@type'?: unknown; value?: unknown } | null;
    if (typeof any !== 'object' || any === null || typeof any['@type'] !== 'string') {
      fail(path, 'expected an object with "@type"');
    }
    return { type_url: any['@type'], value: typeof any.value === 'string' ? Buffer.from(any.value, 'base64') : Buffer.alloc(0) };
  }
  return fromJsonpbConverter(type)(value, path);
}

export function fromJsonpbConverter(type: protobuf.Type): FromJsonpb {
  const cached = fromCache.get(type);
  if (cached) return cached;
  const convert: FromJsonpb = (value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail(path, `expected an object, got ${JSON.stringify(value)}`);
    }
    const out: Plain = {};
    for (const key in value) {
      const field = type.fields[key];
      const v = (value as Plain)[key];
      if (!field || v === null || v === undefined) continue;
      const fieldPath = path ? `${path}.${key}` : key;
      if (field.repeated) {
        if (!Array.isArray(v)) fail(fieldPath, `expected a list, got ${JSON.stringify(v)}`);
        out[key] = v.map((x, i) => scalarFromJsonpb(field, x, `${fieldPath}[${i}]`));
      } else {
        out[key] = scalarFromJsonpb(field, v, fieldPath);
      }
    }
    return out;
  };
  fromCache.set(type, convert);
  return convert;
}
