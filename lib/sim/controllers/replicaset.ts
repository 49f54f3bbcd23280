// ReplicaSet controller: keeps the number of active pods at spec.replicas and reports replica counts.
import { R } from '../apiserver/resources.ts';
import { setMaxListeners } from 'node:events';
import type { KObject, StoreEvent } from '../apiserver/store.ts';
import { is, ownerKeys, splitKey, keyOf, type Controller, type ControllerContext } from './manager.ts';
import { isActive, isReady, owned, podFromTemplate } from './podutil.ts';
import { TokenBucket } from './ratelimit.ts';
import { slowStartBatch } from './slow-start.ts';

const SOURCE = { component: 'replicaset-controller' };

/** At most this many pods are created or deleted per sync, as the upstream controller's burstReplicas. */
export const BURST_REPLICAS = 500;

/** Pods to remove first when scaling down: unscheduled, then not ready, then the newest. */
function deletionOrder(a: KObject, b: KObject): number {
  const rank = (p: KObject) => (!p.spec?.nodeName ? 0 : !isReady(p) ? 1 : 2);
  return rank(a) - rank(b) || (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '');
}

export function replicaSetController(ctx: ControllerContext): Controller {
  const { store, registry, events } = ctx;
  const limiter = new TokenBucket();
  const stopping = new AbortController();
  /** Syncs under way, by key: a change of their ReplicaSet's spec cancels them (waits for tokens included). */
  const syncing = new Map<string, { uid: string; generation: number | undefined; cancel: AbortController }>();

  function cancelIfChanged(ev: StoreEvent): void {
    const sync = syncing.get(keyOf(ev.object));
    if (!sync) return;
    const o = ev.object;
    if (ev.type === 'DELETED' || o.metadata.uid !== sync.uid || o.metadata.generation !== sync.generation || o.metadata.deletionTimestamp) sync.cancel.abort();
  }

  async function manageReplicas(rs: KObject, active: KObject[], want: number, signal: AbortSignal): Promise<number | void> {
    const ns = rs.metadata.namespace!;
    const name = rs.metadata.name!;
    // A sync that outlives a change of its ReplicaSet stops; the change queued the next sync already.
    const current = () => !signal.aborted;
    if (active.length < want) {
      const diff = Math.min(want - active.length, BURST_REPLICAS);
      const { error } = await slowStartBatch(
        diff,
        async () => {
          await limiter.take(signal);
          if (!current()) return;
          const pod = registry.create(R.pods, ns, podFromTemplate(rs, rs.spec.template, `${name}-`));
          events.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, SOURCE);
        },
        current,
      );
      if (error !== undefined) {
        if (signal.aborted) return;
        events.record(rs, 'Warning', 'FailedCreate', `Error creating: ${error instanceof Error ? error.message : String(error)}`, SOURCE);
        return 5000;
      }
    } else if (active.length > want) {
      const victims = [...active].sort(deletionOrder).slice(0, Math.min(active.length - want, BURST_REPLICAS));
      for (const pod of victims) {
        if (!current()) break;
        await limiter.take(signal);
        try {
          registry.delete(R.pods, ns, pod.metadata.name!);
        } catch {
          // Gone already: deleted by someone else, or finished and collected.
          continue;
        }
        events.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, SOURCE);
      }
    }
  }

  return {
    name: 'replicaset',
    keysFor: (ev) => {
      if (is(ev, R.replicasets)) {
        cancelIfChanged(ev);
        return [keyOf(ev.object)];
      }
      return is(ev, R.pods) ? ownerKeys(ev, 'ReplicaSet') : [];
    },
    initialKeys: () => store.list(R.replicasets).map(keyOf),
    async reconcile(key) {
      const [ns, name] = splitKey(key);
      const rs = store.get(R.replicasets, ns, name);
      if (!rs || rs.metadata.deletionTimestamp) return;
      const active = owned(store, R.pods, rs).filter(isActive);
      const want: number = rs.spec?.replicas ?? 1;
      let again: number | void = undefined;
      const cancel = new AbortController();
      // Every pod of a batch waits on this signal.
      setMaxListeners(0, cancel.signal);
      const onStop = () => cancel.abort();
      stopping.signal.addEventListener('abort', onStop);
      syncing.set(key, { uid: rs.metadata.uid!, generation: rs.metadata.generation, cancel });
      try {
        again = await manageReplicas(rs, active, want, cancel.signal);
      } catch (err) {
        if (!cancel.signal.aborted) throw err;
      } finally {
        syncing.delete(key);
        stopping.signal.removeEventListener('abort', onStop);
      }
      if (stopping.signal.aborted) return;
      if (!store.get(R.replicasets, ns, name)) return;
      const now = owned(store, R.pods, rs).filter(isActive);
      const ready = now.filter(isReady).length;
      const status: Record<string, unknown> = {
        replicas: now.length,
        fullyLabeledReplicas: now.length,
        readyReplicas: ready,
        availableReplicas: ready,
        observedGeneration: rs.metadata.generation,
      };
      if (!ready) {
        delete status.readyReplicas;
        delete status.availableReplicas;
      }
      if (!now.length) delete status.fullyLabeledReplicas;
      registry.mutate(R.replicasets, ns, name, (o) => void (o.status = status), { subresource: 'status' });
      return again;
    },
    stop() {
      stopping.abort();
    },
  };
}
