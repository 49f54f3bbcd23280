// The in-memory object store: objects by resource/namespace/name, one global resourceVersion, and the change log watches read.
import type { ResourceInfo } from './resources.ts';

/** A stored Kubernetes object. Stored objects are never mutated in place: writers store a new object. */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    finalizers?: string[];
    managedFields?: any[];
    [k: string]: unknown;
  };
  [k: string]: any;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  res: ResourceInfo;
  object: KObject;
  /** The object before the change (MODIFIED, DELETED). */
  old?: KObject;
  rv: number;
}

export type StoreListener = (ev: StoreEvent) => void;

/** How many changes watches can resume from; older resourceVersions get 410 Gone. */
const DEFAULT_LOG_SIZE = 20_000;

function key(res: ResourceInfo, namespace: string, name: string): string {
  return `${res.group}/${res.resource}/${namespace}/${name}`;
}

export class Store {
  private rv = 1;
  private readonly objects = new Map<string, Map<string, KObject>>();
  private readonly log: StoreEvent[] = [];
  private logStart = 0;
  /** resourceVersion of the newest event dropped from the log: watches from before it cannot resume. */
  private compactedThrough = 0;
  private readonly listeners = new Set<StoreListener>();

  constructor(private readonly logSize = DEFAULT_LOG_SIZE) {}

  get resourceVersion(): number {
    return this.rv;
  }

  /** Oldest resourceVersion a watch may resume from. */
  get oldestResumable(): number {
    return this.compactedThrough;
  }

  private table(res: ResourceInfo): Map<string, KObject> {
    const id = `${res.group}/${res.resource}`;
    let t = this.objects.get(id);
    if (!t) this.objects.set(id, (t = new Map()));
    return t;
  }

  get(res: ResourceInfo, namespace: string, name: string): KObject | undefined {
    return this.table(res).get(key(res, res.namespaced ? namespace : '', name));
  }

  /** Objects of a resource, in one namespace or all, sorted by namespace then name as the API server lists them. */
  list(res: ResourceInfo, namespace?: string): KObject[] {
    const out: KObject[] = [];
    for (const obj of this.table(res).values()) {
      if (namespace && res.namespaced && obj.metadata.namespace !== namespace) continue;
      out.push(obj);
    }
    out.sort((a, b) => cmp(a.metadata.namespace ?? '', b.metadata.namespace ?? '') || cmp(a.metadata.name!, b.metadata.name!));
    return out;
  }

  /** Objects of a resource in no particular order, without copying or sorting: for controllers that scan often. */
  values(res: ResourceInfo): IterableIterator<KObject> {
    return this.table(res).values();
  }

  /** Stores a new object; the caller has checked it does not exist. Returns the object with its resourceVersion. */
  insert(res: ResourceInfo, obj: KObject): KObject {
    const stored = this.stamp(obj);
    this.table(res).set(key(res, res.namespaced ? (stored.metadata.namespace ?? '') : '', stored.metadata.name!), stored);
    this.emit({ type: 'ADDED', res, object: stored, rv: this.rv });
    return stored;
  }

  /** Replaces an object; the caller has decided it really changed. */
  replace(res: ResourceInfo, old: KObject, obj: KObject): KObject {
    const stored = this.stamp(obj);
    this.table(res).set(key(res, res.namespaced ? (stored.metadata.namespace ?? '') : '', stored.metadata.name!), stored);
    this.emit({ type: 'MODIFIED', res, object: stored, old, rv: this.rv });
    return stored;
  }

  remove(res: ResourceInfo, obj: KObject): KObject | undefined {
    const k = key(res, res.namespaced ? (obj.metadata.namespace ?? '') : '', obj.metadata.name!);
    const t = this.table(res);
    const old = t.get(k);
    if (!old) return undefined;
    t.delete(k);
    this.rv++;
    const gone = { ...old, metadata: { ...old.metadata, resourceVersion: String(this.rv) } };
    this.emit({ type: 'DELETED', res, object: gone, old, rv: this.rv });
    return gone;
  }

  /** Listeners run synchronously after every change, in order. */
  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Changes after resourceVersion `rv`, or 'gone' when some of them were already dropped from the log. */
  eventsSince(rv: number): StoreEvent[] | 'gone' {
    if (rv < this.compactedThrough) return 'gone';
    const out: StoreEvent[] = [];
    for (let i = this.logStart; i < this.log.length; i++) {
      const ev = this.log[i]!;
      if (ev.rv > rv) out.push(ev);
    }
    return out;
  }

  private stamp(obj: KObject): KObject {
    this.rv++;
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.rv) } };
  }

  private emit(ev: StoreEvent): void {
    this.log.push(ev);
    if (this.log.length - this.logStart > this.logSize) {
      this.compactedThrough = this.log[this.logStart]!.rv;
      this.logStart++;
      // Drop the dead prefix now and then rather than shifting on every write.
      if (this.logStart > this.logSize) {
        this.log.splice(0, this.logStart);
        this.logStart = 0;
      }
    }
    for (const l of [...this.listeners]) l(ev);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
