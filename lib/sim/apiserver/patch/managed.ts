// managedFields bookkeeping: who owns which fields, updated on every write that comes through the API.
import { changedPaths, fromFieldsV1, isPrefix, toFieldsV1, type FieldSet } from './fieldset.ts';

export interface ManagedEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, any>;
  subresource?: string;
}

export interface Owner {
  entry: ManagedEntry;
  set: FieldSet;
}

export function owners(managedFields: unknown): Owner[] {
  if (!Array.isArray(managedFields)) return [];
  return managedFields.map((entry: ManagedEntry) => ({ entry, set: fromFieldsV1(entry.fieldsV1) }));
}

export function sameOwner(e: ManagedEntry, manager: string, operation: string, subresource?: string): boolean {
  return e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '');
}

/** Drops `paths` (and everything under them) from every owner but `keep`. */
export function disown(list: Owner[], paths: Iterable<string>, keep?: Owner): void {
  const ps = [...paths];
  for (const o of list) {
    if (o === keep) continue;
    for (const p of [...o.set]) if (ps.some((q) => isPrefix(q, p))) o.set.delete(p);
  }
}

/** Back to the stored form: entries that own nothing disappear, as in Kubernetes. */
export function encode(list: Owner[], unchangedTimes: Map<Owner, string>): ManagedEntry[] {
  const out: ManagedEntry[] = [];
  for (const o of list) {
    if (o.set.size === 0) continue;
    const e: ManagedEntry = { ...o.entry, fieldsV1: toFieldsV1(o.set) };
    const t = unchangedTimes.get(o);
    if (t) e.time = t;
    out.push(e);
  }
  return out;
}

/**
 * managedFields after a create, update or patch by `manager`: it owns every field it set or changed,
 * and other managers lose those fields.
 */
export function recordUpdate(
  before: Record<string, any> | undefined,
  after: Record<string, any>,
  manager: string,
  apiVersion: string,
  now: string,
  subresource?: string,
): ManagedEntry[] {
  const list = owners(before?.metadata?.managedFields);
  const includeStatus = subresource === 'status';
  const { set: changed, removed } = changedPaths(before ?? {}, after, { includeStatus });
  if (changed.size === 0 && removed.size === 0) return (before?.metadata?.managedFields as ManagedEntry[]) ?? [];
  let mine = list.find((o) => sameOwner(o.entry, manager, 'Update', subresource));
  if (!mine) {
    const entry: ManagedEntry = { manager, operation: 'Update', apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: {} };
    if (subresource) entry.subresource = subresource;
    mine = { entry, set: new Set() };
    list.push(mine);
  }
  mine.entry = { ...mine.entry, apiVersion, time: now };
  disown(list, removed);
  mine.set.forEach((p) => removed.has(p) && mine!.set.delete(p));
  disown(list, changed, mine);
  for (const p of changed) mine.set.add(p);
  const times = new Map<Owner, string>();
  for (const o of list) if (o !== mine) times.set(o, o.entry.time);
  return encode(list, times);
}
