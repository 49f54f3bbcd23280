// Lab step 2: enable Hubble in cilium-config (only the keys that differ) and restart the agents when they run an older config.
import { AppsV1Api, CoreV1Api, type V1ConfigMap, type V1Pod } from '@kubernetes/client-node';
import { InfraError } from '../lib/errors.ts';
import { callApi } from '../lib/kube/errors.ts';
import { restartDaemonSetAfterConfigWrite, setMergePatch, waitForDaemonSetRollout } from '../lib/kube/rollout.ts';
import { defineTask, type LabContext, type TaskPlan } from '../lib/lab/task.ts';
import { runStandalone } from '../lib/lab/standalone.ts';

/**
 * Source and destination as the flow report names them: namespace/workload, namespace/pod for a bare pod, else the
 * reserved identity (world, host, …). Series grow with workload pairs, never with pods behind a workload.
 */
const workloadContext = 'sourceContext=workload|pod|reserved-identity;destinationContext=workload|pod|reserved-identity';

/**
 * The metrics the agents serve: the guide's list, with httpV2 in place of http (Cilium refuses both together) and
 * policy added. Space-separated, as Cilium splits the key: the guide's comma list is a single unknown metric to it.
 */
export const hubbleMetrics = [
  `dns:query;ignoreAAAA;${workloadContext}`,
  `drop:${workloadContext}`,
  'tcp',
  `flow:${workloadContext}`,
  `port-distribution:${workloadContext}`,
  'icmp',
  `httpV2:exemplars=true;${workloadContext};labelsContext=source_namespace,source_workload,destination_namespace,destination_workload,traffic_direction`,
  `policy:${workloadContext}`,
].join(' ');

/** Why the metrics differ from the guide's, for the task's output. */
export const hubbleMetricsNotes = [
  'hubble-metrics: the guide\'s dns, drop, tcp, flow, port-distribution and icmp, space-separated as Cilium splits the key',
  'hubble-metrics: httpV2 instead of http: one request counter with its status and reporter, and the latency histogram, per source → destination workload (the edges, error ratios and percentiles analyze --prometheus reads)',
  'hubble-metrics: policy added: policy verdicts by direction, match and action, so allow/deny can be checked from metrics',
  'hubble-metrics: workload|pod|reserved-identity contexts (namespace/workload, as the flow report names endpoints) on dns, drop, flow, port-distribution (request-direction edges with their ports), httpV2 and policy: series per workload pair, never per pod',
  'hubble-redact-http-urlquery: URL query strings (tokens, prompts) are removed from HTTP flows before they are stored or exported',
];

/** The lab guide's Hubble settings, with the metrics and redaction above. */
export const hubbleConfig: Record<string, string> = {
  'enable-hubble': 'true',
  'hubble-listen-address': ':4244',
  'hubble-metrics-server': ':9965',
  'hubble-metrics': hubbleMetrics,
  'enable-hubble-open-metrics': 'true',
  'hubble-redact-enabled': 'true',
  'hubble-redact-http-urlquery': 'true',
};

/** Where the values the lab replaced are kept, so that teardown can put them back. */
export const previousValuesAnnotation = 'hubble-lab.io/previous-values';

const ns = 'kube-system';

interface EnablePlan extends TaskPlan {
  changedKeys: Record<string, string>;
  previous: Record<string, string | null>;
  restart: boolean;
}

/** When the ConfigMap's data last changed: the newest managedFields entry (the API server stamps each write). */
export function configTime(cm: V1ConfigMap): Date | undefined {
  const times = (cm.metadata?.managedFields ?? []).map((f) => (f.time ? new Date(f.time).getTime() : 0));
  const created = cm.metadata?.creationTimestamp ? new Date(cm.metadata.creationTimestamp).getTime() : 0;
  const newest = Math.max(created, ...times);
  return newest ? new Date(newest) : undefined;
}

function podStart(pod: V1Pod): Date | undefined {
  const started = pod.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? pod.status?.startTime;
  return started ? new Date(started) : undefined;
}

async function readState(ctx: LabContext) {
  const core = ctx.kc.makeApiClient(CoreV1Api);
  const cm = await callApi(`read ConfigMap ${ns}/cilium-config`, () => core.readNamespacedConfigMap({ namespace: ns, name: 'cilium-config' }));
  const pods = await callApi('list Cilium agent pods', () => core.listNamespacedPod({ namespace: ns, labelSelector: 'k8s-app=cilium' }));
  return { cm, pods: pods.items };
}

/** Agents that started before the config they should run (seconds resolution, as the API reports times). */
export function staleAgents(cm: V1ConfigMap, pods: V1Pod[]): string[] {
  const since = configTime(cm);
  if (!since) return [];
  return pods
    .filter((p) => !p.metadata?.deletionTimestamp)
    .filter((p) => {
      const started = podStart(p);
      return !started || Math.floor(started.getTime() / 1000) < Math.floor(since.getTime() / 1000);
    })
    .map((p) => p.metadata!.name!);
}

export const enableHubble = defineTask<EnablePlan>({
  id: 'enable-hubble',
  title: 'Enable Hubble in cilium-config',
  kind: 'setup',
  async plan(ctx) {
    const { cm, pods } = await readState(ctx);
    const data = cm.data ?? {};
    const changedKeys: Record<string, string> = {};
    const previous: Record<string, string | null> = {};
    for (const [key, value] of Object.entries(hubbleConfig)) {
      if (data[key] !== value) {
        changedKeys[key] = value;
        previous[key] = data[key] ?? null;
      }
    }
    const stale = staleAgents(cm, pods);
    const restart = Object.keys(changedKeys).length > 0 || stale.length > 0;
    const changes = Object.entries(changedKeys).map(
      ([k, v]) => `set cilium-config ${k}: ${previous[k] === null ? '(unset)' : JSON.stringify(previous[k])} → ${JSON.stringify(v)}`,
    );
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
    await waitForDaemonSetRollout(ctx.kc, ns, 'cilium', { timeoutMs: 300_000, onProgress: (l) => ctx.report.progress(l), signal: ctx.signal });
  },
  async verify(ctx) {
    const { cm, pods } = await readState(ctx);
    const wrong = Object.entries(hubbleConfig).filter(([k, v]) => cm.data?.[k] !== v);
    if (wrong.length) throw new InfraError(`cilium-config still has ${wrong.map(([k]) => `${k}=${cm.data?.[k] ?? '(unset)'}`).join(', ')}`);
    const apps = ctx.kc.makeApiClient(AppsV1Api);
    const ds = await callApi(`read DaemonSet ${ns}/cilium`, () => apps.readNamespacedDaemonSet({ namespace: ns, name: 'cilium' }));
    const stale = staleAgents(cm, pods);
    if (stale.length || (ds.status?.numberReady ?? 0) < (ds.status?.desiredNumberScheduled ?? 1)) {
      throw new InfraError(`Cilium agents not running the current config: ${stale.join(', ') || 'not all ready'}`);
    }
  },
});

export default enableHubble;
await runStandalone(import.meta.url, enableHubble);
