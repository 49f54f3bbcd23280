// Server-side apply: merges an applied configuration into the live object with ownership, conflicts, force and removal of dropped fields.
import { ApiError } from '../errors.ts';
import { clone, deepEqual, isPlainObject } from '../json.ts';
import { displayPath, fieldSetOf, getAt, isPrefix, itemKey, removeAt, split } from './fieldset.ts';
import { disown, encode, owners, sameOwner, type ManagedEntry, type Owner } from './managed.ts';
import { applyKeysOf } from './schema.ts';

export interface ApplyOptions {
  manager: string;
  force: boolean;
  apiVersion: string;
  now: string;
  subresource?: string;
  /** Server defaulting, so that an applied value equal to the live one after defaults counts as no change. */
  normalize?: (obj: Record<string, any>) => void;
}

export interface ApplyResult {
  object: Record<string, any>;
  managedFields: ManagedEntry[];
}

function stripNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripNulls);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = stripNulls(x);
  return out;
}

function merge(live: unknown, applied: unknown, schema: string[]): unknown {
  if (isPlainObject(applied)) {
    const out: Record<string, unknown> = isPlainObject(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(applied)) out[k] = merge(out[k], v, [...schema, k]);
    return out;
  }
  const keys = Array.isArray(applied) ? applyKeysOf(schema) : undefined;
  if (Array.isArray(applied) && keys && Array.isArray(live) && applied.every(isPlainObject)) {
    const out = [...live];
    for (const item of applied) {
      const k = itemKey(item, keys);
      const at = out.findIndex((x) => isPlainObject(x) && itemKey(x, keys) === k);
      if (at === -1) out.push(item);
      else out[at] = merge(out[at], item, schema);
    }
    return out;
  }
  return applied;
}

function conflictError(conflicts: { manager: string; apiVersion: string; path: string }[], name: string, what: string): ApiError {
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) {
    const k = `"${c.manager}" using ${c.apiVersion}`;
    byManager.set(k, [...(byManager.get(k) ?? []), displayPath(c.path)]);
  }
  const parts: string[] = [];
  for (const [k, paths] of byManager) {
    parts.push(paths.length === 1 ? `conflict with ${k}: ${paths[0]}` : `conflicts with ${k}:\n${paths.map((p) => `- ${p}`).join('\n')}`);
  }
  const n = conflicts.length;
  const message = `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${parts.join('\n')}`;
  return new ApiError(409, 'Conflict', message, {
    name,
    kind: what,
    causes: conflicts.map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with "${c.manager}" using ${c.apiVersion}`,
      field: displayPath(c.path),
    })),
  });
}

/** Applies `applied` over `live` (undefined when creating). Throws 409 on conflicts unless forced. */
export function serverSideApply(live: Record<string, any> | undefined, applied: Record<string, any>, opts: ApplyOptions, what: string): ApplyResult {
  const config = stripNulls(applied) as Record<string, any>;
  const includeStatus = opts.subresource === 'status';
  const appliedSet = fieldSetOf(config, { includeStatus });
  const list: Owner[] = owners(live?.metadata?.managedFields);
  let mine = list.find((o) => sameOwner(o.entry, opts.manager, 'Apply', opts.subresource));
  const previous = new Set(mine?.set ?? []);
  const others = list.filter((o) => o !== mine);

  const conflicts: { manager: string; apiVersion: string; path: string; owner: Owner }[] = [];
  if (live) {
    for (const p of appliedSet) {
      const before = getAt(live, p);
      if (before === undefined || isPlainObject(before) || deepEqual(before, getAt(config, p))) continue;
      for (const o of others) {
        if (o.set.has(p)) conflicts.push({ manager: o.entry.manager, apiVersion: o.entry.apiVersion, path: p, owner: o });
      }
    }
  }
  if (conflicts.length && !opts.force) throw conflictError(conflicts, live?.metadata?.name ?? '', what);

  const base = clone(live ?? {}) as Record<string, any>;
  const { managedFields: _, ...baseMeta } = base.metadata ?? {};
  base.metadata = baseMeta;
  const object = merge(base, config, []) as Record<string, any>;

  // Fields this manager applied before and dropped now go away unless someone else still owns them (or their children).
  const dropped = [...previous].filter((p) => !appliedSet.has(p)).sort((a, b) => split(b).length - split(a).length);
  for (const p of dropped) {
    if (others.some((o) => [...o.set].some((q) => isPrefix(p, q)))) continue;
    if ([...appliedSet].some((q) => isPrefix(p, q))) continue;
    removeAt(object, p);
  }

  if (opts.force)
    disown(
      list,
      conflicts.map((c) => c.path),
    );
  const entry: ManagedEntry = {
    manager: opts.manager,
    operation: 'Apply',
    apiVersion: opts.apiVersion,
    time: opts.now,
    fieldsType: 'FieldsV1',
    fieldsV1: {},
  };
  if (opts.subresource) entry.subresource = opts.subresource;
  const times = new Map<Owner, string>();
  for (const o of list) times.set(o, o.entry.time);
  if (mine) {
    const normalized = clone(object);
    opts.normalize?.(normalized);
    const unchanged = sameSet(previous, appliedSet) && deepEqual(stripMeta(live), stripMeta(normalized));
    mine.entry = { ...entry, time: unchanged ? mine.entry.time : opts.now };
    mine.set = appliedSet;
  } else {
    mine = { entry, set: appliedSet };
    list.push(mine);
    times.delete(mine);
  }
  times.delete(mine);
  if (mine.entry.time !== opts.now) times.set(mine, mine.entry.time);
  return { object, managedFields: encode(list, times) };
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function stripMeta(o: Record<string, any> | undefined): unknown {
  if (!o) return o;
  const { managedFields: _, resourceVersion: __, ...meta } = o.metadata ?? {};
  return { ...o, metadata: meta };
}
