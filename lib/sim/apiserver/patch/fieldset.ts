// Field sets as server-side apply tracks them: paths of `f:field` and `k:{…}` elements, with the fieldsV1 encoding of managedFields.
import { isPlainObject } from '../json.ts';
import { applyKeysOf, keyDefault } from './schema.ts';

/** A path joined with SEP; each element is `f:<field>` or `k:<json of the item's keys>`. */
export type FieldSet = Set<string>;

const SEP = '\u0000';

/** Top-level and metadata fields the server owns: they never appear in managedFields. */
const SERVER_FIELDS = new Set(['apiVersion', 'kind', 'status']);
const SERVER_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'generateName',
]);

export function itemKey(item: Record<string, any>, keys: string[]): string {
  const k: Record<string, unknown> = {};
  for (const name of [...keys].sort()) k[name] = item[name] ?? keyDefault(name);
  return `k:${JSON.stringify(k)}`;
}

/** Every owned path of `obj`: leaves (scalars, atomic lists, empty maps) and keyed list items. */
export function fieldSetOf(obj: Record<string, any>, opts: { includeStatus?: boolean } = {}): FieldSet {
  const set: FieldSet = new Set();
  const walk = (v: unknown, schema: string[], elems: string[]): void => {
    if (isPlainObject(v)) {
      const keys = Object.keys(v).filter((k) => v[k] !== undefined);
      if (keys.length === 0 && elems.length) set.add(elems.join(SEP));
      for (const k of keys) {
        if (elems.length === 0 && SERVER_FIELDS.has(k) && !(k === 'status' && opts.includeStatus)) continue;
        if (elems.length === 1 && elems[0] === 'f:metadata' && SERVER_META.has(k)) continue;
        walk(v[k], [...schema, k], [...elems, `f:${k}`]);
      }
      return;
    }
    const keys = Array.isArray(v) ? applyKeysOf(schema) : undefined;
    if (Array.isArray(v) && keys && v.every(isPlainObject)) {
      for (const item of v) {
        const el = [...elems, itemKey(item, keys)];
        set.add(el.join(SEP));
        walk(item, schema, el);
      }
      return;
    }
    set.add(elems.join(SEP));
  };
  walk(obj, [], []);
  return set;
}

export function split(path: string): string[] {
  return path === '' ? [] : path.split(SEP);
}

function findItem(list: unknown, el: string): number {
  if (!Array.isArray(list)) return -1;
  const want = JSON.parse(el.slice(2)) as Record<string, unknown>;
  const keys = Object.keys(want);
  return list.findIndex((item) => isPlainObject(item) && keys.every((k) => (item[k] ?? keyDefault(k)) === want[k]));
}

export function getAt(obj: unknown, path: string): unknown {
  let cur: any = obj;
  for (const el of split(path)) {
    if (el.startsWith('f:')) cur = isPlainObject(cur) ? cur[el.slice(2)] : undefined;
    else {
      const i = findItem(cur, el);
      cur = i === -1 ? undefined : cur[i];
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Removes the value at `path` from `obj` in place (the caller owns `obj`). */
export function removeAt(obj: unknown, path: string): void {
  const els = split(path);
  const last = els.pop();
  if (last === undefined) return;
  const parent: any = getAt(obj, els.join(SEP));
  if (last.startsWith('f:')) {
    if (isPlainObject(parent)) delete parent[last.slice(2)];
  } else {
    const i = findItem(parent, last);
    if (i !== -1) parent.splice(i, 1);
  }
}

export function isPrefix(prefix: string, path: string): boolean {
  return path === prefix || path.startsWith(prefix + SEP);
}

export function toFieldsV1(set: FieldSet): Record<string, any> {
  const root: Record<string, any> = {};
  for (const path of [...set].sort()) {
    let cur = root;
    for (const el of split(path)) cur = cur[el] ??= {};
  }
  // A path that is both owned and a parent of owned paths is marked with ".", as the API server does.
  for (const path of set) {
    let cur = root;
    for (const el of split(path)) cur = cur[el];
    if (Object.keys(cur).some((k) => k !== '.')) cur['.'] = {};
  }
  return sortKeys(root);
}

function sortKeys(o: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const k of Object.keys(o).sort()) out[k] = sortKeys(o[k]);
  return out;
}

export function fromFieldsV1(tree: Record<string, any> | undefined): FieldSet {
  const set: FieldSet = new Set();
  const walk = (node: Record<string, any>, elems: string[]): void => {
    for (const [k, child] of Object.entries(node)) {
      if (k === '.') {
        set.add(elems.join(SEP));
        continue;
      }
      const el = [...elems, k];
      if (!isPlainObject(child) || Object.keys(child).length === 0) set.add(el.join(SEP));
      else walk(child, el);
    }
  };
  if (tree) walk(tree, []);
  return set;
}

/** `.spec.template.spec.containers[name="web"].image`, as conflict messages show a path. */
export function displayPath(path: string): string {
  let out = '';
  for (const el of split(path)) {
    if (el.startsWith('f:')) out += `.${el.slice(2)}`;
    else {
      const keys = JSON.parse(el.slice(2)) as Record<string, unknown>;
      out += `[${Object.entries(keys)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    }
  }
  return out;
}

/** Leaf paths whose values differ between two objects (added, changed or removed). */
export function changedPaths(
  before: Record<string, any>,
  after: Record<string, any>,
  opts: { includeStatus?: boolean } = {},
): { set: FieldSet; removed: FieldSet } {
  const a = fieldSetOf(before, opts);
  const b = fieldSetOf(after, opts);
  const set: FieldSet = new Set();
  const removed: FieldSet = new Set();
  for (const p of b) {
    if (!a.has(p) || !sameLeaf(getAt(before, p), getAt(after, p))) set.add(p);
  }
  for (const p of a) if (!b.has(p)) removed.add(p);
  return { set, removed };
}

function sameLeaf(x: unknown, y: unknown): boolean {
  // Keyed items and maps compare by presence; their children carry the values.
  if (isPlainObject(x) && isPlainObject(y)) return true;
  return JSON.stringify(x) === JSON.stringify(y);
}
