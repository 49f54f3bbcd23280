// Undoing the lab: delete what it created and put back the cilium-config values it replaced.
import { AppsV1Api, CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { callApi, isNotFound } from '../kube/errors.ts';
import { deleteAndWait } from '../kube/lifecycle.ts';
import { objectRef } from '../kube/objects.ts';
import { restartDaemonSetAfterConfigWrite, setMergePatch, waitForDaemonSetRollout } from '../kube/rollout.ts';
import { fieldManager } from '../kube/apply.ts';
import { KubernetesObjectApi } from '@kubernetes/client-node';
import { previousValuesAnnotation } from './cilium-config.ts';
import { hubbleManifests, demoNamespace } from './manifests.ts';
import { monitoringObjects } from './monitoring.ts';
import { defineTask, type TaskPlan } from './task.ts';

interface TeardownPlan extends TaskPlan {
  deletions: KubernetesObject[];
  restore: Record<string, string | null> | undefined;
}

/** Objects the lab created: ours if our field manager wrote them (a Helm-installed Relay is not ours). */
async function createdByLab(kc: Parameters<typeof KubernetesObjectApi.makeApiClient>[0], objects: KubernetesObject[]): Promise<KubernetesObject[]> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  const ours: KubernetesObject[] = [];
  for (const obj of objects) {
    try {
      const live = await client.read(obj as KubernetesObject & { metadata: { name: string } });
      if (live.metadata?.managedFields?.some((f) => f.manager === fieldManager)) ours.push(obj);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return ours;
}

export const teardown = defineTask<TeardownPlan>({
  id: 'teardown',
  title: 'Remove the lab and restore cilium-config',
  kind: 'setup',
  async plan(ctx) {
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: demoNamespace } };
    const deletions = await createdByLab(ctx.kc, [namespace, ...hubbleManifests(), ...monitoringObjects(ctx.target.sim)]);
    const core = ctx.kc.makeApiClient(CoreV1Api);
    const cm = await callApi('read ConfigMap kube-system/cilium-config', () =>
      core.readNamespacedConfigMap({ namespace: 'kube-system', name: 'cilium-config' }),
    );
    const kept = cm.metadata?.annotations?.[previousValuesAnnotation];
    const restore = kept ? (JSON.parse(kept) as Record<string, string | null>) : undefined;
    const changes = deletions.map((o) => `delete ${objectRef(o)}`);
    if (restore) {
      for (const [k, v] of Object.entries(restore)) changes.push(`restore cilium-config ${k} → ${v === null ? '(unset)' : JSON.stringify(v)}`);
      changes.push('restart DaemonSet kube-system/cilium so the agents read the restored config');
    }
    return { changes, deletions, restore };
  },
  async apply(ctx, plan) {
    for (const obj of plan.deletions) await deleteAndWait(ctx.kc, obj, { timeoutMs: 120_000, signal: ctx.signal, onProgress: (l) => ctx.progress.progress(l) });
    if (plan.restore) {
      const core = ctx.kc.makeApiClient(CoreV1Api);
      const patch = { metadata: { annotations: { [previousValuesAnnotation]: null } }, data: plan.restore };
      await callApi('restore ConfigMap kube-system/cilium-config', () =>
        core.patchNamespacedConfigMap({ namespace: 'kube-system', name: 'cilium-config', body: patch }, setMergePatch()),
      );
      await restartDaemonSetAfterConfigWrite(ctx.kc, 'kube-system', 'cilium', { signal: ctx.signal });
      await waitForDaemonSetRollout(ctx.kc, 'kube-system', 'cilium', { timeoutMs: 300_000, signal: ctx.signal, onProgress: (l) => ctx.progress.progress(l) });
    }
  },
  async verify(ctx) {
    const apps = ctx.kc.makeApiClient(AppsV1Api);
    await callApi('read DaemonSet kube-system/cilium', () => apps.readNamespacedDaemonSet({ namespace: 'kube-system', name: 'cilium' }));
  },
});
