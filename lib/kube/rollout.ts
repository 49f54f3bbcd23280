// Waiting for Deployments, DaemonSets and Jobs the way kubectl rollout status / wait do, with reasons on timeout.
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1DaemonSet,
  type V1Deployment,
  type V1Job,
} from '@kubernetes/client-node';
import { InfraError } from '../errors.ts';
import { callApi } from './errors.ts';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

/** kubectl rollout status' rule for a Deployment: returns a progress line, or undefined when rolled out. */
export function deploymentPending(d: V1Deployment): string | undefined {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return 'waiting for the rollout to be observed';
  const progressing = s.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return `progress deadline exceeded: ${progressing.message ?? ''}`;
  if ((s.updatedReplicas ?? 0) < want) return `${s.updatedReplicas ?? 0} of ${want} updated replicas`;
  if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0)) return `${(s.replicas ?? 0) - (s.updatedReplicas ?? 0)} old replicas pending termination`;
  if ((s.availableReplicas ?? 0) < (s.updatedReplicas ?? 0)) return `${s.availableReplicas ?? 0} of ${s.updatedReplicas} updated replicas available`;
  return undefined;
}

/** kubectl rollout status' rule for a DaemonSet. */
export function daemonSetPending(ds: V1DaemonSet): string | undefined {
  const s = ds.status;
  if (!s || (s.observedGeneration ?? 0) < (ds.metadata?.generation ?? 0)) return 'waiting for the rollout to be observed';
  if ((s.updatedNumberScheduled ?? 0) < s.desiredNumberScheduled) {
    return `${s.updatedNumberScheduled ?? 0} of ${s.desiredNumberScheduled} updated pods`;
  }
  if ((s.numberAvailable ?? 0) < s.desiredNumberScheduled) return `${s.numberAvailable ?? 0} of ${s.desiredNumberScheduled} updated pods available`;
  return undefined;
}

export function deploymentAvailable(d: V1Deployment): boolean {
  return d.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ?? false;
}

export function jobFinished(job: V1Job): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? []) {
    if (c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed')) return c.type;
  }
  return undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new InfraError('interrupted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Polls `check` until it returns undefined (done) or the timeout passes; the last pending line explains a timeout. */
export async function pollUntil(what: string, check: () => Promise<string | undefined>, opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let interval = opts.intervalMs ?? 200;
  let last: string | undefined;
  for (;;) {
    const pending = await check();
    if (pending === undefined) return;
    if (pending !== last) opts.onProgress?.(`${what}: ${pending}`);
    last = pending;
    if (Date.now() >= deadline) throw new InfraError(`timed out after ${Math.round(opts.timeoutMs / 1000)}s waiting for ${what}: ${pending}`);
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), opts.signal);
    interval = Math.min(interval * 1.5, 2000);
  }
}

export async function waitForDeploymentRollout(kc: KubeConfig, namespace: string, name: string, opts: WaitOptions): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  await pollUntil(
    `deployment ${namespace}/${name}`,
    async () => {
      const d = await callApi(`read Deployment ${namespace}/${name}`, () => apps.readNamespacedDeployment({ namespace, name }));
      return deploymentPending(d);
    },
    opts,
  );
}

export async function waitForDaemonSetRollout(kc: KubeConfig, namespace: string, name: string, opts: WaitOptions): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  await pollUntil(
    `daemon set ${namespace}/${name}`,
    async () => {
      const ds = await callApi(`read DaemonSet ${namespace}/${name}`, () => apps.readNamespacedDaemonSet({ namespace, name }));
      return daemonSetPending(ds);
    },
    opts,
  );
}

/** `kubectl rollout restart`: a new template annotation makes the controller replace every pod. */
export async function restartDaemonSet(kc: KubeConfig, namespace: string, name: string, at = new Date()): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  const patch = { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': at.toISOString() } } } } };
  await callApi(`restart DaemonSet ${namespace}/${name}`, () => apps.patchNamespacedDaemonSet({ namespace, name, body: patch }, setMergePatch()));
}

/** client-node 1.x sends JSON patch by default; this option asks for a merge patch instead. */
export function setMergePatch() {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
}

/** Why a Deployment is not available: its pods' phases, container states and recent warning events. */
export async function explainDeployment(kc: KubeConfig, namespace: string, name: string): Promise<string[]> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const lines: string[] = [];
  const d = await callApi(`read Deployment ${namespace}/${name}`, () => apps.readNamespacedDeployment({ namespace, name }));
  const selector = Object.entries(d.spec?.selector.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = await callApi(`list pods of ${namespace}/${name}`, () => core.listNamespacedPod({ namespace, labelSelector: selector }));
  if (pods.items.length === 0) lines.push(`no pods match ${selector}`);
  for (const pod of pods.items) {
    const states = (pod.status?.containerStatuses ?? []).map((c) => {
      const st = c.state?.waiting
        ? `waiting (${c.state.waiting.reason ?? ''}${c.state.waiting.message ? `: ${c.state.waiting.message}` : ''})`
        : c.state?.terminated
          ? `terminated (${c.state.terminated.reason ?? ''}, exit ${c.state.terminated.exitCode})`
          : c.ready
            ? 'running, ready'
            : 'running, not ready';
      return `${c.name} ${st}`;
    });
    lines.push(`pod ${pod.metadata?.name}: ${pod.status?.phase ?? 'Unknown'}${states.length ? `; ${states.join('; ')}` : ''}`);
  }
  const events = await callApi(`list events in ${namespace}`, () => core.listNamespacedEvent({ namespace }));
  const names = new Set([name, ...pods.items.map((p) => p.metadata?.name)]);
  for (const ev of events.items.filter((e) => e.type === 'Warning' && names.has(e.involvedObject.name)).slice(-5)) {
    lines.push(`event ${ev.reason}: ${ev.message ?? ''} (${ev.involvedObject.kind} ${ev.involvedObject.name})`);
  }
  return lines;
}

export async function waitForJob(kc: KubeConfig, namespace: string, name: string, opts: WaitOptions): Promise<'Complete' | 'Failed'> {
  const batch = kc.makeApiClient(BatchV1Api);
  let result: 'Complete' | 'Failed' | undefined;
  await pollUntil(
    `job ${namespace}/${name}`,
    async () => {
      const job = await callApi(`read Job ${namespace}/${name}`, () => batch.readNamespacedJob({ namespace, name }));
      result = jobFinished(job);
      return result ? undefined : `${job.status?.active ?? 0} active, ${job.status?.succeeded ?? 0} succeeded, ${job.status?.failed ?? 0} failed`;
    },
    opts,
  );
  return result!;
}

/**
 * Restarts a DaemonSet whose config was just written, so that its new pods start strictly after the write at
 * the API's one-second resolution (an agent started in the same second would count as running the old config).
 */
export async function restartDaemonSetAfterConfigWrite(kc: KubeConfig, namespace: string, name: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
  await sleep(1000 - (Date.now() % 1000) + 5, opts.signal);
  await restartDaemonSet(kc, namespace, name);
}
