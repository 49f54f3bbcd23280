// Records core/v1 Events about objects (Scheduled, Pulled, BackOff, ScalingReplicaSet…), merging repeats into a count.
import type { Registry } from '../apiserver/registry.ts';
import { R, apiVersionOf, resourceForKind } from '../apiserver/resources.ts';
import type { KObject } from '../apiserver/store.ts';
import { timestamp } from '../apiserver/names.ts';

/** Events beyond this many are dropped oldest first, as the API server's event TTL would. */
const MAX_EVENTS = 2000;

export class EventRecorder {
  private readonly recent: { namespace: string; name: string }[] = [];
  private sequence = 0;

  constructor(private readonly registry: Registry) {}

  record(obj: KObject, type: 'Normal' | 'Warning', reason: string, message: string, source: { component: string; host?: string }, fieldPath?: string): void {
    const namespace = obj.metadata.namespace || 'default';
    const involved: Record<string, unknown> = {
      kind: obj.kind,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name,
      uid: obj.metadata.uid,
      apiVersion: obj.apiVersion ?? (obj.kind ? apiVersionOf(resourceForKind(obj.apiVersion ?? 'v1', obj.kind) ?? { group: '', version: 'v1' }) : 'v1'),
      resourceVersion: obj.metadata.resourceVersion,
    };
    if (fieldPath) involved.fieldPath = fieldPath;
    const now = timestamp();
    let same: KObject | undefined;
    // Unsorted: recording runs for every pod a controller touches, and sorting every event each time adds up.
    for (const e of this.registry.store.values(R.events)) {
      if (
        e.metadata.namespace === namespace &&
        e.involvedObject?.uid === obj.metadata.uid &&
        e.reason === reason &&
        e.message === message &&
        e.involvedObject?.fieldPath === fieldPath
      ) {
        same = e;
        break;
      }
    }
    try {
      if (same) {
        this.registry.mutate(R.events, namespace, same.metadata.name!, (e) => {
          e.count = (e.count ?? 1) + 1;
          e.lastTimestamp = now;
        });
        return;
      }
      // Like the kubelet's, the suffix is the time in nanoseconds (in hex): names sort in the order events happened.
      const name = `${obj.metadata.name}.${(BigInt(Date.now()) * 1_000_000n + BigInt(this.sequence++ % 1_000_000)).toString(16)}`;
      this.registry.create(R.events, namespace, {
        metadata: { name, namespace },
        involvedObject: involved,
        reason,
        message,
        source,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        type,
        eventTime: null,
        reportingComponent: source.component,
        reportingInstance: source.host ?? '',
      });
      this.recent.push({ namespace, name });
      while (this.recent.length > MAX_EVENTS) {
        const old = this.recent.shift()!;
        const e = this.registry.store.get(R.events, old.namespace, old.name);
        if (e) this.registry.purge(R.events, e);
      }
    } catch {
      // Events are best effort, as in Kubernetes: a namespace being deleted refuses them.
    }
  }
}
