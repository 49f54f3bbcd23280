// Lab step 5: wait until Hubble Relay, Hubble UI and every demo Deployment is Available (300 s, as the guide).
import { AppsV1Api } from '@kubernetes/client-node';
import { InfraError } from '../lib/errors.ts';
import { callApi } from '../lib/kube/errors.ts';
import { deploymentAvailable, explainDeployment, pollUntil } from '../lib/kube/rollout.ts';
import { defineTask, type LabContext } from '../lib/lab/task.ts';
import { runStandalone } from '../lib/lab/standalone.ts';

export const demoNamespace = 'genai-network-demo';

/** The Deployments the lab waits for, as [namespace, name]. */
export function awaitedDeployments(ctx: LabContext): [string, string][] {
  const hubble: [string, string][] = ctx.shared.helmRelay ? [] : [['kube-system', 'hubble-relay'], ['kube-system', 'hubble-ui']];
  return [...hubble, [demoNamespace, 'agent-coordinator'], [demoNamespace, 'document-agent'], [demoNamespace, 'llm-service']];
}

export const timeoutMs = 300_000;

async function unavailable(ctx: LabContext): Promise<string[]> {
  const apps = ctx.kc.makeApiClient(AppsV1Api);
  const pending: string[] = [];
  for (const [namespace, name] of awaitedDeployments(ctx)) {
    const d = await callApi(`read Deployment ${namespace}/${name}`, () => apps.readNamespacedDeployment({ namespace, name }));
    if (!deploymentAvailable(d)) pending.push(`${namespace}/${name}`);
  }
  return pending;
}

export const waitForDeployments = defineTask({
  id: 'wait',
  title: 'Wait for Hubble and the demo to be available',
  kind: 'action',
  async plan(ctx) {
    const pending = await unavailable(ctx);
    return { changes: [], notes: pending.length ? [`waiting for ${pending.join(', ')}`] : ['every Deployment is available'] };
  },
  async apply(ctx) {
    try {
      await pollUntil('deployments', async () => {
        const pending = await unavailable(ctx);
        return pending.length ? `not yet available: ${pending.join(', ')}` : undefined;
      }, { timeoutMs, onProgress: (l) => ctx.report.progress(l), signal: ctx.signal });
    } catch (err) {
      const pending = await unavailable(ctx);
      const why: string[] = [];
      for (const ref of pending) {
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
await runStandalone(import.meta.url, waitForDeployments);
