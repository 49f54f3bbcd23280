// protojson reads a field by its JSON name (lowerCamelCase: nodeName, isReply) as well as by its proto name; exports
// written with protojson's defaults (grpcurl, other tools) use the JSON names. This maps them back to proto names.
import protobuf from 'protobufjs';
import { hubbleRoot } from '../grpc/protos.ts';

/** protoc's JSON name: underscores dropped, the letter after each one upper-cased. */
function jsonName(protoName: string): string {
  return protoName.replace(/_+([a-z0-9])?/g, (_m, c: string | undefined) => (c === undefined ? '' : c.toUpperCase()));
}

interface Renames {
  /** JSON name → proto name, for the fields whose two names differ. */
  names: Map<string, string>;
  /** Proto name → the message type of a field whose values are messages (to recurse into). */
  nested: Map<string, Renames>;
}

const tables = new Map<protobuf.Type, Renames>();

function renamesFor(type: protobuf.Type): Renames {
  let r = tables.get(type);
  if (r) return r;
  r = { names: new Map(), nested: new Map() };
  tables.set(type, r);
  for (const field of type.fieldsArray) {
    const json = jsonName(field.name);
    if (json !== field.name) r.names.set(json, field.name);
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type && !rt.fullName.startsWith('.google.protobuf.')) r.nested.set(field.name, renamesFor(rt));
  }
  return r;
}

// A key that starts lower-case and has an upper-case letter further on, written as a key ("…":). The one proto
// name of that shape (IP.ipVersion) is left out, or every IP flow would take the slow path.
const MAYBE_JSON_NAME = /"(?!ipVersion")[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*":/;

/**
 * True when a line may hold JSON names. A writer uses one naming throughout, so a line with a key in proto
 * form (snake_case, like node_name) is taken to have no JSON names; that test is cheap and settles almost every
 * line of a jsonpb export, before the costlier look for a lowerCamelCase key.
 */
export function mayHaveJsonNames(line: string): boolean {
  return !hasSnakeCaseKey(line) && MAYBE_JSON_NAME.test(line);
}

function hasSnakeCaseKey(line: string): boolean {
  for (let i = line.indexOf('_'); i !== -1; i = line.indexOf('_', i + 1)) {
    let j = i + 1;
    let c = line.charCodeAt(j);
    if (!(c >= 0x61 && c <= 0x7a)) continue;
    // Up to the end of a [a-z0-9_] run; a key when a quote and a colon follow.
    while ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f) c = line.charCodeAt(++j);
    if (c === 0x22 && line.charCodeAt(j + 1) === 0x3a) return true;
    i = j - 1;
  }
  return false;
}

/**
 * Renames JSON-named keys of `obj` (a `typeName` in JSON form) to proto names, at every depth, in place; true
 * when it renamed any. A key whose field is also given under its proto name is left as it is (an unknown key).
 */
export function toProtoNames(obj: Record<string, unknown>, typeName: string): boolean {
  return rename(obj, renamesFor(hubbleRoot.lookupType(typeName))) > 0;
}

/** The number of keys renamed. */
function rename(obj: Record<string, unknown>, r: Renames): number {
  let count = 0;
  for (const key of Object.keys(obj)) {
    const proto = r.names.get(key);
    if (proto !== undefined && !Object.hasOwn(obj, proto)) count++;
  }
  if (count > 0) {
    // Rebuilt rather than patched, so that the keys keep their order.
    const entries = Object.entries(obj);
    for (const key of Object.keys(obj)) delete obj[key];
    for (const [key, value] of entries) {
      const proto = r.names.get(key);
      obj[proto !== undefined && !entries.some(([k]) => k === proto) ? proto : key] = value;
    }
  }
  for (const [key, inner] of r.nested) {
    const v = obj[key];
    const items = Array.isArray(v) ? v : [v];
    for (const item of items) if (isObject(item)) count += rename(item, inner);
  }
  return count;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
