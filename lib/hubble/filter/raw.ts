// FlowFilters written as JSON (`hubble observe --allowlist/--denylist`): protojson, strict about field names.
import type protobuf from 'protobufjs';
import type { FlowFilter } from '../../flows/types.ts';
import { fromJsonpbConverter, JsonpbError } from '../grpc/convert.ts';
import { hubbleRoot } from '../grpc/protos.ts';

export class RawFilterError extends Error {
  override name = 'RawFilterError';
}

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Renames JSON (lowerCamel) keys to proto names and refuses unknown ones, as protojson does, down every message. */
function protoNames(value: unknown, type: protobuf.Type, path: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key] ?? Object.values(type.fields).find((f) => camel(f.name) === key);
    if (!field) throw new RawFilterError(`unknown field "${path}${key}"`);
    const sub = field.resolvedType;
    if (sub && 'fields' in sub) {
      const child = sub as protobuf.Type;
      out[field.name] = Array.isArray(v) ? v.map((x, i) => protoNames(x, child, `${path}${field.name}[${i}].`)) : protoNames(v, child, `${path}${field.name}.`);
    } else if (sub && 'values' in sub) {
      // Enums may be given by number; the rest of hubble-lab holds them by name.
      const names = (sub as protobuf.Enum).valuesById;
      const name = (x: unknown) => (typeof x === 'number' && names[x] !== undefined ? names[x] : x);
      out[field.name] = Array.isArray(v) ? v.map(name) : name(v);
    } else {
      out[field.name] = v;
    }
  }
  return out;
}

/** Splits a stream of JSON values (`{...} {...}`), as Go's json.Decoder reads one flag value. */
function jsonValues(text: string): string[] {
  const values: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth++ === 0) start = i;
    } else if (c === '}' || c === ']') {
      if (--depth === 0) values.push(text.slice(start, i + 1));
    } else if (depth === 0 && !/\s/.test(c)) {
      // A bare value at the top level: let JSON.parse say what is wrong with it.
      values.push(text.slice(i));
      break;
    }
  }
  if (depth > 0) values.push(text.slice(start));
  return values;
}

/** The FlowFilters in one `--allowlist`/`--denylist` value. Throws RawFilterError with the reason. */
export function parseRawFilters(text: string): FlowFilter[] {
  const type = hubbleRoot.lookupType('flow.FlowFilter');
  const check = fromJsonpbConverter(type);
  return jsonValues(text).map((json) => {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (err) {
      throw new RawFilterError((err as Error).message);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RawFilterError('expected a JSON object (one FlowFilter)');
    const filter = protoNames(value, type, '') as FlowFilter;
    try {
      check(filter);
    } catch (err) {
      if (err instanceof JsonpbError) throw new RawFilterError(err.message);
      throw err;
    }
    return filter;
  });
}
