// Compiles, from the .proto reflection, one fast serializer per message that writes Go protojson (UseProtoNames).
import protobuf from 'protobufjs';
import { hubbleRoot } from '../grpc/protos.ts';
import { formatTimestamp, parseTimestamp } from '../grpc/timestamp.ts';

/**
 * Serializes a message held in its JSON shape (proto field names, enums as names, 64-bit integers as strings)
 * exactly as Go's protojson does with UseProtoNames: fields in declaration order, unknown keys dropped,
 * proto3 defaults omitted except where the field has presence (oneof members, optional, wrappers).
 */
export type ProtojsonSerializer = (msg: object) => string;

const compiled = new Map<string, ProtojsonSerializer>();

/** The serializer for a fully qualified message name such as `observer.GetFlowsResponse`. */
export function protojsonSerializer(typeName: string, root: protobuf.Root = hubbleRoot): ProtojsonSerializer {
  const key = typeName.replace(/^\./, '');
  const cached = root === hubbleRoot ? compiled.get(key) : undefined;
  if (cached) return cached;
  const fn = compile(root.lookupType(key));
  if (root === hubbleRoot) compiled.set(key, fn);
  return fn;
}

const CANONICAL_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3}(?:\d{3}(?:\d{3})?)?)?Z$/;

/** The canonical protojson form of an RFC 3339 string (the same string when it already is); undefined if unparsable. */
export function canonicalTimestamp(text: string): string | undefined {
  if (CANONICAL_TIME.test(text) && !text.endsWith('000Z')) return text;
  const ts = parseTimestamp(text);
  return ts === undefined ? undefined : formatTimestamp(ts.seconds, ts.nanos);
}

// ---- helpers the generated code calls ----

const INT32_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const INT64_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function str(v: unknown): string {
  return JSON.stringify(typeof v === 'string' ? v : String(v));
}

function i32(v: unknown): string {
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isInteger(n) ? String(n) : Number.isFinite(n) ? String(Math.trunc(n)) : '0';
}

function i64(v: unknown): string {
  if (typeof v === 'string') return /^-?\d+$/.test(v) ? `"${BigInt(v).toString()}"` : '"0"';
  if (typeof v === 'number') return Number.isFinite(v) ? `"${BigInt(Math.trunc(v)).toString()}"` : '"0"';
  if (typeof v === 'bigint') return `"${v.toString()}"`;
  return '"0"';
}

function f64(v: unknown): string {
  const n = typeof v === 'number' ? v : Number(v);
  if (Number.isNaN(n)) return '"NaN"';
  if (n === Infinity) return '"Infinity"';
  if (n === -Infinity) return '"-Infinity"';
  return String(n);
}

/** Go writes the shortest decimal that round-trips as a float32, not the float64 digits of the float32 value. */
function f32(v: unknown): string {
  const n = Math.fround(typeof v === 'number' ? v : Number(v));
  if (!Number.isFinite(n)) return f64(n);
  for (let p = 1; p <= 9; p++) {
    const s = n.toPrecision(p);
    if (Math.fround(Number(s)) === n) return String(Number(s));
  }
  return String(n);
}

function bytes(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Uint8Array) return `"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"`;
  return '""';
}

function timestamp(v: unknown): string | undefined {
  if (typeof v === 'string') {
    const canon = canonicalTimestamp(v);
    return JSON.stringify(canon ?? v);
  }
  if (typeof v === 'object' && v !== null) {
    const o = v as { seconds?: unknown; nanos?: unknown };
    return `"${formatTimestamp(Number(o.seconds ?? 0), Number(o.nanos ?? 0))}"`;
  }
  return undefined;
}

function duration(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  const o = (v ?? {}) as { seconds?: unknown; nanos?: unknown };
  const s = Number(o.seconds ?? 0);
  const n = Number(o.nanos ?? 0);
  const neg = s < 0 || n < 0;
  const frac = Math.abs(n) === 0 ? '' : `.${String(Math.abs(n)).padStart(9, '0').replace(/(?:000)+$/, '')}`;
  return `"${neg ? '-' : ''}${Math.abs(s)}${frac}s"`;
}

function fieldMask(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  const paths = ((v ?? {}) as { paths?: unknown }).paths;
  const list = Array.isArray(paths) ? paths.map((p) => String(p).replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())) : [];
  return JSON.stringify(list.join(','));
}

/** Wrapper messages print as their bare value; a `{value}` object is accepted too. */
function unwrap(v: unknown): unknown {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as { value?: unknown }).value : v;
}

const helpers = { str, i32, i64, f64, f32, bytes, timestamp, duration, fieldMask, unwrap, json: (v: unknown) => JSON.stringify(v) ?? 'null' };

// ---- code generation ----

interface EnumTables {
  /** name or number → JSON text, zero value left out (implicit presence). */
  implicit: Map<unknown, string>;
  /** name or number → JSON text, zero value included (presence, repeated and map values). */
  explicit: Map<unknown, string>;
}

function enumTables(e: protobuf.Enum): EnumTables {
  const implicit = new Map<unknown, string>();
  const explicit = new Map<unknown, string>();
  for (const [name, num] of Object.entries(e.values)) {
    const first = e.valuesById[num] ?? name;
    const text = JSON.stringify(first);
    explicit.set(name, text);
    if (!explicit.has(num)) explicit.set(num, text);
    if (num !== 0) {
      implicit.set(name, text);
      if (!implicit.has(num)) implicit.set(num, text);
    }
  }
  return { implicit, explicit };
}

const WRAPPERS: Record<string, string> = {
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
};

const AS_JSON = new Set(['google.protobuf.Any', 'google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.ListValue']);

function compile(top: protobuf.Type): ProtojsonSerializer {
  const types: protobuf.Type[] = [];
  const typeIndex = new Map<protobuf.Type, number>();
  const enums: EnumTables[] = [];
  const enumIndex = new Map<protobuf.Enum, number>();
  const bodies: string[] = [];

  const enumRef = (e: protobuf.Enum): number => {
    let i = enumIndex.get(e);
    if (i === undefined) {
      i = enums.length;
      enums.push(enumTables(e));
      enumIndex.set(e, i);
    }
    return i;
  };

  const typeRef = (t: protobuf.Type): number => {
    let i = typeIndex.get(t);
    if (i === undefined) {
      i = types.length;
      types.push(t);
      typeIndex.set(t, i);
    }
    return i;
  };

  /** An expression giving the JSON text of `x` as one value of the field's type, default values included. */
  const valueExpr = (field: protobuf.Field, x: string): string => {
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Enum) {
      const i = enumRef(rt);
      return `(E[${i}].explicit.get(${x}) ?? (typeof ${x} === 'number' ? String(${x}) : '0'))`;
    }
    if (rt instanceof protobuf.Type) return messageExpr(rt, x);
    return scalarExpr(field.type, x);
  };

  const scalarExpr = (type: string, x: string): string => {
    if (type === 'string') return `h.str(${x})`;
    if (type === 'bool') return `(${x} === true || ${x} === 'true' ? 'true' : 'false')`;
    if (INT32_TYPES.has(type)) return `h.i32(${x})`;
    if (INT64_TYPES.has(type)) return `h.i64(${x})`;
    if (type === 'double') return `h.f64(${x})`;
    if (type === 'float') return `h.f32(${x})`;
    if (type === 'bytes') return `h.bytes(${x})`;
    throw new Error(`protojson: unsupported scalar type ${type}`);
  };

  const messageExpr = (t: protobuf.Type, x: string): string => {
    const name = t.fullName.slice(1);
    const wrapped = WRAPPERS[name];
    if (wrapped) return scalarExpr(wrapped, `h.unwrap(${x})`);
    if (name === 'google.protobuf.Timestamp') return `(h.timestamp(${x}) ?? 'null')`;
    if (name === 'google.protobuf.Duration') return `h.duration(${x})`;
    if (name === 'google.protobuf.FieldMask') return `h.fieldMask(${x})`;
    if (name === 'google.protobuf.Empty') return `'{}'`;
    if (AS_JSON.has(name)) return `h.json(${x})`;
    return `(${x} !== null && typeof ${x} === 'object' ? S[${typeRef(t)}](${x}) : '{}')`;
  };

  /** Statements appending `"name":value` to `o` when the field is to be written. */
  const fieldCode = (field: protobuf.Field): string => {
    const key = JSON.stringify(`,${JSON.stringify(field.name)}:`);
    const get = `v = m[${JSON.stringify(field.name)}];`;
    if (field.map) {
      const mf = field as unknown as protobuf.MapField;
      const keyConv = mf.keyType === 'bool' || INT32_TYPES.has(mf.keyType) || INT64_TYPES.has(mf.keyType) ? 'numeric' : 'string';
      const sort = keyConv === 'numeric' ? '.sort((a, b) => Number(a) - Number(b))' : '.sort()';
      return `${get} if (v !== null && typeof v === 'object') { const ks = Object.keys(v)${sort}; if (ks.length) { o += ${key} + '{'; for (let i = 0; i < ks.length; i++) { const k = ks[i], x = v[k]; o += (i ? ',' : '') + JSON.stringify(k) + ':' + ${valueExpr(field, 'x')}; } o += '}'; } }`;
    }
    if (field.repeated) {
      return `${get} if (Array.isArray(v) && v.length) { o += ${key} + '['; for (let i = 0; i < v.length; i++) { const x = v[i]; o += (i ? ',' : '') + ${valueExpr(field, 'x')}; } o += ']'; }`;
    }
    const rt = field.resolvedType;
    const hasPresence = field.partOf !== null || field.options?.proto3_optional === true || rt instanceof protobuf.Type;
    if (hasPresence) {
      if (rt instanceof protobuf.Type && rt.fullName === '.google.protobuf.Value') return `${get} if (v !== undefined) o += ${key} + ${valueExpr(field, 'v')};`;
      return `${get} if (v != null) o += ${key} + ${valueExpr(field, 'v')};`;
    }
    if (rt instanceof protobuf.Enum) {
      const i = enumRef(rt);
      return `${get} if (v != null) { const e = E[${i}].implicit.get(v) ?? (typeof v === 'number' && v !== 0 && !E[${i}].explicit.has(v) ? String(v) : undefined); if (e !== undefined) o += ${key} + e; }`;
    }
    switch (field.type) {
      case 'string':
        return `${get} if (typeof v === 'string' ? v.length !== 0 : v != null) o += ${key} + h.str(v);`;
      case 'bool':
        return `${get} if (v === true || v === 'true') o += ${key} + 'true';`;
      case 'bytes':
        return `${get} if (v != null && v.length) o += ${key} + h.bytes(v);`;
      case 'double':
      case 'float':
        return `${get} if (v != null && v !== 0 && v !== '0') o += ${key} + ${scalarExpr(field.type, 'v')};`;
      default:
        if (INT32_TYPES.has(field.type)) return `${get} if (v) { const s = h.i32(v); if (s !== '0') o += ${key} + s; }`;
        if (INT64_TYPES.has(field.type)) return `${get} if (v) { const s = h.i64(v); if (s !== '"0"') o += ${key} + s; }`;
        throw new Error(`protojson: unsupported field type ${field.type} of ${field.fullName}`);
    }
  };

  typeRef(top);
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    const stmts = t.fieldsArray.map(fieldCode).join('\n  ');
    bodies.push(`S[${i}] = function ${t.name.replace(/\W/g, '_')}(m) {\n  let o = '', v;\n  ${stmts}\n  return o.length === 0 ? '{}' : '{' + o.slice(1) + '}';\n};`);
  }
  const factory = new Function('h', 'E', `const S = [];\n${bodies.join('\n')}\nreturn S[0];`) as (
    h: typeof helpers,
    e: EnumTables[],
  ) => ProtojsonSerializer;
  return factory(helpers, enums);
}
