// jsonpb (the shape of lib/flows/types.ts: Go protojson with proto field names) → objects protobufjs encodes:
// enum names to numbers, RFC 3339 to Timestamps, bare values to wrappers. The way back is decode.ts.
import protobuf from 'protobufjs';
import { parseTimestamp } from './timestamp.ts';

type Plain = Record<string, unknown>;
type FromJsonpb = (value: unknown) => Plain;

/** A jsonpb value that cannot be put on the wire; the path names the field (e.g. `flow.verdict`). */
export class JsonpbError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'JsonpbError';
    this.path = path;
  }
}

export const wrapperTypes = new Set([
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
export const longScalars = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const numberScalars = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'double', 'float']);

function snakeCase(path: string): string {
  return path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

const fromCache = new Map<protobuf.Type, FromJsonpb>();

// Paths are only built when something is wrong: each level that catches a JsonpbError puts its key in front.
function fail(message: string): never {
  throw new JsonpbError('', message);
}

function within(key: string, err: unknown): never {
  if (err instanceof JsonpbError) {
    const path = err.path === '' ? key : err.path.startsWith('[') ? `${key}${err.path}` : `${key}.${err.path}`;
    throw new JsonpbError(path, err.message.slice(err.path.length + 2));
  }
  throw err;
}

const show = (v: unknown) => JSON.stringify(v) ?? String(v);

function scalarFromJsonpb(field: protobuf.Field, value: unknown): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Enum) {
    if (typeof value === 'string') {
      const id = rt.values[value];
      if (id !== undefined) return id;
      fail(`unknown ${rt.name} value "${value}"`);
    }
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    fail(`expected a ${rt.name} name, got ${show(value)}`);
  }
  if (rt instanceof protobuf.Type) return messageFromJsonpb(rt, value);
  switch (field.type) {
    case 'string':
      if (typeof value === 'string') return value;
      fail(`expected a string, got ${show(value)}`);
    case 'bool':
      if (typeof value === 'boolean') return value;
      fail(`expected true or false, got ${show(value)}`);
    case 'bytes':
      if (typeof value === 'string') return Buffer.from(value, 'base64');
      fail(`expected base64 text, got ${show(value)}`);
  }
  if (longScalars.has(field.type)) {
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    fail(`expected a 64-bit integer (string), got ${show(value)}`);
  }
  if (numberScalars.has(field.type)) {
    if (typeof value === 'number') return value;
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
    fail(`expected a number, got ${show(value)}`);
  }
  fail(`unsupported field type ${field.type}`);
}

function messageFromJsonpb(type: protobuf.Type, value: unknown): unknown {
  const full = type.fullName;
  if (full === '.google.protobuf.Timestamp') {
    const t = typeof value === 'string' ? parseTimestamp(value) : undefined;
    if (!t) fail(`expected an RFC 3339 timestamp, got ${show(value)}`);
    return t;
  }
  if (wrapperTypes.has(full)) return { value: scalarFromJsonpb(type.fields.value!, value) };
  if (full === '.google.protobuf.FieldMask') {
    if (typeof value !== 'string') fail(`expected comma-separated paths, got ${show(value)}`);
    return { paths: value === '' ? [] : value.split(',').map(snakeCase) };
  }
  if (full === '.google.protobuf.Any') {
    const any = value as { '@type'?: unknown; value?: unknown } | null;
    if (typeof any !== 'object' || any === null || typeof any['@type'] !== 'string') fail('expected an object with "@type"');
    return { type_url: any['@type'], value: typeof any.value === 'string' ? Buffer.from(any.value, 'base64') : Buffer.alloc(0) };
  }
  return fromJsonpbConverter(type)(value);
}

/**
 * jsonpb object → plain object protobufjs can encode. Unknown keys are ignored (real exports carry fields newer
 * than our protos); a value of the wrong kind throws JsonpbError naming the field, e.g. `flow.verdict`.
 */
export function fromJsonpbConverter(type: protobuf.Type): FromJsonpb {
  const cached = fromCache.get(type);
  if (cached) return cached;
  const fields = type.fields;
  const convert: FromJsonpb = (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`expected an object, got ${show(value)}`);
    const out: Plain = {};
    for (const key in value) {
      const field = fields[key];
      const v = (value as Plain)[key];
      if (field === undefined || v === null || v === undefined) continue;
      try {
        if (!field.repeated) {
          out[key] = scalarFromJsonpb(field, v);
        } else if (Array.isArray(v)) {
          const list = new Array<unknown>(v.length);
          for (let i = 0; i < v.length; i++) {
            try {
              list[i] = scalarFromJsonpb(field, v[i]);
            } catch (err) {
              within(`[${i}]`, err);
            }
          }
          out[key] = list;
        } else {
          fail(`expected a list, got ${show(v)}`);
        }
      } catch (err) {
        within(key, err);
      }
    }
    return out;
  };
  fromCache.set(type, convert);
  return convert;
}
