// Lab step 9: the guide's traffic patterns as a Job for --duration, and the policy-violation probe (test-pod).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { InfraError } from '../lib/errors.ts';
import { applyChanges, planApply } from '../lib/kube/apply.ts';
import { deleteAndWait, podLog, podsOfJob, waitForPodDone } from '../lib/kube/lifecycle.ts';
import { waitForJob } from '../lib/kube/rollout.ts';
import { trafficSummaryFile } from '../lib/lab/analyze-run.ts';
import { defineTask, type LabContext } from '../lib/lab/task.ts';
import { demoNamespace, probeManifests, trafficManifests } from '../lib/lab/manifests.ts';
import { readProbeResult, readTrafficSummary, type TrafficSummary } from '../lib/traffic/summary.ts';
import { isEntryPoint, runTaskStandalone } from './standalone.ts';

async function recreate(ctx: LabContext, objects: KubernetesObject[]): Promise<void> {
  const waitOpts = { timeoutMs: 60_000, signal: ctx.signal };
  // A Job or pod that ran before cannot run again: replace it.
  for (const obj of objects.filter((o) => o.kind === 'Job' || o.kind === 'Pod')) await deleteAndWait(ctx.kc, obj, waitOpts);
  await applyChanges(ctx.kc, await planApply(ctx.kc, objects));
}

function describeSummary(s: TrafficSummary): string {
  const steps = Object.entries(s.steps)
    .map(([name, st]) => `${name} ${st.requests}${st.latencyMs ? ` p95 ${st.latencyMs.p95}ms` : ''}${st.unexpected ? ` (${st.unexpected} unexpected)` : ''}`)
    .join(', ');
  return `${s.workflows.completed}/${s.workflows.started} workflows completed in ${(s.durationMs / 1000).toFixed(1)}s; ${steps}`;
}

export const traffic = defineTask({
  id: 'traffic',
  title: 'Generate agent traffic and probe the policy',
  kind: 'action',
  access: [
    { verb: 'create', group: 'batch', resource: 'jobs', namespace: demoNamespace },
    { verb: 'delete', group: 'batch', resource: 'jobs', namespace: demoNamespace },
    { verb: 'create', group: '', resource: 'pods', namespace: demoNamespace },
    { verb: 'get', group: '', resource: 'pods', namespace: demoNamespace, subresource: 'log' },
  ],
  async plan(ctx) {
    return {
      changes: [
        `run Job ${demoNamespace}/traffic-generator for ${ctx.options.durationMs / 1000}s (normal, burst and error patterns)`,
        `run pod ${demoNamespace}/test-pod: a pod without tier labels calling document-agent-service (expected: denied)`,
      ],
    };
  },
  async apply(ctx) {
    let finished!: () => void;
    ctx.shared.trafficDone = new Promise<void>((resolve) => (finished = resolve));
    try {
      const jobObjects = trafficManifests({ durationMs: ctx.options.durationMs });
      await recreate(ctx, jobObjects);
      await recreate(ctx, probeManifests());
      const timeoutMs = ctx.options.durationMs + 120_000;
      ctx.progress.progress(`traffic running for ${ctx.options.durationMs / 1000}s`);
      const [jobResult, probePod] = await Promise.all([
        waitForJob(ctx.kc, demoNamespace, 'traffic-generator', { timeoutMs, signal: ctx.signal, onProgress: (l) => ctx.progress.progress(l) }),
        waitForPodDone(ctx.kc, demoNamespace, 'test-pod', { timeoutMs, signal: ctx.signal }),
      ]);
      const pods = await podsOfJob(ctx.kc, demoNamespace, 'traffic-generator');
      const pod = pods.at(-1);
      if (!pod) throw new InfraError('the traffic-generator Job has no pod to read the summary from');
      const log = await podLog(ctx.kc, demoNamespace, pod.metadata!.name!);
      const summary = readTrafficSummary(log, `log of pod ${demoNamespace}/${pod.metadata!.name}`);
      const probe = readProbeResult(await podLog(ctx.kc, demoNamespace, 'test-pod'), `log of pod ${demoNamespace}/test-pod`);
      ctx.shared.traffic = summary;
      ctx.shared.probe = probe;
      writeFileSync(join(ctx.options.outDir, trafficSummaryFile), `${JSON.stringify({ summary, probe }, null, 2)}\n`);
      ctx.progress.info(`traffic: ${describeSummary(summary)}${jobResult === 'Failed' ? ' (the Job failed)' : ''}`);
      ctx.progress.info(
        `probe test-pod → document-agent-service: ${probe.outcome}${probe.reason ? ` (${probe.reason})` : ''} after ${probe.ms}ms${probePod.status?.phase === 'Failed' ? '; pod failed' : ''}`,
      );
    } finally {
      finished();
    }
  },
  async verify(ctx) {
    const summary = ctx.shared.traffic;
    if (!summary) throw new InfraError('no traffic summary was read');
    if (summary.workflows.started === 0) throw new InfraError('the traffic generator started no workflow');
    if (!ctx.shared.probe) throw new InfraError('no probe result was read');
  },
});

export default traffic;
if (isEntryPoint(import.meta.url)) runTaskStandalone(traffic);
