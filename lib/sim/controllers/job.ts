// Job controller: runs pods to completion, counts successes and failures, honours backoffLimit and the deadline, sets Complete/Failed.
import { timestamp } from '../apiserver/names.ts';
import { R } from '../apiserver/resources.ts';
import type { KObject } from '../apiserver/store.ts';
import { is, keyOf, ownerKeys, splitKey, type Controller, type ControllerContext } from './manager.ts';
import { setMaxListeners } from 'node:events';
import { getCondition, isActive, isReady, owned, podFromTemplate, setCondition, type Condition } from './podutil.ts';
import { TokenBucket } from './ratelimit.ts';
import { slowStartBatch } from './slow-start.ts';

const SOURCE = { component: 'job-controller' };
/** Kubernetes' pod failure backoff: 10 s doubling, capped at 6 minutes. */
const BACKOFF_BASE_MS = 10_000;
const BACKOFF_MAX_MS = 360_000;
/** The Job controller's MaxPodCreateDeletePerSync: a huge parallelism is reached over many syncs. */
const MAX_POD_CREATE_PER_SYNC = 500;

function finished(job: KObject): boolean {
  return ['Complete', 'Failed'].some((t) => getCondition(job, t)?.status === 'True');
}

export function jobController(ctx: ControllerContext): Controller {
  const { store, registry, events } = ctx;
  const limiter = new TokenBucket();
  const stopping = new AbortController();
  setMaxListeners(0, stopping.signal);
  return {
    name: 'job',
    stop: () => stopping.abort(),
    keysFor: (ev) => (is(ev, R.jobs) ? [keyOf(ev.object)] : is(ev, R.pods) ? ownerKeys(ev, 'Job') : []),
    initialKeys: () => store.list(R.jobs).map(keyOf),
    async reconcile(key) {
      const [ns, name] = splitKey(key);
      const job = store.get(R.jobs, ns, name);
      if (!job || job.metadata.deletionTimestamp) return;
      const pods = owned(store, R.pods, job);
      const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length;
      const failedPods = pods.filter((p) => p.status?.phase === 'Failed');
      const onFailure = job.spec?.template?.spec?.restartPolicy === 'OnFailure';
      const restarts = onFailure
        ? pods.reduce((n, p) => n + (p.status?.containerStatuses ?? []).reduce((m: number, c: any) => m + (c.restartCount ?? 0), 0), 0)
        : 0;
      const failures = failedPods.length + restarts;
      const active = pods.filter(isActive);
      const completions: number = job.spec?.completions ?? 1;
      const parallelism: number = job.spec?.parallelism ?? 1;
      const backoffLimit: number = job.spec?.backoffLimit ?? 6;
      const now = timestamp();
      const status: Record<string, any> = { ...(job.status ?? {}) };
      let conditions: Condition[] = job.status?.conditions ?? [];
      let again: number | undefined;

      if (!finished(job) && !job.spec?.suspend) {
        status.startTime ??= now;
        const deadline = job.spec?.activeDeadlineSeconds;
        const elapsed = Date.now() - Date.parse(status.startTime);
        const stopActive = () => active.forEach((p) => registry.delete(R.pods, ns, p.metadata.name!));
        if (succeeded >= completions) {
          const message = 'Reached expected number of succeeded pods';
          conditions = setCondition(conditions, { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message, lastProbeTime: now });
          conditions = setCondition(conditions, { type: 'Complete', status: 'True', reason: 'CompletionsReached', message, lastProbeTime: now });
          status.completionTime = now;
          stopActive();
          events.record(job, 'Normal', 'Completed', 'Job completed', SOURCE);
        } else if (failures > backoffLimit || (deadline !== undefined && elapsed > deadline * 1000)) {
          const byDeadline = failures <= backoffLimit;
          const reason = byDeadline ? 'DeadlineExceeded' : 'BackoffLimitExceeded';
          const message = byDeadline ? 'Job was active longer than specified deadline' : 'Job has reached the specified backoff limit';
          conditions = setCondition(conditions, { type: 'FailureTarget', status: 'True', reason, message, lastProbeTime: now });
          conditions = setCondition(conditions, { type: 'Failed', status: 'True', reason, message, lastProbeTime: now });
          stopActive();
          events.record(job, 'Warning', reason, message, SOURCE);
        } else {
          const want = Math.min(parallelism, completions - succeeded) - active.length;
          const lastFailure = failedPods
            .map((p) => Date.parse(p.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt ?? p.metadata.creationTimestamp ?? now))
            .sort()
            .pop();
          const backoff = failedPods.length ? Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failedPods.length - 1)) : 0;
          const wait = lastFailure === undefined ? 0 : lastFailure + backoff - Date.now();
          if (want > 0 && wait > 0) again = wait;
          else {
            const { error } = await slowStartBatch(
              Math.max(0, Math.min(want, MAX_POD_CREATE_PER_SYNC)),
              async () => {
                await limiter.take(stopping.signal);
                const pod = registry.create(R.pods, ns, podFromTemplate(job, job.spec.template, `${name}-`));
                events.record(job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, SOURCE);
              },
              () => !stopping.signal.aborted && store.get(R.jobs, ns, name)?.metadata.uid === job.metadata.uid,
            );
            if (stopping.signal.aborted) return;
            if (error !== undefined) {
              events.record(job, 'Warning', 'FailedCreate', `Error creating: ${error instanceof Error ? error.message : String(error)}`, SOURCE);
              again = 5000;
            }
            if (!store.get(R.jobs, ns, name)) return;
          }
          if (deadline !== undefined) again = Math.min(again ?? Infinity, deadline * 1000 - elapsed + 100);
        }
      }
      const live = owned(store, R.pods, job).filter(isActive);
      status.active = live.length;
      status.ready = live.filter(isReady).length;
      status.succeeded = succeeded;
      status.failed = failedPods.length;
      status.terminating = owned(store, R.pods, job).filter((p) => p.metadata.deletionTimestamp).length;
      status.uncountedTerminatedPods = {};
      if (conditions.length) status.conditions = conditions;
      for (const k of ['active', 'succeeded', 'failed']) if (!status[k]) delete status[k];
      if (job.spec?.suspend && !finished(job)) delete status.startTime;
      registry.mutate(R.jobs, ns, name, (o) => void (o.status = status), { subresource: 'status' });
      return again;
    },
  };
}
