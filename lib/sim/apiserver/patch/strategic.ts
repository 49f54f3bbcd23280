// Strategic merge patch: JSON merge patch plus lists merged by key and the $patch directives, as kubectl sends them.
import { badRequest } from '../errors.ts';
import { isPlainObject } from '../json.ts';
import { isMergedScalarList, mergeKeyOf, type FieldPath } from './schema.ts';

const ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) throw badRequest('strategic merge patch must be a JSON object');
  return mergeMap(isPlainObject(target) ? target : {}, patch, []);
}

function mergeMap(target: Record<string, any>, patch: Record<string, any>, path: FieldPath): Record<string, any> | undefined {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    const { $patch: _, ...rest } = patch;
    return stripDirectives(rest) as Record<string, any>;
  }
  const out: Record<string, any> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(ORDER)) continue;
    if (k.startsWith(DELETE_FROM)) {
      const field = k.slice(DELETE_FROM.length);
      if (Array.isArray(out[field]) && Array.isArray(v)) out[field] = out[field].filter((x: unknown) => !v.includes(x));
      continue;
    }
    const childPath = [...path, k];
    if (v === null) {
      delete out[k];
    } else if (isPlainObject(v)) {
      const merged = mergeMap(isPlainObject(out[k]) ? out[k] : {}, v, childPath);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else if (Array.isArray(v)) {
      out[k] = mergeList(Array.isArray(out[k]) ? out[k] : [], v, childPath);
    } else {
      out[k] = v;
    }
  }
  return out;
}

function mergeList(target: any[], patch: any[], path: FieldPath): any[] {
  if (patch.some((item) => isPlainObject(item) && item.$patch === 'replace' && Object.keys(item).length === 1)) {
    return patch.filter((item) => !(isPlainObject(item) && item.$patch === 'replace')).map(stripDirectives);
  }
  if (isMergedScalarList(path)) {
    const out = [...target];
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  const key = mergeKeyOf(path);
  if (!key) return patch.map(stripDirectives);
  const out = [...target];
  for (const item of patch) {
    if (!isPlainObject(item)) continue;
    const at = out.findIndex((x) => isPlainObject(x) && x[key] === item[key]);
    if (item.$patch === 'delete') {
      if (at !== -1) out.splice(at, 1);
      continue;
    }
    if (at === -1) out.push(stripDirectives(item));
    else {
      const merged = mergeMap(out[at], item, path);
      if (merged === undefined) out.splice(at, 1);
      else out[at] = merged;
    }
  }
  return out;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    if (x === null) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}
