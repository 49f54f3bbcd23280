// Garbage collector: deletes dependents whose owners are gone, and carries out Foreground and Orphan deletion through their finalizers.
import { RESOURCES, resourceForKind, type ResourceInfo } from '../apiserver/resources.ts';
import type { KObject, OwnerReference } from '../apiserver/store.ts';
import type { Controller, ControllerContext } from './manager.ts';

const STORED = RESOURCES.filter((r) => !r.virtual);

interface Ref {
  info: ResourceInfo;
  obj: KObject;
}

export function garbageCollector(ctx: ControllerContext): Controller {
  const { store, registry } = ctx;

  function dependents(uid: string): Ref[] {
    const out: Ref[] = [];
    for (const info of STORED) {
      for (const obj of store.list(info)) {
        if ((obj.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) out.push({ info, obj });
      }
    }
    return out;
  }

  function ownerAlive(ref: OwnerReference, namespace: string | undefined): boolean {
    const info = resourceForKind(ref.apiVersion, ref.kind);
    if (!info) return false;
    return store.get(info, info.namespaced ? (namespace ?? '') : '', ref.name)?.metadata.uid === ref.uid;
  }

  function dropOwner(d: Ref, uid: string): void {
    registry.mutate(d.info, d.obj.metadata.namespace ?? '', d.obj.metadata.name!, (o) => {
      o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
      if (o.metadata.ownerReferences.length === 0) delete o.metadata.ownerReferences;
    });
  }

  function removeFinalizer(info: ResourceInfo, obj: KObject, finalizer: string): void {
    registry.mutate(info, obj.metadata.namespace ?? '', obj.metadata.name!, (o) => {
      o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== finalizer);
      if (o.metadata.finalizers.length === 0) delete o.metadata.finalizers;
    });
  }

  return {
    name: 'garbage-collector',
    keysFor(ev) {
      const keys: string[] = [];
      const meta = ev.object.metadata;
      const fin = `fin|${ev.res.group}|${ev.res.resource}|${meta.namespace ?? ''}|${meta.name}`;
      if (ev.type === 'DELETED') {
        keys.push(`del|${meta.uid}`);
        // An owner waiting in Foreground deletion looks again when one of its dependents goes.
        for (const ref of meta.ownerReferences ?? []) {
          const info = resourceForKind(ref.apiVersion, ref.kind);
          if (info) keys.push(`fin|${info.group}|${info.resource}|${info.namespaced ? (meta.namespace ?? '') : ''}|${ref.name}`);
        }
      } else if (meta.deletionTimestamp && (meta.finalizers ?? []).some((f) => f === 'foregroundDeletion' || f === 'orphan')) {
        keys.push(fin);
      }
      return keys;
    },
    reconcile(key) {
      const [kind, ...rest] = key.split('|');
      if (kind === 'del') {
        const uid = rest[0]!;
        for (const d of dependents(uid)) {
          const others = (d.obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid && ownerAlive(r, d.obj.metadata.namespace));
          if (others.length) dropOwner(d, uid);
          else if (!d.obj.metadata.deletionTimestamp) {
            try {
              registry.delete(d.info, d.obj.metadata.namespace ?? '', d.obj.metadata.name!, { propagationPolicy: 'Background' });
            } catch {
              // Already gone.
            }
          }
        }
        return;
      }
      const [group, resource, ns, name] = rest as [string, string, string, string];
      const info = STORED.find((r) => r.group === group && r.resource === resource);
      const obj = info && store.get(info, ns, name);
      if (!info || !obj || !obj.metadata.deletionTimestamp) return;
      const finalizers = obj.metadata.finalizers ?? [];
      const deps = dependents(obj.metadata.uid!);
      if (finalizers.includes('orphan')) {
        for (const d of deps) dropOwner(d, obj.metadata.uid!);
        removeFinalizer(info, obj, 'orphan');
        return;
      }
      if (finalizers.includes('foregroundDeletion')) {
        const blocking = deps.filter((d) => d.obj.metadata.ownerReferences?.some((r) => r.uid === obj.metadata.uid && r.blockOwnerDeletion));
        for (const d of deps) {
          if (d.obj.metadata.deletionTimestamp) continue;
          registry.delete(d.info, d.obj.metadata.namespace ?? '', d.obj.metadata.name!, { propagationPolicy: 'Foreground' });
        }
        if (blocking.length === 0) removeFinalizer(info, obj, 'foregroundDeletion');
        else return 500;
      }
    },
  };
}
