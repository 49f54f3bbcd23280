// The lab's Hubble settings in cilium-config and whether the agents run them: written by enable-hubble, checked by
// doctor, put back by teardown.
import type { V1ConfigMap, V1Pod } from '@kubernetes/client-node';

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
  "hubble-metrics: the guide's dns, drop, tcp, flow, port-distribution and icmp, space-separated as Cilium splits the key",
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

/** A cilium-config key whose value is not the lab's: what it should be and what it is (null: unset). */
export interface ConfigDifference {
  key: string;
  want: string;
  have: string | null;
}

/** The lab's Hubble settings that cilium-config's data does not have, in hubbleConfig's order. */
export function hubbleConfigDiff(data: Record<string, string> | undefined): ConfigDifference[] {
  return Object.entries(hubbleConfig)
    .filter(([key, want]) => data?.[key] !== want)
    .map(([key, want]) => ({ key, want, have: data?.[key] ?? null }));
}

/** `key=value` of each difference as cilium-config has it, for messages. */
export function describeConfigDiff(diff: ConfigDifference[]): string {
  return diff.map((d) => `${d.key}=${d.have ?? '(unset)'}`).join(', ');
}

/** Where the values the lab replaced are kept, so that teardown can put them back. */
export const previousValuesAnnotation = 'hubble-lab.io/previous-values';

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
