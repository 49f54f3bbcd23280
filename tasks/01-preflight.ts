// Lab step 1: is the cluster ready for the lab? API reachable, Cilium running, RBAC for every verb the lab uses
// (each task declares the access it needs).
import { AppsV1Api, AuthorizationV1Api, VersionApi } from '@kubernetes/client-node';
import { InfraError } from '../lib/errors.ts';
import { callApi, isNotFound } from '../lib/kube/errors.ts';
import { pollUntil } from '../lib/kube/rollout.ts';
import { accessNeeded, defineTask, describeAccess, type LabContext } from '../lib/lab/task.ts';
import { isEntryPoint, runTaskStandalone } from './standalone.ts';

export const ciliumReadyTimeoutMs = 120_000;

async function checkAccess(ctx: LabContext): Promise<string[]> {
  const authz = ctx.kc.makeApiClient(AuthorizationV1Api);
  const denied: string[] = [];
  for (const a of accessNeeded(ctx.tasks)) {
    const review = await callApi('check RBAC with a SelfSubjectAccessReview', () =>
      authz.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { verb: a.verb, group: a.group, resource: a.resource, namespace: a.namespace, subresource: a.subresource } },
        },
      }),
    );
    if (!review.status?.allowed) {
      denied.push(describeAccess(a));
    }
  }
  return denied;
}

export const preflight = defineTask({
  id: 'preflight',
  title: 'Preflight: API, Cilium, RBAC',
  kind: 'setup',
  access: [
    { verb: 'get', group: 'apps', resource: 'deployments', namespace: 'kube-system' },
    { verb: 'get', group: 'apps', resource: 'daemonsets', namespace: 'kube-system' },
  ],
  async plan(ctx) {
    const notes: string[] = [];
    const version = await callApi('reach the Kubernetes API', () => ctx.kc.makeApiClient(VersionApi).getCode());
    notes.push(`Kubernetes ${version.gitVersion} at ${ctx.target.description}`);
    const apps = ctx.kc.makeApiClient(AppsV1Api);
    try {
      const relay = await apps.readNamespacedDeployment({ namespace: 'kube-system', name: 'hubble-relay' });
      if (relay.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'Helm') {
        ctx.shared.helmRelay = true;
        notes.push('Hubble Relay is already installed by Helm: deploy-hubble will leave it alone');
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return { changes: [], notes };
  },
  async apply() {},
  async verify(ctx) {
    const apps = ctx.kc.makeApiClient(AppsV1Api);
    // A cluster that just started (or agents restarting) gets a little time for the agents to become ready.
    await pollUntil(
      'Cilium agents',
      async () => {
        const ds = await callApi('read DaemonSet kube-system/cilium (is Cilium installed?)', () =>
          apps.readNamespacedDaemonSet({ namespace: 'kube-system', name: 'cilium' }),
        );
        const want = ds.status?.desiredNumberScheduled ?? 0;
        const ready = ds.status?.numberReady ?? 0;
        return want > 0 && ready >= want ? undefined : `${ready} of ${want} agents ready`;
      },
      { timeoutMs: ciliumReadyTimeoutMs, signal: ctx.signal, onProgress: (l) => ctx.progress.progress(l) },
    ).catch((err: Error) => {
      throw new InfraError(`Cilium is not ready: ${err.message}`, { hint: 'check `kubectl -n kube-system get pods -l k8s-app=cilium`' });
    });
    const denied = await checkAccess(ctx);
    if (denied.length) {
      throw new InfraError(`the kubeconfig user may not: ${denied.join('; ')}`, { hint: 'grant these verbs (e.g. a cluster-admin binding for the lab)' });
    }
  },
});

export default preflight;
if (isEntryPoint(import.meta.url)) runTaskStandalone(preflight);
