// Lab step 5: wait until Hubble Relay, Hubble UI and every demo Deployment is Available (300 s, as the guide).
import { AppsV1Api } from '@kubernetes/client-node';
import { InfraError } from '../lib/errors.ts';
import { callApi, isNotFound } from '../lib/kube/errors.ts';
import { deploymentAvailable, explainDeployment, pollUntil } from '../lib/kube/rollout.ts';
import { demoNamespace } from '../lib/lab/manifests.ts';
import { defineTask, type LabContext } from '../lib/lab/task.ts';
import { isEntryPoint, runTaskStandalone } from './standalone.ts';

/** The Deployments the lab waits for, as [namespace, name]. */
export function awaitedDeployments(ctx: LabContext): [string, string][] {
  const hubble: [string, string][] = ctx.shared.helmRelay ? [] : [['kube-system', 'hubble-relay'], ['kube-system', 'hubble-ui']];
  return [...hubble, [demoNamespace, 'agent-coordinator'], [demoNamespace, 'document-agent'], [demoNamespace, 'llm-service']];
}

export const timeoutMs = 300_000;

const notCreated = ' (not created yet)';

/** The awaited Deployments not yet available; one not created yet (its task runs earlier) is said so. */
async function unavailable(ctx: LabContext): Promise<string[]> {
  const apps = ctx.kc.makeApiClient(AppsV1Api);
  const pending: string[] = [];
  for (const [namespace, name] of awaitedDeployments(ctx)) {
    const d = await callApi(`read Deployment ${namespace}/${name}`, () =>
      apps.readNamespacedDeployment({ namespace, name }).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      }),
    );
    if (!d) pending.push(`${namespace}/${name}${notCreated}`);
    else if (!deploymentAvailable(d)) pending.push(`${namespace}/${name}`);
  }
  return pending;
}

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
    return { changes: [], notes: pending.length ? [`waiting for ${pending.join(', ')}`] : ['every Deployment is available'] };
  },
  async apply(ctx) {
    try {
      await pollUntil('deployments', async () => {
        const pending = await unavailable(ctx);
        return pending.length ? `not yet available: ${pending.join(', ')}` : undefined;
      }, { timeoutMs, onProgress: (l) => ctx.progress.progress(l), signal: ctx.signal });
    } catch (err) {
      const pending = await unavailable(ctx);
      const why: string[] = [];
      for (const ref of pending) {
        if (ref.endsWith(notCreated)) {
          why.push(ref);
          continue;
        }
        const [namespace, name] = ref.split('/') as [string, string];
        why.push(`${ref}:`, ...(await explainDeployment(ctx.kc, namespace, name)).map((l) => `  ${l}`));
      }
      throw new InfraError(`${(err as Error).message}\n${why.join('\n')}`);
    }
  },
  async verify(ctx) {
    const pending = await unavailable(ctx);
    if (pending.length) throw new InfraError(`not available: ${pending.join(', ')}`);
  },
});

export default waitForDeployments;
if (isEntryPoint(import.meta.url)) runTaskStandalone(waitForDeployments);
