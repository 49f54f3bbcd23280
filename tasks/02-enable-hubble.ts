// Lab step 2: enable Hubble in cilium-config (only the keys that differ) and restart the agents when they run an older config.
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { InfraError } from '../lib/errors.ts';
import { callApi } from '../lib/kube/errors.ts';
import { restartDaemonSetAfterConfigWrite, setMergePatch, waitForDaemonSetRollout } from '../lib/kube/rollout.ts';
import { defineTask, type LabContext, type TaskPlan } from '../lib/lab/task.ts';
import { describeConfigDiff, hubbleConfigDiff, hubbleMetricsNotes, previousValuesAnnotation, staleAgents } from '../lib/lab/cilium-config.ts';
import { isEntryPoint, runTaskStandalone } from './standalone.ts';

const ns = 'kube-system';

interface EnablePlan extends TaskPlan {
  changedKeys: Record<string, string>;
  previous: Record<string, string | null>;
  restart: boolean;
}

async function readState(ctx: LabContext) {
  const core = ctx.kc.makeApiClient(CoreV1Api);
  const cm = await callApi(`read ConfigMap ${ns}/cilium-config`, () => core.readNamespacedConfigMap({ namespace: ns, name: 'cilium-config' }));
  const pods = await callApi('list Cilium agent pods', () => core.listNamespacedPod({ namespace: ns, labelSelector: 'k8s-app=cilium' }));
  return { cm, pods: pods.items };
}

export const enableHubble = defineTask<EnablePlan>({
  id: 'enable-hubble',
  title: 'Enable Hubble in cilium-config',
  kind: 'setup',
  access: [
    { verb: 'get', group: '', resource: 'configmaps', namespace: ns },
    { verb: 'patch', group: '', resource: 'configmaps', namespace: ns },
    { verb: 'get', group: 'apps', resource: 'daemonsets', namespace: ns },
    { verb: 'patch', group: 'apps', resource: 'daemonsets', namespace: ns },
    { verb: 'list', group: '', resource: 'pods', namespace: ns },
  ],
  async plan(ctx) {
    const { cm, pods } = await readState(ctx);
    const diff = hubbleConfigDiff(cm.data);
    const changedKeys = Object.fromEntries(diff.map((d) => [d.key, d.want]));
    const previous = Object.fromEntries(diff.map((d) => [d.key, d.have]));
    const stale = staleAgents(cm, pods);
    const restart = diff.length > 0 || stale.length > 0;
    const changes = diff.map((d) => `set cilium-config ${d.key}: ${d.have === null ? '(unset)' : JSON.stringify(d.have)} → ${JSON.stringify(d.want)}`);
    if (restart) {
      changes.push(
        Object.keys(changedKeys).length
          ? 'restart DaemonSet kube-system/cilium so the agents read the new config'
          : `restart DaemonSet kube-system/cilium: ${stale.length} agent(s) started before the current config (${stale.join(', ')})`,
      );
    }
    return { changes, changedKeys, previous, restart, ...('hubble-metrics' in changedKeys ? { notes: hubbleMetricsNotes } : {}) };
  },
  async apply(ctx, plan) {
    const core = ctx.kc.makeApiClient(CoreV1Api);
    if (Object.keys(plan.changedKeys).length) {
      const { cm } = await readState(ctx);
      const kept = JSON.parse(cm.metadata?.annotations?.[previousValuesAnnotation] ?? '{}') as Record<string, string | null>;
      // The first value the lab replaced is the one to restore: later runs must not overwrite it.
      for (const [k, v] of Object.entries(plan.previous)) if (!(k in kept)) kept[k] = v;
      const patch = { metadata: { annotations: { [previousValuesAnnotation]: JSON.stringify(kept) } }, data: plan.changedKeys };
      await callApi(`patch ConfigMap ${ns}/cilium-config`, () =>
        core.patchNamespacedConfigMap({ namespace: ns, name: 'cilium-config', body: patch }, setMergePatch()),
      );
    }
    if (plan.restart) {
      await restartDaemonSetAfterConfigWrite(ctx.kc, ns, 'cilium', { signal: ctx.signal });
    }
    await waitForDaemonSetRollout(ctx.kc, ns, 'cilium', { timeoutMs: 300_000, onProgress: (l) => ctx.progress.progress(l), signal: ctx.signal });
  },
  async verify(ctx) {
    const { cm, pods } = await readState(ctx);
    const wrong = hubbleConfigDiff(cm.data);
    if (wrong.length) throw new InfraError(`cilium-config still has ${describeConfigDiff(wrong)}`);
    const apps = ctx.kc.makeApiClient(AppsV1Api);
    const ds = await callApi(`read DaemonSet ${ns}/cilium`, () => apps.readNamespacedDaemonSet({ namespace: ns, name: 'cilium' }));
    const stale = staleAgents(cm, pods);
    if (stale.length || (ds.status?.numberReady ?? 0) < (ds.status?.desiredNumberScheduled ?? 1)) {
      throw new InfraError(`Cilium agents not running the current config: ${stale.join(', ') || 'not all ready'}`);
    }
  },
});

export default enableHubble;
if (isEntryPoint(import.meta.url)) runTaskStandalone(enableHubble);
