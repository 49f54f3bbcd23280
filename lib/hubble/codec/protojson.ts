// Compiles, from the .proto reflection, one straight-line serializer per message that writes Go protojson (UseProtoNames).
import protobuf from 'protobufjs';
import { hubbleRoot } from '../grpc/protos.ts';
import { formatTimestamp, parseTimestamp } from '../grpc/timestamp.ts';

/**
 * Serializes a message held in its JSON shape (proto field names, enums as names, 64-bit integers as strings)
 * exactly as Go's protojson does with UseProtoNames: fields in declaration order, unknown keys dropped,
 * proto3 defaults omitted except where the field has presence (oneof members, optional, wrappers).
 */
export type ProtojsonSerializer = (msg: object) => string;

/**
 * True when the serializer would give back `msg` itself: only known fields, in declaration order, no value
 * the serializer leaves out (defaults, null) or rewrites (enum numbers or aliases, numbers for 64-bit integers,
 * non-canonical timestamps, maps). Meant for values parsed from JSON text.
 */
export type ProtojsonCanonicalCheck = (msg: object) => boolean;

export interface ProtojsonOptions {
  /**
   * Also escape `<`, `>`, `&`, U+2028 and U+2029 inside strings, as Go's json.Encoder does to protojson text
   * (the hubble CLI prints through one).
   */
  encoderEscapes?: boolean;
}

interface Compiled {
  write: ProtojsonSerializer;
  isCanonical: ProtojsonCanonicalCheck;
}

const compiled = new Map<string, Compiled>();

function compiledFor(typeName: string, root: protobuf.Root, opts: ProtojsonOptions): Compiled {
  const name = typeName.replace(/^\./, '');
  const key = `${name}${opts.encoderEscapes ? '+escapes' : ''}`;
  const cached = root === hubbleRoot ? compiled.get(key) : undefined;
  if (cached) return cached;
  const fns = compile(root.lookupType(name), opts.encoderEscapes === true);
  if (root === hubbleRoot) compiled.set(key, fns);
  return fns;
}

/** The serializer for a fully qualified message name such as `observer.GetFlowsResponse`. */
export function protojsonSerializer(typeName: string, root: protobuf.Root = hubbleRoot, opts: ProtojsonOptions = {}): ProtojsonSerializer {
  return compiledFor(typeName, root, opts).write;
}

/** The check that tells whether protojsonSerializer(typeName) would write a value back unchanged. */
export function protojsonCanonicalCheck(typeName: string, root: protobuf.Root = hubbleRoot): ProtojsonCanonicalCheck {
  return compiledFor(typeName, root, {}).isCanonical;
}

/** The name of an enum's value (its first name when aliased), or undefined when the number has none. */
export function enumValueName(enumName: string, value: number, root: protobuf.Root = hubbleRoot): string | undefined {
  let names = root === hubbleRoot ? enumNames.get(enumName) : undefined;
  if (names === undefined) {
    names = root.lookupEnum(enumName).valuesById;
    if (root === hubbleRoot) enumNames.set(enumName, names);
  }
  return Object.hasOwn(names, value) ? names[value] : undefined;
}

const enumNames = new Map<string, Record<number, string>>();

const CANONICAL_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3}(?:\d{3}(?:\d{3})?)?)?Z$/;

/** True when `text` is already an RFC 3339 timestamp in protojson's form (UTC, 0/3/6/9 fractional digits). */
function isCanonicalTime(text: string): boolean {
  return CANONICAL_TIME.test(text) && !text.endsWith('000Z');
}

/** The canonical protojson form of an RFC 3339 string (the same string when it already is); undefined if unparsable. */
export function canonicalTimestamp(text: string): string | undefined {
  if (isCanonicalTime(text)) return text;
  const ts = parseTimestamp(text);
  return ts === undefined ? undefined : formatTimestamp(ts.seconds, ts.nanos);
}

// ---- string escaping ----

// Any character that JSON.stringify or Go's json.Encoder writes other than as itself; surrogates because
// JSON.stringify escapes lone ones. A string without any is written as "text".
const NEEDS_ESCAPE = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/;

const GO_ENCODER_ESCAPES = /[<>&\u2028\u2029]/g;
const GO_ESCAPE_TEXT: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** Go's json.Encoder re-escapes these in the JSON text it is handed; outside strings they cannot occur. */
function goEncoderEscape(json: string): string {
  return json.replace(GO_ENCODER_ESCAPES, (c) => GO_ESCAPE_TEXT[c]!);
}

function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

function quoteEscaped(s: string): string {
  return NEEDS_ESCAPE.test(s) ? goEncoderEscape(JSON.stringify(s)) : `"${s}"`;
}

// ---- helpers the generated code calls off its fast paths ----

const INT32_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const INT64_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
/** A decimal integer string that BigInt(…).toString() gives back unchanged, zero excluded. */
const CANONICAL_NONZERO_INT = /^-?[1-9]\d*$/;
const CANONICAL_INT = /^(?:0|-?[1-9]\d*)$/;

function i32(v: unknown): string {
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isInteger(n) ? String(n) : Number.isFinite(n) ? String(Math.trunc(n)) : '0';
}

const NUMBER_PARTS = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * The decimal integer a JSON number text stands for, exactly ("1e3" → "1000", "12.0" → "12", "007" → "7"), as
 * protojson reads 64-bit integers given as strings; undefined when it is no integer.
 */
export function integerText(text: string): string | undefined {
  const m = NUMBER_PARTS.exec(text);
  if (!m) return undefined;
  const [, sign, int, frac = '', expText] = m;
  const exp = Number(expText ?? 0) - frac.length;
  if (!Number.isSafeInteger(exp) || exp > 40) return undefined;
  let digits = int! + frac;
  if (exp >= 0) digits += '0'.repeat(exp);
  else if (/^0*$/.test(digits.slice(exp))) digits = digits.slice(0, exp);
  else return undefined;
  digits = digits.replace(/^0+(?=\d)/, '');
  return digits === '0' || digits === '' ? '0' : `${sign}${digits}`;
}

function i64(v: unknown): string {
  if (typeof v === 'string') {
    if (/^-?\d+$/.test(v)) return `"${BigInt(v).toString()}"`;
    const text = integerText(v);
    return text === undefined ? '"0"' : `"${text}"`;
  }
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

function isCanonicalFloat(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && Number(f32(v)) === v;
}

function bytes(v: unknown, q: (s: string) => string): string {
  if (typeof v === 'string') return q(v);
  if (v instanceof Uint8Array) return `"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"`;
  return '""';
}

function timestamp(v: unknown, q: (s: string) => string): string | undefined {
  if (typeof v === 'string') return q(canonicalTimestamp(v) ?? v);
  if (typeof v === 'object' && v !== null) {
    const o = v as { seconds?: unknown; nanos?: unknown };
    return `"${formatTimestamp(Number(o.seconds ?? 0), Number(o.nanos ?? 0))}"`;
  }
  return undefined;
}

function duration(v: unknown, q: (s: string) => string): string {
  if (typeof v === 'string') return q(v);
  const o = (v ?? {}) as { seconds?: unknown; nanos?: unknown };
  const s = Number(o.seconds ?? 0);
  const n = Number(o.nanos ?? 0);
  const neg = s < 0 || n < 0;
  const frac =
    Math.abs(n) === 0
      ? ''
      : `.${String(Math.abs(n))
          .padStart(9, '0')
          .replace(/(?:000)+$/, '')}`;
  return `"${neg ? '-' : ''}${Math.abs(s)}${frac}s"`;
}

function fieldMask(v: unknown, q: (s: string) => string): string {
  if (typeof v === 'string') return q(v);
  const paths = ((v ?? {}) as { paths?: unknown }).paths;
  const list = Array.isArray(paths) ? paths.map((p) => String(p).replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())) : [];
  return q(list.join(','));
}

/** Wrapper messages print as their bare value; a `{value}` object is accepted too. */
function unwrap(v: unknown): unknown {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as { value?: unknown }).value : v;
}

function isEmptyObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const _ in v) return false;
  return true;
}

function isMessageObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const helpers = {
  i32,
  i64,
  f64,
  f32,
  bytes,
  timestamp,
  duration,
  fieldMask,
  unwrap,
  isCanonicalTime,
  isCanonicalFloat,
  isEmptyObject,
  isMessageObject,
  CANONICAL_NONZERO_INT,
  CANONICAL_INT,
};

// ---- code generation ----

interface EnumTables {
  /** name or number → JSON text, zero value included (presence, repeated and map values). */
  explicit: Map<unknown, string>;
  /** name or number → JSON text, zero value left out (implicit presence). */
  implicit: Map<unknown, string>;
  /** Names written back as themselves (first names of their number), zero value included. */
  names: Set<unknown>;
  /** As names, zero value left out. */
  nonZeroNames: Set<unknown>;
}

function enumTables(e: protobuf.Enum): EnumTables {
  const t: EnumTables = { explicit: new Map(), implicit: new Map(), names: new Set(), nonZeroNames: new Set() };
  for (const [name, num] of Object.entries(e.values)) {
    const first = e.valuesById[num] ?? name;
    const text = JSON.stringify(first);
    t.explicit.set(name, text);
    if (!t.explicit.has(num)) t.explicit.set(num, text);
    if (first === name) t.names.add(name);
    if (num !== 0) {
      t.implicit.set(name, text);
      if (!t.implicit.has(num)) t.implicit.set(num, text);
      if (first === name) t.nonZeroNames.add(name);
    }
  }
  return t;
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

function hasPresence(field: protobuf.Field): boolean {
  return field.partOf !== null || field.options?.proto3_optional === true || field.resolvedType instanceof protobuf.Type;
}

/**
 * Generated code, per message: `W<i>(m)` writes the JSON text and `C<i>(m)` checks canonical form. Fields are
 * read by name in declaration order (no per-field closures or arrays); a string is written as "text" unless one
 * regex test finds a character to escape; timestamps and 64-bit integers already in canonical form are copied.
 */
function compile(top: protobuf.Type, encoderEscapes: boolean): Compiled {
  const types: protobuf.Type[] = [];
  const typeIndex = new Map<protobuf.Type, number>();
  const enums: EnumTables[] = [];
  const enumIndex = new Map<protobuf.Enum, number>();

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

  // ---- writing: expressions giving the JSON text of the plain variable x ----

  const scalarText = (type: string, x: string): string => {
    if (type === 'string') return `(typeof ${x} === 'string' ? q(${x}) : q(String(${x})))`;
    if (type === 'bool') return `(${x} === true || ${x} === 'true' ? 'true' : 'false')`;
    if (INT32_TYPES.has(type)) return `(typeof ${x} === 'number' && Number.isInteger(${x}) ? '' + ${x} : h.i32(${x}))`;
    if (INT64_TYPES.has(type)) return `(typeof ${x} === 'string' && h.CANONICAL_INT.test(${x}) ? '"' + ${x} + '"' : h.i64(${x}))`;
    if (type === 'double') return `h.f64(${x})`;
    if (type === 'float') return `h.f32(${x})`;
    if (type === 'bytes') return `h.bytes(${x}, q)`;
    throw new Error(`protojson: unsupported scalar type ${type}`);
  };

  const messageText = (t: protobuf.Type, x: string): string => {
    const name = t.fullName.slice(1);
    const wrapped = WRAPPERS[name];
    if (wrapped === 'bool') return `(${x} === true ? 'true' : ${x} === false ? 'false' : ${scalarText(wrapped, `h.unwrap(${x})`)})`;
    if (wrapped) return `((u = h.unwrap(${x})), ${scalarText(wrapped, 'u')})`;
    if (name === 'google.protobuf.Timestamp')
      return `(typeof ${x} === 'string' && h.isCanonicalTime(${x}) ? '"' + ${x} + '"' : h.timestamp(${x}, q) ?? 'null')`;
    if (name === 'google.protobuf.Duration') return `h.duration(${x}, q)`;
    if (name === 'google.protobuf.FieldMask') return `h.fieldMask(${x}, q)`;
    if (name === 'google.protobuf.Empty') return `'{}'`;
    if (AS_JSON.has(name)) return `json(${x})`;
    return `(${x} !== null && typeof ${x} === 'object' ? W${typeRef(t)}(${x}) : '{}')`;
  };

  const valueText = (field: protobuf.Field, x: string): string => {
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Enum) return `(X${enumRef(rt)}.get(${x}) ?? (Number.isInteger(${x}) ? String(${x}) : '0'))`;
    if (rt instanceof protobuf.Type) return messageText(rt, x);
    return scalarText(field.type, x);
  };

  /** Statements appending `"name":value` to `o` when the field is to be written. */
  const writeField = (field: protobuf.Field): string => {
    const name = JSON.stringify(field.name);
    // The first field written opens the object without a comma.
    const key = `(o.length === 1 ? ${JSON.stringify(`${name}:`)} : ${JSON.stringify(`,${name}:`)})`;
    const get = `v = m[${name}];`;
    if (field.map) {
      const mf = field as unknown as protobuf.MapField;
      const numeric = mf.keyType === 'bool' || INT32_TYPES.has(mf.keyType) || INT64_TYPES.has(mf.keyType);
      const sort = numeric ? '.sort((a, b) => Number(a) - Number(b))' : '.sort()';
      return `${get} if (v !== null && typeof v === 'object') { const ks = Object.keys(v)${sort}; if (ks.length) { o += ${key} + '{'; for (let i = 0; i < ks.length; i++) { const k = ks[i], x = v[k]; o += (i ? ',' : '') + q(k) + ':' + ${valueText(field, 'x')}; } o += '}'; } }`;
    }
    if (field.repeated) {
      return `${get} if (Array.isArray(v) && v.length !== 0) { let x = v[0]; o += ${key} + '[' + ${valueText(field, 'x')}; for (let i = 1; i < v.length; i++) { x = v[i]; o += ',' + ${valueText(field, 'x')}; } o += ']'; }`;
    }
    const rt = field.resolvedType;
    if (hasPresence(field)) {
      if (rt instanceof protobuf.Type && rt.fullName === '.google.protobuf.Value') return `${get} if (v !== undefined) o += ${key} + ${valueText(field, 'v')};`;
      return `${get} if (v != null) o += ${key} + ${valueText(field, 'v')};`;
    }
    if (rt instanceof protobuf.Enum) {
      const i = enumRef(rt);
      return `${get} if (v != null) { const e = I${i}.get(v) ?? (Number.isInteger(v) && v !== 0 && !X${i}.has(v) ? String(v) : undefined); if (e !== undefined) o += ${key} + e; }`;
    }
    switch (field.type) {
      case 'string':
        return `${get} if (typeof v === 'string') { if (v.length !== 0) o += ${key} + q(v); } else if (v != null) o += ${key} + q(String(v));`;
      case 'bool':
        return `${get} if (v === true || v === 'true') o += ${key} + 'true';`;
      case 'bytes':
        return `${get} if (v != null && v.length) o += ${key} + h.bytes(v, q);`;
      case 'double':
      case 'float':
        return `${get} if (v != null && v !== 0 && v !== '0') o += ${key} + ${scalarText(field.type, 'v')};`;
      default:
        if (INT32_TYPES.has(field.type)) {
          return `${get} if (v) { if (typeof v === 'number' && Number.isInteger(v)) o += ${key} + v; else { const s = h.i32(v); if (s !== '0') o += ${key} + s; } }`;
        }
        if (INT64_TYPES.has(field.type)) {
          return `${get} if (v) { if (typeof v === 'string' && h.CANONICAL_NONZERO_INT.test(v)) o += ${key} + '"' + v + '"'; else { const s = h.i64(v); if (s !== '"0"') o += ${key} + s; } }`;
        }
        throw new Error(`protojson: unsupported field type ${field.type} of ${field.fullName}`);
    }
  };

  // ---- canonical check: conditions on the plain variable x ----

  const scalarIsCanonical = (type: string, x: string, implicit: boolean): string => {
    if (type === 'string' || type === 'bytes') return implicit ? `(typeof ${x} === 'string' && ${x}.length !== 0)` : `typeof ${x} === 'string'`;
    if (type === 'bool') return implicit ? `${x} === true` : `typeof ${x} === 'boolean'`;
    if (INT32_TYPES.has(type)) return `(typeof ${x} === 'number' && Number.isInteger(${x}) && ${implicit ? `${x} !== 0` : `!Object.is(${x}, -0)`})`;
    if (INT64_TYPES.has(type)) return `(typeof ${x} === 'string' && h.${implicit ? 'CANONICAL_NONZERO_INT' : 'CANONICAL_INT'}.test(${x}))`;
    if (type === 'double') return `(typeof ${x} === 'number' && Number.isFinite(${x}) && ${implicit ? `${x} !== 0` : `!Object.is(${x}, -0)`})`;
    if (type === 'float') return `(h.isCanonicalFloat(${x})${implicit ? ` && ${x} !== 0` : ''})`;
    throw new Error(`protojson: unsupported scalar type ${type}`);
  };

  const messageIsCanonical = (t: protobuf.Type, x: string): string => {
    const name = t.fullName.slice(1);
    const wrapped = WRAPPERS[name];
    if (wrapped) return scalarIsCanonical(wrapped, x, false);
    if (name === 'google.protobuf.Timestamp') return `(typeof ${x} === 'string' && h.isCanonicalTime(${x}))`;
    if (name === 'google.protobuf.Duration' || name === 'google.protobuf.FieldMask') return `typeof ${x} === 'string'`;
    if (name === 'google.protobuf.Empty') return `h.isEmptyObject(${x})`;
    if (name === 'google.protobuf.Value') return `${x} !== undefined`;
    if (AS_JSON.has(name)) return `${x} != null`;
    return `(h.isMessageObject(${x}) && C${typeRef(t)}(${x}))`;
  };

  const valueIsCanonical = (field: protobuf.Field, x: string, implicit: boolean): string => {
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Enum) return `${implicit ? 'Z' : 'N'}${enumRef(rt)}.has(${x})`;
    if (rt instanceof protobuf.Type) return messageIsCanonical(rt, x);
    return scalarIsCanonical(field.type, x, implicit);
  };

  const listChecks: string[] = [];
  const checkField = (field: protobuf.Field): string => {
    // Maps are written with sorted keys; rare enough to leave to the serializer.
    if (field.map) return 'false';
    if (field.repeated) {
      const fn = `L${listChecks.length}`;
      listChecks.push(
        `function ${fn}(v) {\n  for (let i = 0; i < v.length; i++) { const x = v[i]; if (!(${valueIsCanonical(field, 'x', false)})) return false; }\n  return true;\n}`,
      );
      return `(Array.isArray(v) && v.length !== 0 && ${fn}(v))`;
    }
    return valueIsCanonical(field, 'v', !hasPresence(field));
  };

  typeRef(top);
  const bodies: string[] = [];
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    const fields = t.fieldsArray;
    const writes = fields.map(writeField).join('\n  ');
    bodies.push(`function W${i}(m) {\n  let o = '{', v, u;\n  ${writes}\n  return o + '}';\n}`);
    const cases = fields
      .map((f, n) => `case ${JSON.stringify(f.name)}: if (last >= ${n} || !(${checkField(f)})) return false; last = ${n}; break;`)
      .join('\n      ');
    bodies.push(
      `function C${i}(m) {\n  let last = -1;\n  for (const k in m) {\n    const v = m[k];\n    switch (k) {\n      ${cases}\n      default: return false;\n    }\n  }\n  return true;\n}`,
    );
  }
  const tables = enums.map(
    (_, i) => `const X${i} = enums[${i}].explicit, I${i} = enums[${i}].implicit, N${i} = enums[${i}].names, Z${i} = enums[${i}].nonZeroNames;`,
  );
  const source = `${tables.join('\n')}\n${bodies.join('\n')}\n${listChecks.join('\n')}\nreturn { write: W0, isCanonical: C0 };`;
  const q = encoderEscapes ? quoteEscaped : quote;
  const json = encoderEscapes ? (v: unknown) => goEncoderEscape(JSON.stringify(v) ?? 'null') : (v: unknown) => JSON.stringify(v) ?? 'null';
  const factory = new Function('h', 'enums', 'q', 'json', source) as (
    h: typeof helpers,
    enums: EnumTables[],
    q: (s: string) => string,
    json: (v: unknown) => string,
  ) => Compiled;
  return factory(helpers, enums, q, json);
}
