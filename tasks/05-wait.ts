// Lab step 5: wait until Hubble Relay, Hubble UI and every demo Deployment is Available (300 s, as the guide).
import { AppsV1Api } from '@kubernetes/client-node';
import { InfraError } from '../lib/errors.ts';
import { callApi, isNotFound } from '../lib/kube/errors.ts';
import { deploymentAvailable, explainDeployment, pollUntil } from '../lib/kube/rollout.ts';
import { demoManifests, demoNamespace, hubbleManifests, type KubeObject } from '../lib/lab/manifests.ts';
import { defineTask, type LabContext } from '../lib/lab/task.ts';
import { isEntryPoint, runTaskStandalone } from './standalone.ts';

interface Awaited {
  namespace: string;
  name: string;
  /** The task that creates it, for a plan made before that task ran (a dry run on a fresh cluster). */
  createdBy: string;
}

/** The Deployments the lab waits for: those of deploy-hubble (unless Helm manages Relay) and of deploy-demo. */
export function awaitedDeployments(ctx: LabContext): Awaited[] {
  const deployments = (objects: KubeObject[], createdBy: string) =>
    objects.filter((o) => o.kind === 'Deployment').map((o) => ({ namespace: o.metadata.namespace ?? 'default', name: o.metadata.name, createdBy }));
  return [...(ctx.shared.helmRelay ? [] : deployments(hubbleManifests(), 'deploy-hubble')), ...deployments(demoManifests(), 'deploy-demo')];
}

export const timeoutMs = 300_000;

interface Pending {
  ref: string;
  /** Why it is pending, when not simply unavailable. */
  why?: string;
}

/** The awaited Deployments not yet available; one not created yet is said so, with the task that creates it. */
async function unavailable(ctx: LabContext): Promise<Pending[]> {
  const apps = ctx.kc.makeApiClient(AppsV1Api);
  const pending: Pending[] = [];
  for (const { namespace, name, createdBy } of awaitedDeployments(ctx)) {
    const d = await callApi(`read Deployment ${namespace}/${name}`, () =>
      apps.readNamespacedDeployment({ namespace, name }).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      }),
    );
    if (!d) pending.push({ ref: `${namespace}/${name}`, why: `not created yet: ${createdBy} creates it` });
    else if (!deploymentAvailable(d)) pending.push({ ref: `${namespace}/${name}` });
  }
  return pending;
}

const describe = (pending: Pending[]) => pending.map((p) => (p.why ? `${p.ref} (${p.why})` : p.ref)).join(', ');

export const waitForDeployments = defineTask({
  id: 'wait',
  title: 'Wait for Hubble and the demo to be available',
  kind: 'action',
  access: [
    { verb: 'get', group: 'apps', resource: 'deployments', namespace: 'kube-system' },
    { verb: 'get', group: 'apps', resource: 'deployments', namespace: demoNamespace },
    { verb: 'list', group: '', resource: 'events', namespace: demoNamespace },
  ],
  async plan(ctx) {
    const pending = await unavailable(ctx);
    return { changes: [], notes: pending.length ? [`waiting for ${describe(pending)}`] : ['every Deployment is available'] };
  },
  async apply(ctx) {
    try {
      await pollUntil(
        'deployments',
        async () => {
          const pending = await unavailable(ctx);
          return pending.length ? `not yet available: ${describe(pending)}` : undefined;
        },
        { timeoutMs, onProgress: (l) => ctx.progress.progress(l), signal: ctx.signal },
      );
    } catch (err) {
      const pending = await unavailable(ctx);
      const why: string[] = [];
      for (const p of pending) {
        if (p.why) {
          why.push(`${p.ref}: ${p.why}`);
          continue;
        }
        const [namespace, name] = p.ref.split('/') as [string, string];
        why.push(`${p.ref}:`, ...(await explainDeployment(ctx.kc, namespace, name)).map((l) => `  ${l}`));
      }
      throw new InfraError(`${(err as Error).message}\n${why.join('\n')}`);
    }
  },
  async verify(ctx) {
    const pending = await unavailable(ctx);
    if (pending.length) throw new InfraError(`not available: ${describe(pending)}`);
  },
});

export default waitForDeployments;
if (isEntryPoint(import.meta.url)) runTaskStandalone(waitForDeployments);
