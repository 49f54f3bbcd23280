// Deployment controller: a ReplicaSet per pod template, rolling replacement, replica counts and Available/Progressing conditions.
import { clone, deepEqual } from '../apiserver/json.ts';
import { R } from '../apiserver/resources.ts';
import type { KObject } from '../apiserver/store.ts';
import { is, keyOf, ownerKeys, splitKey, type Controller, type ControllerContext } from './manager.ts';
import { controllerRef, getCondition, owned, scaledValue, setCondition, templateHash } from './podutil.ts';

const SOURCE = { component: 'deployment-controller' };
const REVISION = 'deployment.kubernetes.io/revision';
const HASH = 'pod-template-hash';

function revisionOf(rs: KObject): number {
  return Number(rs.metadata.annotations?.[REVISION] ?? 0);
}

/** The template without the hash label, to compare a ReplicaSet's template with the Deployment's. */
function bareTemplate(t: any): unknown {
  const c = clone(t ?? {});
  if (c.metadata?.labels) delete c.metadata.labels[HASH];
  return c;
}

export function deploymentController(ctx: ControllerContext): Controller {
  const { store, registry, events } = ctx;

  function scale(d: KObject, rs: KObject, replicas: number): KObject {
    if ((rs.spec?.replicas ?? 0) === replicas) return rs;
    const up = replicas > (rs.spec?.replicas ?? 0);
    const out = registry.mutate(R.replicasets, rs.metadata.namespace!, rs.metadata.name!, (o) => {
      o.spec.replicas = replicas;
      o.metadata.annotations = {
        ...o.metadata.annotations,
        'deployment.kubernetes.io/desired-replicas': String(d.spec.replicas ?? 1),
        'deployment.kubernetes.io/max-replicas': String((d.spec.replicas ?? 1) + maxSurge(d)),
      };
    });
    events.record(d, 'Normal', 'ScalingReplicaSet', `Scaled ${up ? 'up' : 'down'} replica set ${rs.metadata.name} to ${replicas}`, SOURCE);
    return out;
  }

  function maxSurge(d: KObject): number {
    if (d.spec?.strategy?.type !== 'RollingUpdate') return 0;
    return scaledValue(d.spec.strategy.rollingUpdate?.maxSurge, d.spec.replicas ?? 1, true, 0);
  }

  function maxUnavailable(d: KObject): number {
    if (d.spec?.strategy?.type !== 'RollingUpdate') return 0;
    const replicas = d.spec.replicas ?? 1;
    const v = scaledValue(d.spec.strategy.rollingUpdate?.maxUnavailable, replicas, false, 0);
    return v === 0 && maxSurge(d) === 0 ? 1 : Math.min(v, replicas);
  }

  function newReplicaSet(d: KObject, all: KObject[]): { rs: KObject; created: boolean } {
    const hash = templateHash(bareTemplate(d.spec.template));
    const want = bareTemplate(d.spec.template);
    const found = all.find((rs) => deepEqual(bareTemplate(rs.spec?.template), want));
    const maxRevision = Math.max(0, ...all.map(revisionOf));
    if (found) {
      if (revisionOf(found) < maxRevision) {
        // A rollback to an older template makes its ReplicaSet the newest revision again.
        const rs = registry.mutate(R.replicasets, found.metadata.namespace!, found.metadata.name!, (o) => {
          o.metadata.annotations = { ...o.metadata.annotations, [REVISION]: String(maxRevision + 1) };
        });
        return { rs, created: false };
      }
      return { rs: found, created: false };
    }
    const template = clone(d.spec.template);
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [HASH]: hash } };
    const selector = clone(d.spec.selector);
    selector.matchLabels = { ...selector.matchLabels, [HASH]: hash };
    const rs = registry.create(R.replicasets, d.metadata.namespace!, {
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace!,
        labels: { ...template.metadata.labels },
        annotations: {
          'deployment.kubernetes.io/desired-replicas': String(d.spec.replicas ?? 1),
          'deployment.kubernetes.io/max-replicas': String((d.spec.replicas ?? 1) + maxSurge(d)),
          [REVISION]: String(maxRevision + 1),
        },
        ownerReferences: [controllerRef(d)],
      },
      spec: { replicas: 0, minReadySeconds: d.spec.minReadySeconds ?? 0, selector, template },
    });
    return { rs, created: true };
  }

  return {
    name: 'deployment',
    keysFor: (ev) => (is(ev, R.deployments) ? [keyOf(ev.object)] : is(ev, R.replicasets) ? ownerKeys(ev, 'Deployment') : []),
    initialKeys: () => store.list(R.deployments).map(keyOf),
    reconcile(key) {
      const [ns, name] = splitKey(key);
      const d = store.get(R.deployments, ns, name);
      if (!d || d.metadata.deletionTimestamp) return;
      const replicas: number = d.spec?.replicas ?? 1;
      const all = owned(store, R.replicasets, d);
      const { rs: created, created: isNew } = newReplicaSet(d, all);
      let newRS = created;
      if (isNew) all.push(newRS);
      const old = all.filter((rs) => rs.metadata.uid !== newRS.metadata.uid);
      const paused = d.spec?.paused === true;

      if (!paused) {
        if (d.spec?.strategy?.type === 'Recreate') {
          for (const rs of old) scale(d, rs, 0);
          const oldPods = old.reduce((n, rs) => n + (store.get(R.replicasets, ns, rs.metadata.name!)?.status?.replicas ?? 0), 0);
          if (oldPods === 0) newRS = scale(d, newRS, replicas);
        } else {
          const total = all.reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0);
          const allowed = replicas + maxSurge(d);
          const cur = newRS.spec?.replicas ?? 0;
          if (cur > replicas) newRS = scale(d, newRS, replicas);
          else if (total < allowed && cur < replicas) newRS = scale(d, newRS, Math.min(replicas, cur + allowed - total));
          // Scale old ReplicaSets down as far as availability allows: unavailable pods go first.
          const available = all.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
          let budget = available - (replicas - maxUnavailable(d));
          for (const rs of [...old].sort((a, b) => revisionOf(a) - revisionOf(b))) {
            const have = rs.spec?.replicas ?? 0;
            if (have === 0) continue;
            const unhealthy = Math.max(0, have - (rs.status?.availableReplicas ?? 0));
            let target = have - unhealthy;
            const cut = Math.min(target, Math.max(0, budget));
            target -= cut;
            budget -= cut;
            scale(d, rs, target);
          }
        }
      }

      // Old ReplicaSets beyond the history limit go once they are empty.
      const limit = d.spec?.revisionHistoryLimit ?? 10;
      const empty = old.filter((rs) => (rs.spec?.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0).sort((a, b) => revisionOf(a) - revisionOf(b));
      for (const rs of empty.slice(0, Math.max(0, empty.length - limit))) registry.delete(R.replicasets, ns, rs.metadata.name!);

      const fresh = owned(store, R.replicasets, d);
      const nrs = fresh.find((rs) => rs.metadata.uid === newRS.metadata.uid) ?? newRS;
      const sum = (f: (rs: KObject) => number) => fresh.reduce((n, rs) => n + f(rs), 0);
      const statusReplicas = sum((rs) => rs.status?.replicas ?? 0);
      const updated = nrs.status?.replicas ?? 0;
      const ready = sum((rs) => rs.status?.readyReplicas ?? 0);
      const available = sum((rs) => rs.status?.availableReplicas ?? 0);
      const complete = updated === replicas && statusReplicas === replicas && available === replicas && (nrs.spec?.replicas ?? 0) === replicas;
      const rsName = nrs.metadata.name;
      let conditions = setCondition(
        d.status?.conditions,
        available >= replicas - maxUnavailable(d)
          ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
          : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
        true,
      );
      const progressing = getCondition(d, 'Progressing');
      let again: number | undefined;
      if (paused) {
        conditions = setCondition(conditions, { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' }, true);
      } else if (complete) {
        conditions = setCondition(
          conditions,
          { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` },
          true,
        );
      } else if (isNew) {
        conditions = setCondition(
          conditions,
          { type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${rsName}"` },
          true,
        );
      } else {
        const deadline = (d.spec?.progressDeadlineSeconds ?? 600) * 1000;
        const since = Date.parse(progressing?.lastUpdateTime ?? d.metadata.creationTimestamp ?? new Date().toISOString());
        const progressed =
          statusReplicas !== (d.status?.replicas ?? 0) ||
          updated !== (d.status?.updatedReplicas ?? 0) ||
          available !== (d.status?.availableReplicas ?? 0) ||
          ready !== (d.status?.readyReplicas ?? 0);
        const updating = { type: 'Progressing', status: 'True' as const, reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` };
        if (progressed || progressing?.reason === 'NewReplicaSetAvailable' || !progressing) {
          conditions = setCondition(conditions, updating, true, true);
        } else if (progressing.status === 'True' && Date.now() - since > deadline) {
          conditions = setCondition(
            conditions,
            { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` },
            true,
          );
        }
        again = Math.max(1000, deadline - (Date.now() - since) + 1000);
      }
      // Available first, then Progressing, as the deployment controller orders them.
      conditions.sort((a, b) => (a.type === 'Available' ? -1 : b.type === 'Available' ? 1 : 0));
      const status: Record<string, unknown> = {
        observedGeneration: d.metadata.generation,
        replicas: statusReplicas,
        updatedReplicas: updated,
        readyReplicas: ready,
        availableReplicas: available,
        unavailableReplicas: Math.max(0, Math.max(replicas, statusReplicas) - available),
        conditions,
      };
      for (const k of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas']) if (!status[k]) delete status[k];
      const revision = nrs.metadata.annotations?.[REVISION];
      if (revision && d.metadata.annotations?.[REVISION] !== revision) {
        registry.mutate(R.deployments, ns, name, (o) => void (o.metadata.annotations = { ...o.metadata.annotations, [REVISION]: revision }));
      }
      registry.mutate(R.deployments, ns, name, (o) => void (o.status = status), { subresource: 'status' });
      return again;
    },
  };
}
