// ReplicaSet controller: keeps the number of active pods at spec.replicas and reports replica counts.
import { R } from '../apiserver/resources.ts';
import type { KObject } from '../apiserver/store.ts';
import { is, ownerKeys, splitKey, keyOf, type Controller, type ControllerContext } from './manager.ts';
import { isActive, isReady, owned, podFromTemplate } from './podutil.ts';

const SOURCE = { component: 'replicaset-controller' };

/** Pods to remove first when scaling down: unscheduled, then not ready, then the newest. */
function deletionOrder(a: KObject, b: KObject): number {
  const rank = (p: KObject) => (!p.spec?.nodeName ? 0 : !isReady(p) ? 1 : 2);
  return rank(a) - rank(b) || (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '');
}

export function replicaSetController(ctx: ControllerContext): Controller {
  const { store, registry, events } = ctx;
  return {
    name: 'replicaset',
    keysFor: (ev) => (is(ev, R.replicasets) ? [keyOf(ev.object)] : is(ev, R.pods) ? ownerKeys(ev, 'ReplicaSet') : []),
    initialKeys: () => store.list(R.replicasets).map(keyOf),
    reconcile(key) {
      const [ns, name] = splitKey(key);
      const rs = store.get(R.replicasets, ns, name);
      if (!rs || rs.metadata.deletionTimestamp) return;
      const pods = owned(store, R.pods, rs);
      const active = pods.filter(isActive);
      const want = rs.spec?.replicas ?? 1;
      if (active.length < want) {
        for (let i = active.length; i < want; i++) {
          const pod = registry.create(R.pods, ns, podFromTemplate(rs, rs.spec.template, `${name}-`));
          events.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, SOURCE);
        }
      } else if (active.length > want) {
        for (const pod of [...active].sort(deletionOrder).slice(0, active.length - want)) {
          registry.delete(R.pods, ns, pod.metadata.name!);
          events.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, SOURCE);
        }
      }
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
    },
  };
}
