// jsonpb objects → wire bytes in one pass: an encoder generated per message type writes straight from the
// jsonpb shape (enum names, RFC 3339 timestamps, bare wrapper values, 64-bit strings). It only accepts values of
// exactly the expected kind; anything else makes it give up (NotFastPath) and the caller falls back to
// convert.ts, which accepts protojson's looser forms and names the field when a value is wrong.
import protobuf from 'protobufjs';
import { parseTimestamp } from './timestamp.ts';
import { longScalars, wrapperTypes } from './convert.ts';

type Writer = protobuf.Writer;
type Encoder = (value: Record<string, unknown>, w: Writer) => void;

/** Thrown by generated encoders for any value they do not handle; never escapes wireCodec. */
export class NotFastPath extends Error {}
const notFast = new NotFastPath('value needs the general encoder');

const wireTypes: Record<string, number> = {
  double: 1,
  float: 5,
  int32: 0,
  uint32: 0,
  sint32: 0,
  fixed32: 5,
  sfixed32: 5,
  bool: 0,
  string: 2,
  bytes: 2,
  int64: 0,
  uint64: 0,
  sint64: 0,
  fixed64: 1,
  sfixed64: 1,
};

const int64Text = /^-?\d+$/;

function checkLong(v: unknown): string | number {
  if (typeof v === 'string' && int64Text.test(v)) return v;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw notFast;
}

// The flow's time and the response's time are usually the same string: parse it once.
let lastTimeText = '';
let lastTime: { seconds: number; nanos: number } | undefined;

function writeTimestamp(v: unknown, w: Writer): void {
  if (typeof v !== 'string') throw notFast;
  if (v !== lastTimeText) {
    lastTime = parseTimestamp(v);
    lastTimeText = v;
  }
  const t = lastTime;
  if (!t) throw notFast;
  if (t.seconds !== 0) w.uint32(8).int64(t.seconds);
  if (t.nanos !== 0) w.uint32(16).int32(t.nanos);
}

function fail(): never {
  throw notFast;
}

const helpers = { checkLong, writeTimestamp, fail };

const cache = new Map<protobuf.Type, Encoder>();

/** Statement writing scalar `v` (already checked) with the field's tag. */
function scalarWrite(type: string, tag: number, v: string): string {
  const method = type === 'bytes' ? 'bytes' : type;
  const value = type === 'bytes' ? `Buffer.from(${v}, 'base64')` : v;
  return `w.uint32(${tag}).${method}(${value});`;
}

/** Expression checking a scalar value's kind (throws notFast otherwise) and yielding what the writer takes. */
function scalarCheck(type: string, v: string): string {
  if (longScalars.has(type)) return `h.checkLong(${v})`;
  if (type === 'string' || type === 'bytes') return `(typeof ${v} === 'string' ? ${v} : h.fail())`;
  if (type === 'bool') return `(typeof ${v} === 'boolean' ? ${v} : h.fail())`;
  return `(typeof ${v} === 'number' ? ${v} : h.fail())`;
}

function isDefault(type: string, v: string): string {
  if (longScalars.has(type)) return `(${v} === '0' || ${v} === 0)`;
  if (type === 'string' || type === 'bytes') return `${v} === ''`;
  if (type === 'bool') return `${v} === false`;
  return `${v} === 0`;
}

export function encoderFor(type: protobuf.Type): Encoder {
  const cached = cache.get(type);
  if (cached) return cached;
  let real: Encoder | undefined;
  cache.set(type, (v, w) => real!(v, w));

  const deps: unknown[] = [];
  const dep = (x: unknown): string => {
    deps.push(x);
    return `d[${deps.length - 1}]`;
  };
  const lines: string[] = ['let v;'];
  for (const field of type.fieldsArray) {
    if (field.map) throw new Error(`map fields are not supported (${field.fullName})`);
    const key = JSON.stringify(field.name);
    const rt = field.resolvedType;
    lines.push(`v = o[${key}];`, 'if (v != null) {');
    if (rt instanceof protobuf.Enum) {
      const table = dep(rt.values);
      const num = `(typeof x === 'string' ? (${table}[x] ?? h.fail()) : Number.isInteger(x) ? x : h.fail())`;
      if (field.repeated) {
        lines.push(
          `if (!Array.isArray(v)) h.fail(); if (v.length) { w.uint32(${(field.id << 3) | 2}).fork(); for (const x of v) w.int32(${num}); w.ldelim(); }`,
        );
      } else {
        lines.push(`const x = v; const n = ${num}; if (n !== 0 || ${field.partOf ? 'true' : 'false'}) w.uint32(${field.id << 3}).int32(n);`);
      }
    } else if (rt instanceof protobuf.Type) {
      const tag = (field.id << 3) | 2;
      let body: string;
      if (rt.fullName === '.google.protobuf.Timestamp') {
        body = 'h.writeTimestamp(x, w);';
      } else if (wrapperTypes.has(rt.fullName)) {
        const inner = rt.fields.value!;
        const innerTag = (1 << 3) | wireTypes[inner.type]!;
        body = `const y = ${scalarCheck(inner.type, 'x')}; if (!(${isDefault(inner.type, 'y')})) ${scalarWrite(inner.type, innerTag, 'y')}`;
      } else if (rt.fullName === '.google.protobuf.Any' || rt.fullName === '.google.protobuf.FieldMask') {
        body = 'h.fail();';
      } else {
        body = `if (typeof x !== 'object' || Array.isArray(x)) h.fail(); ${dep(encoderFor(rt))}(x, w);`;
      }
      const one = `{ const x = ELEMENT; w.uint32(${tag}).fork(); ${body} w.ldelim(); }`;
      if (field.repeated) lines.push(`if (!Array.isArray(v)) h.fail(); for (const e of v) ${one.replace('ELEMENT', 'e')}`);
      else lines.push(one.replace('ELEMENT', 'v'));
    } else {
      const wire = wireTypes[field.type];
      if (wire === undefined) throw new Error(`unsupported field type ${field.type} for ${field.fullName}`);
      if (field.repeated && wire !== 2) {
        lines.push(
          `if (!Array.isArray(v)) h.fail(); if (v.length) { w.uint32(${(field.id << 3) | 2}).fork(); for (const e of v) w.${field.type}(${scalarCheck(field.type, 'e')}); w.ldelim(); }`,
        );
      } else if (field.repeated) {
        lines.push(
          `if (!Array.isArray(v)) h.fail(); for (const e of v) { const y = ${scalarCheck(field.type, 'e')}; ${scalarWrite(field.type, (field.id << 3) | wire, 'y')} }`,
        );
      } else {
        const skip = field.partOf ? 'false' : isDefault(field.type, 'y');
        lines.push(`const y = ${scalarCheck(field.type, 'v')}; if (!(${skip})) ${scalarWrite(field.type, (field.id << 3) | wire, 'y')}`);
      }
    }
    lines.push('}');
  }
  const source = `return function encode${type.name}(o, w) {\n${lines.join('\n')}\n};`;
  real = new Function('h', 'd', source)(helpers, deps) as Encoder;
  cache.set(type, real);
  return real;
}
