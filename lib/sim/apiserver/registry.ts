// The API's write semantics over the store: create, update, apply, delete with defaults, validation, generation and finalizers.
import { alreadyExists, badRequest, conflict, fieldInvalid, forbidden, invalid, notFound, type GroupResource } from './errors.ts';
import { applyDefaults } from './defaults.ts';
import { clone, deepEqual } from './json.ts';
import { newUid, randomSuffix, timestamp } from './names.ts';
import { recordUpdate, type ManagedEntry } from './patch/managed.ts';
import { serverSideApply } from './patch/apply.ts';
import { R, apiVersionOf, type ResourceInfo } from './resources.ts';
import type { KObject, Store } from './store.ts';
import { validate } from './validate.ts';
import { allocateClusterIP, allocateNodePort } from './allocate.ts';

export interface WriteOptions {
  /** The field manager of an API request; controllers' own writes have none and leave managedFields alone. */
  manager?: string;
  subresource?: 'status';
  dryRun?: boolean;
  /** Ownership computed by server-side apply. */
  managedFields?: ManagedEntry[];
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface DeleteResult {
  object: KObject;
  /** false while finalizers or a graceful period hold the object. */
  deleted: boolean;
}

function gr(info: ResourceInfo): GroupResource {
  return { group: info.group, resource: info.resource };
}

/** Everything that is not metadata or status: what metadata.generation counts. */
function specOf(obj: KObject): unknown {
  const { metadata: _m, status: _s, ...rest } = obj;
  return rest;
}

/** Empty metadata maps and lists are not stored, as the API server's serialization omits them. */
function dropEmptyMeta(meta: KObject['metadata']): void {
  for (const k of ['labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields'] as const) {
    const v = meta[k];
    if (v !== undefined && (v === null || (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0))) delete meta[k];
  }
}

function withoutVersion(obj: KObject): unknown {
  const { resourceVersion: _, ...meta } = obj.metadata;
  return { ...obj, metadata: meta };
}

export class Registry {
  constructor(readonly store: Store) {}

  get(info: ResourceInfo, namespace: string, name: string): KObject {
    const obj = this.store.get(info, namespace, name);
    if (!obj) throw notFound(gr(info), name);
    return obj;
  }

  private checkNamespace(info: ResourceInfo, namespace: string, name: string): void {
    if (!info.namespaced) return;
    const ns = this.store.get(R.namespaces, '', namespace);
    if (!ns) throw notFound(gr(R.namespaces), namespace);
    if (ns.metadata.deletionTimestamp) {
      throw forbidden(gr(info), name, `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  create(info: ResourceInfo, namespace: string, body: KObject, opts: WriteOptions = {}): KObject {
    const obj = clone(body);
    obj.metadata ??= {};
    const meta = obj.metadata;
    if (info.namespaced) {
      if (meta.namespace && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    } else delete meta.namespace;
    if (!meta.name && meta.generateName) {
      do meta.name = meta.generateName + randomSuffix();
      while (this.store.get(info, namespace, meta.name));
    }
    const name = meta.name ?? '';
    if (name) this.checkNamespace(info, namespace, name);
    if (name && this.store.get(info, namespace, name)) throw alreadyExists(gr(info), name);
    obj.apiVersion = apiVersionOf(info);
    obj.kind = info.kind;
    meta.uid = newUid();
    meta.creationTimestamp = timestamp();
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.managedFields;
    if (info.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    if (info.subresources.includes('status') && info.resource !== 'nodes') delete obj.status;
    this.createHooks(info, obj);
    applyDefaults(info, obj);
    dropEmptyMeta(meta);
    validate(info, obj);
    if (opts.managedFields) meta.managedFields = opts.managedFields;
    else if (opts.manager) meta.managedFields = recordUpdate(undefined, obj, opts.manager, obj.apiVersion, meta.creationTimestamp);
    dropEmptyMeta(meta);
    if (opts.dryRun) return obj;
    return this.store.insert(info, obj);
  }

  /** Fields the server fills on create: Service IPs and ports, Job selectors. */
  private createHooks(info: ResourceInfo, obj: KObject): void {
    if (info === R.services && obj.spec?.type !== 'ExternalName') {
      const spec = (obj.spec ??= {});
      const used = new Set(this.store.list(R.services).map((s) => s.spec?.clusterIP as string));
      if (!spec.clusterIP) spec.clusterIP = allocateClusterIP(used);
      else if (spec.clusterIP !== 'None' && used.has(spec.clusterIP)) {
        throw invalid(info.kind, '', obj.metadata.name ?? '', [
          fieldInvalid('spec.clusterIPs', [spec.clusterIP], `failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`),
        ]);
      }
      spec.clusterIPs = [spec.clusterIP];
      if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
        const usedPorts = new Set(this.store.list(R.services).flatMap((s) => (s.spec?.ports ?? []).map((p: any) => p.nodePort)));
        for (const p of spec.ports ?? []) if (!p.nodePort) usedPorts.add((p.nodePort = allocateNodePort(usedPorts)));
      }
    }
    if (info === R.jobs && obj.spec && !obj.spec.manualSelector) {
      const uid = obj.metadata.uid!;
      const name = obj.metadata.name ?? '';
      if (obj.spec.selector) {
        throw invalid(info.kind, info.group, name, [fieldInvalid('spec.selector', obj.spec.selector, '`selector` not auto-generated')]);
      }
      obj.spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
      const t = (obj.spec.template ??= {});
      t.metadata ??= {};
      t.metadata.labels = {
        'batch.kubernetes.io/controller-uid': uid,
        'batch.kubernetes.io/job-name': name,
        'controller-uid': uid,
        'job-name': name,
        ...t.metadata.labels,
      };
    }
  }

  /**
   * Stores `next` as the new version of `old`. Returns the stored object, or `old` itself when nothing changed
   * (no resourceVersion bump). `expectedVersion` is the client's resourceVersion precondition.
   */
  commit(info: ResourceInfo, old: KObject, nextIn: KObject, opts: WriteOptions & { expectedVersion?: string } = {}): KObject {
    const name = old.metadata.name!;
    if (nextIn.metadata?.name && nextIn.metadata.name !== name) {
      throw badRequest(`the name of the object (${nextIn.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (opts.expectedVersion && opts.expectedVersion !== old.metadata.resourceVersion) throw conflict(gr(info), name);
    let next: KObject = clone(nextIn);
    if (opts.subresource === 'status') {
      next = { ...clone(old), status: next.status };
    } else {
      if (info.subresources.includes('status') && info.resource !== 'namespaces') next.status = clone(old.status);
    }
    next.apiVersion = apiVersionOf(info);
    next.kind = info.kind;
    const meta = (next.metadata = { ...next.metadata });
    for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'namespace', 'name', 'generation'] as const) {
      if (old.metadata[k] === undefined) delete meta[k];
      else (meta as Record<string, unknown>)[k] = old.metadata[k];
    }
    meta.resourceVersion = old.metadata.resourceVersion;
    if (old.metadata.deletionTimestamp) {
      // Finalizers may only be removed once deletion started; nothing may be added back.
      if ((meta.finalizers ?? []).some((f) => !(old.metadata.finalizers ?? []).includes(f))) {
        throw forbidden(gr(info), name, 'no new finalizers can be added if the object is being deleted');
      }
    }
    applyDefaults(info, next);
    dropEmptyMeta(meta);
    if (opts.subresource !== 'status') validate(info, next, old);
    if (info.tracksGeneration && !deepEqual(specOf(old), specOf(next))) meta.generation = (old.metadata.generation ?? 0) + 1;
    if (opts.managedFields) meta.managedFields = opts.managedFields;
    else if (opts.manager) {
      meta.managedFields = recordUpdate(old, next, opts.manager, next.apiVersion!, timestamp(), opts.subresource);
    } else if (old.metadata.managedFields) meta.managedFields = old.metadata.managedFields;
    else delete meta.managedFields;
    dropEmptyMeta(meta);
    if (deepEqual(withoutVersion(old), withoutVersion(next))) return old;
    if (opts.dryRun) return next;
    if (meta.deletionTimestamp && (meta.finalizers ?? []).length === 0 && info !== R.namespaces && info !== R.pods) {
      return this.store.remove(info, next) ?? next;
    }
    return this.store.replace(info, old, next);
  }

  /** Read, change a copy, write back; `change` may return a new object or edit the copy. No-op writes keep the resourceVersion. */
  mutate(info: ResourceInfo, namespace: string, name: string, change: (copy: KObject) => KObject | void, opts: WriteOptions = {}): KObject {
    const old = this.get(info, namespace, name);
    const copy = clone(old);
    const next = change(copy) ?? copy;
    return this.commit(info, old, next, opts);
  }

  /** Server-side apply: creates the object when missing. */
  apply(
    info: ResourceInfo,
    namespace: string,
    name: string,
    body: KObject,
    opts: { manager: string; force: boolean; dryRun?: boolean; subresource?: 'status' },
  ): { object: KObject; created: boolean } {
    const live = this.store.get(info, namespace, name);
    const now = timestamp();
    const apiVersion = apiVersionOf(info);
    if (body.apiVersion !== apiVersion || body.kind !== info.kind) {
      throw badRequest(
        `the API version in the data (${body.apiVersion ?? ''}) does not match the expected API version (${apiVersion})` +
          (body.kind !== info.kind ? ` or kind ${body.kind ?? ''} is not ${info.kind}` : ''),
      );
    }
    if (body.metadata?.name !== undefined && body.metadata.name !== name) {
      throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    const applyOpts = {
      manager: opts.manager,
      force: opts.force,
      apiVersion,
      now,
      normalize: (o: Record<string, any>) => applyDefaults(info, o as KObject),
      ...(opts.subresource ? { subresource: opts.subresource } : {}),
    };
    if (!live) {
      if (opts.subresource) throw notFound(gr(info), name);
      const result = serverSideApply(undefined, body, applyOpts, info.resource);
      const obj = { ...result.object, metadata: { ...result.object.metadata, name } } as KObject;
      const created = this.create(info, namespace, obj, { managedFields: result.managedFields, ...(opts.dryRun ? { dryRun: true } : {}) });
      return { object: created, created: true };
    }
    const expectedVersion = body.metadata?.resourceVersion;
    const result = serverSideApply(live, body, applyOpts, info.resource);
    const object = this.commit(info, live, result.object as KObject, {
      managedFields: result.managedFields,
      ...(expectedVersion ? { expectedVersion } : {}),
      ...(opts.subresource ? { subresource: opts.subresource } : {}),
      ...(opts.dryRun ? { dryRun: true } : {}),
    });
    return { object, created: false };
  }

  delete(info: ResourceInfo, namespace: string, name: string, opts: DeleteOptions = {}): DeleteResult {
    const obj = this.get(info, namespace, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== obj.metadata.uid) {
      throw conflict(gr(info), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
      throw conflict(
        gr(info),
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
      );
    }
    if (opts.dryRun) return { object: obj, deleted: false };
    if (info === R.namespaces) {
      if (obj.metadata.deletionTimestamp) return { object: obj, deleted: false };
      const next = clone(obj);
      next.metadata.deletionTimestamp = timestamp();
      next.status = { ...next.status, phase: 'Terminating' };
      return { object: this.store.replace(info, obj, next), deleted: false };
    }
    const finalizers = [...(obj.metadata.finalizers ?? [])];
    if (opts.propagationPolicy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
    if (opts.propagationPolicy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    let grace: number | undefined;
    if (info === R.pods) {
      const terminal = obj.status?.phase === 'Succeeded' || obj.status?.phase === 'Failed';
      const g = opts.gracePeriodSeconds ?? obj.spec?.terminationGracePeriodSeconds ?? 30;
      if (obj.spec?.nodeName && !terminal && g > 0) grace = g;
    }
    if (finalizers.length === 0 && grace === undefined) {
      const gone = this.store.remove(info, obj);
      return { object: gone ?? obj, deleted: true };
    }
    if (obj.metadata.deletionTimestamp && deepEqual(finalizers, obj.metadata.finalizers ?? [])) return { object: obj, deleted: false };
    const next = clone(obj);
    next.metadata.finalizers = finalizers.length ? finalizers : undefined;
    if (!next.metadata.finalizers) delete next.metadata.finalizers;
    if (!next.metadata.deletionTimestamp) {
      next.metadata.deletionTimestamp = timestamp(new Date(Date.now() + (grace ?? 0) * 1000));
      next.metadata.deletionGracePeriodSeconds = grace ?? 0;
      if (info.tracksGeneration) next.metadata.generation = (obj.metadata.generation ?? 0) + 1;
    }
    return { object: this.store.replace(info, obj, next), deleted: false };
  }

  /** Removes an object whose deletion is complete (grace period over, finalizers gone). */
  purge(info: ResourceInfo, obj: KObject): void {
    this.store.remove(info, obj);
  }
}
