// Scheduler: binds each unscheduled pod to the eligible node running the fewest pods, or reports why none fits.
import { R } from '../apiserver/resources.ts';
import type { KObject } from '../apiserver/store.ts';
import { clone } from '../apiserver/json.ts';
import { is, keyOf, splitKey, type Controller, type ControllerContext } from './manager.ts';
import { setCondition } from './podutil.ts';
import { unfitReason } from './placement.ts';

const SOURCE = { component: 'default-scheduler' };

function unschedulableMessage(reasons: string[], total: number): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const parts = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([r, n]) => `${n} ${r}`);
  return `0/${total} nodes are available: ${parts.join(', ')}. preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`;
}

export function scheduler(ctx: ControllerContext): Controller {
  const { store, registry, events } = ctx;
  const pending = () => store.list(R.pods).filter((p) => !p.spec?.nodeName && !p.metadata.deletionTimestamp);
  return {
    name: 'scheduler',
    keysFor: (ev) => {
      if (is(ev, R.pods) && ev.type !== 'DELETED' && !ev.object.spec?.nodeName) return [keyOf(ev.object)];
      if (is(ev, R.nodes)) return pending().map(keyOf);
      return [];
    },
    initialKeys: () => pending().map(keyOf),
    reconcile(key) {
      const [ns, name] = splitKey(key);
      const pod = store.get(R.pods, ns, name);
      if (!pod || pod.spec?.nodeName || pod.metadata.deletionTimestamp) return;
      const nodes = store.list(R.nodes);
      const reasons: string[] = [];
      const fit: KObject[] = [];
      for (const n of nodes) {
        const why = unfitReason(pod.spec, n);
        if (why) reasons.push(why);
        else fit.push(n);
      }
      if (fit.length === 0) {
        const message = unschedulableMessage(reasons, nodes.length);
        const was = (pod.status?.conditions ?? []).find((c: any) => c.type === 'PodScheduled');
        if (was?.message === message) return;
        registry.mutate(R.pods, ns, name, (o) => {
          o.status.conditions = setCondition(o.status.conditions, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null });
        }, { subresource: 'status' });
        events.record(pod, 'Warning', 'FailedScheduling', message, SOURCE);
        return;
      }
      const load = new Map<string, number>();
      for (const p of store.list(R.pods)) if (p.spec?.nodeName) load.set(p.spec.nodeName, (load.get(p.spec.nodeName) ?? 0) + 1);
      fit.sort((a, b) => (load.get(a.metadata.name!) ?? 0) - (load.get(b.metadata.name!) ?? 0) || a.metadata.name!.localeCompare(b.metadata.name!));
      const node = fit[0]!.metadata.name!;
      // Binding sets spec.nodeName, which ordinary pod updates may not change.
      const bound = clone(pod);
      bound.spec.nodeName = node;
      bound.status = { ...bound.status, conditions: setCondition(bound.status?.conditions, { type: 'PodScheduled', status: 'True', lastProbeTime: null }) };
      const stored = store.replace(R.pods, pod, bound);
      events.record(stored, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${node}`, SOURCE);
    },
  };
}
