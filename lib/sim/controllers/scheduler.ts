// Scheduler: binds each unscheduled pod to the eligible node running the fewest pods, or reports why none fits.
import { R } from '../apiserver/resources.ts';
import type { KObject, StoreEvent } from '../apiserver/store.ts';
import { clone } from '../apiserver/json.ts';
import { is, keyOf, splitKey, type Controller, type ControllerContext } from './manager.ts';
import { isTerminal, setCondition } from './podutil.ts';
import { unfitReason } from './placement.ts';

const SOURCE = { component: 'default-scheduler' };
/** The kubelet's default --max-pods, for a node that does not say. */
const DEFAULT_MAX_PODS = 110;
const TOO_MANY_PODS = 'Too many pods';

/** Pods a node takes (status.allocatable.pods), as NodeResourcesFit reads it. */
function podCapacity(node: KObject): number {
  const n = Number.parseInt(String(node.status?.allocatable?.pods ?? ''), 10);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_MAX_PODS;
}

/** `N reason` per distinct reason, in byte order as the scheduler's sort.Strings leaves them. */
function countBy(reasons: string[]): string[] {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} ${r}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The FailedScheduling message. Preemption could help only where a node is full (its pods might be evicted);
 * taints and selectors no eviction can fix.
 */
function unschedulableMessage(reasons: string[], total: number): string {
  const preemption = reasons.map((r) => (r === TOO_MANY_PODS ? 'No preemption victims found for incoming pod' : 'Preemption is not helpful for scheduling'));
  return `0/${total} nodes are available: ${countBy(reasons).join(', ')}. preemption: 0/${total} nodes are available: ${countBy(preemption).join(', ')}.`;
}

export function scheduler(ctx: ControllerContext): Controller {
  const { store, registry, events } = ctx;
  /** Pods bound to each node that still hold a place there (not finished), kept from store events. */
  const assigned = new Map<string, Set<string>>();
  const holdsPlace = (p: KObject) => !!p.spec?.nodeName && !isTerminal(p);
  const track = (ev: StoreEvent): boolean => {
    const key = keyOf(ev.object);
    const node: string | undefined = ev.object.spec?.nodeName ?? ev.old?.spec?.nodeName;
    if (!node) return false;
    const set = assigned.get(node) ?? new Set<string>();
    assigned.set(node, set);
    const had = set.has(key);
    if (ev.type !== 'DELETED' && holdsPlace(ev.object)) set.add(key);
    else set.delete(key);
    return had && !set.has(key);
  };
  const pending = () => {
    const keys: string[] = [];
    for (const p of store.values(R.pods)) if (!p.spec?.nodeName && !p.metadata.deletionTimestamp) keys.push(keyOf(p));
    return keys;
  };
  return {
    name: 'scheduler',
    keysFor: (ev) => {
      if (is(ev, R.pods)) {
        // A place freed on a node may be what a pending pod waits for.
        if (track(ev)) return pending();
        if (ev.type !== 'DELETED' && !ev.object.spec?.nodeName) return [keyOf(ev.object)];
        return [];
      }
      if (is(ev, R.nodes)) return pending();
      return [];
    },
    initialKeys: () => {
      for (const p of store.values(R.pods)) track({ type: 'ADDED', res: R.pods, object: p, rv: 0 });
      return pending();
    },
    reconcile(key) {
      const [ns, name] = splitKey(key);
      const pod = store.get(R.pods, ns, name);
      if (!pod || pod.spec?.nodeName || pod.metadata.deletionTimestamp) return;
      const nodes = store.list(R.nodes);
      const reasons: string[] = [];
      const fit: KObject[] = [];
      const load = (n: KObject) => assigned.get(n.metadata.name!)?.size ?? 0;
      for (const n of nodes) {
        const why = unfitReason(pod.spec, n) ?? (load(n) >= podCapacity(n) ? TOO_MANY_PODS : undefined);
        if (why) reasons.push(why);
        else fit.push(n);
      }
      if (fit.length === 0) {
        const message = unschedulableMessage(reasons, nodes.length);
        const was = (pod.status?.conditions ?? []).find((c: any) => c.type === 'PodScheduled');
        if (was?.message === message) return;
        registry.mutate(
          R.pods,
          ns,
          name,
          (o) => {
            o.status.conditions = setCondition(o.status.conditions, {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message,
              lastProbeTime: null,
            });
          },
          { subresource: 'status' },
        );
        events.record(pod, 'Warning', 'FailedScheduling', message, SOURCE);
        return;
      }
      fit.sort((a, b) => load(a) - load(b) || a.metadata.name!.localeCompare(b.metadata.name!));
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
