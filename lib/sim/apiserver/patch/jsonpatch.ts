// JSON patch (RFC 6902): add, remove, replace, move, copy and test on JSON pointers.
import { ApiError } from '../errors.ts';
import { clone, deepEqual } from '../json.ts';

interface Op {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function fail(message: string): never {
  throw new ApiError(422, 'Invalid', message);
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) fail(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, parts: string[], op: string, pointer: string): { parent: any; last: string } {
  let cur: any = doc;
  for (const part of parts.slice(0, -1)) {
    const next = Array.isArray(cur) ? cur[Number(part)] : cur?.[part];
    if (next === undefined || next === null || typeof next !== 'object') {
      fail(`${op} operation does not apply: doc is missing path: "${pointer}": missing value`);
    }
    cur = next;
  }
  return { parent: cur, last: parts[parts.length - 1]! };
}

function get(doc: unknown, pointer: string, op: string): unknown {
  let cur: any = doc;
  for (const part of parsePointer(pointer)) {
    if (cur === null || typeof cur !== 'object' || !(part in cur)) {
      fail(`${op} operation does not apply: doc is missing path: "${pointer}": missing value`);
    }
    cur = cur[part];
  }
  return cur;
}

function arrayIndex(arr: unknown[], last: string, forInsert: boolean, op: string, pointer: string): number {
  if (forInsert && last === '-') return arr.length;
  const n = Number(last);
  if (!/^\d+$/.test(last) || n > arr.length || (!forInsert && n >= arr.length)) {
    fail(`${op} operation does not apply: doc is missing path: "${pointer}": invalid index`);
  }
  return n;
}

function add(doc: unknown, pointer: string, value: unknown): unknown {
  const parts = parsePointer(pointer);
  if (parts.length === 0) return value;
  const { parent, last } = parentOf(doc, parts, 'add', pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true, 'add', pointer), 0, value);
  else if (parent && typeof parent === 'object') parent[last] = value;
  else fail(`add operation does not apply: doc is missing path: "${pointer}"`);
  return doc;
}

function remove(doc: unknown, pointer: string, op = 'remove'): unknown {
  const parts = parsePointer(pointer);
  const { parent, last } = parentOf(doc, parts, op, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false, op, pointer), 1);
  else if (parent && typeof parent === 'object' && last in parent) delete parent[last];
  else fail(`${op} operation does not apply: doc is missing key: ${pointer}`);
  return doc;
}

export function jsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw new ApiError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = clone(target);
  for (const raw of patch as Op[]) {
    switch (raw?.op) {
      case 'add':
        doc = add(doc, raw.path, clone(raw.value));
        break;
      case 'remove':
        doc = remove(doc, raw.path);
        break;
      case 'replace':
        get(doc, raw.path, 'replace');
        doc = parsePointer(raw.path).length === 0 ? clone(raw.value) : add(remove(doc, raw.path, 'replace'), raw.path, clone(raw.value));
        break;
      case 'move': {
        const v = get(doc, raw.from ?? '', 'move');
        doc = add(remove(doc, raw.from ?? '', 'move'), raw.path, v);
        break;
      }
      case 'copy':
        doc = add(doc, raw.path, clone(get(doc, raw.from ?? '', 'copy')));
        break;
      case 'test':
        if (!deepEqual(get(doc, raw.path, 'test'), raw.value)) fail(`testing value ${raw.path} failed: test failed`);
        break;
      default:
        fail(`Unexpected kind: ${String(raw?.op)}`);
    }
  }
  return doc;
}
