// DaemonSet controller: one pod per eligible node, rolling replacement on template change, and the status rollout reads.
import { R } from '../apiserver/resources.ts';
import type { KObject } from '../apiserver/store.ts';
import { is, keyOf, ownerKeys, splitKey, type Controller, type ControllerContext } from './manager.ts';
import { isActive, isReady, owned, podFromTemplate, scaledValue, templateHash } from './podutil.ts';
import { unfitReason } from './placement.ts';

const SOURCE = { component: 'daemonset-controller' };
const HASH = 'controller-revision-hash';

function nodeOf(pod: KObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) for (const f of t.matchFields ?? []) if (f.key === 'metadata.name') return f.values?.[0];
  return undefined;
}

/** The daemon pod's template for one node: pinned there by node affinity, as the DaemonSet controller does. */
function pinnedTemplate(ds: KObject, node: string): any {
  const t = structuredClone(ds.spec.template);
  t.spec.affinity = {
    ...t.spec.affinity,
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
      },
    },
  };
  const daemonTolerations = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ];
  const have = t.spec.tolerations ?? [];
  t.spec.tolerations = [...have, ...daemonTolerations.filter((d) => !have.some((h: any) => h.key === d.key && h.effect === d.effect))];
  if (t.spec.hostNetwork) {
    t.spec.tolerations.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  }
  return t;
}

export function daemonSetController(ctx: ControllerContext): Controller {
  const { store, registry, events } = ctx;
  return {
    name: 'daemonset',
    keysFor: (ev) => {
      if (is(ev, R.daemonsets)) return [keyOf(ev.object)];
      if (is(ev, R.pods)) return ownerKeys(ev, 'DaemonSet');
      if (is(ev, R.nodes)) return store.list(R.daemonsets).map(keyOf);
      return [];
    },
    initialKeys: () => store.list(R.daemonsets).map(keyOf),
    reconcile(key) {
      const [ns, name] = splitKey(key);
      const ds = store.get(R.daemonsets, ns, name);
      if (!ds || ds.metadata.deletionTimestamp) return;
      const hash = templateHash(ds.spec.template);
      const nodes = store.list(R.nodes).filter((n) => unfitReason(pinnedTemplate(ds, n.metadata.name!).spec, n) === undefined);
      const eligible = new Set(nodes.map((n) => n.metadata.name!));
      const pods = owned(store, R.pods, ds);
      const byNode = new Map<string, KObject[]>();
      for (const p of pods.filter(isActive)) {
        const n = nodeOf(p) ?? '';
        byNode.set(n, [...(byNode.get(n) ?? []), p]);
      }
      const remove = (pod: KObject) => {
        registry.delete(R.pods, ns, pod.metadata.name!);
        events.record(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, SOURCE);
      };
      // Daemon pods on nodes that no longer qualify, and duplicates, go.
      for (const [node, list] of byNode) {
        if (!eligible.has(node)) list.forEach(remove);
        else if (list.length > 1) list.slice(1).forEach(remove);
      }
      for (const node of eligible) {
        if (byNode.has(node)) continue;
        if (pods.some((p) => nodeOf(p) === node && p.metadata.deletionTimestamp)) continue;
        const pod = registry.create(R.pods, ns, podFromTemplate(ds, pinnedTemplate(ds, node), `${name}-`, { [HASH]: hash }));
        events.record(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, SOURCE);
      }
      const current = owned(store, R.pods, ds)
        .filter(isActive)
        .filter((p) => eligible.has(nodeOf(p) ?? ''));
      if (ds.spec?.updateStrategy?.type !== 'OnDelete') {
        const maxUnavailable = Math.max(1, scaledValue(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable, eligible.size, false, 1));
        const terminating = owned(store, R.pods, ds).filter((p) => p.metadata.deletionTimestamp).length;
        let unavailable = eligible.size - current.filter(isReady).length;
        for (const p of current.filter((x) => x.metadata.labels?.[HASH] !== hash)) {
          // Old pods that are not ready cost no availability; ready ones go while the budget allows.
          if (!isReady(p)) remove(p);
          else if (unavailable + terminating < maxUnavailable) {
            remove(p);
            unavailable++;
          }
        }
      }
      const live = owned(store, R.pods, ds)
        .filter(isActive)
        .filter((p) => eligible.has(nodeOf(p) ?? ''));
      const scheduled = new Set(live.filter((p) => p.spec?.nodeName).map((p) => p.spec.nodeName));
      const ready = live.filter(isReady).length;
      const status: Record<string, unknown> = {
        currentNumberScheduled: scheduled.size,
        numberMisscheduled: 0,
        desiredNumberScheduled: eligible.size,
        numberReady: ready,
        observedGeneration: ds.metadata.generation,
        updatedNumberScheduled: live.filter((p) => p.metadata.labels?.[HASH] === hash && p.spec?.nodeName).length,
        numberAvailable: ready,
        numberUnavailable: Math.max(0, eligible.size - ready),
      };
      if (!status.numberAvailable) delete status.numberAvailable;
      if (!status.numberUnavailable) delete status.numberUnavailable;
      registry.mutate(R.daemonsets, ns, name, (o) => void (o.status = status), { subresource: 'status' });
    },
  };
}
