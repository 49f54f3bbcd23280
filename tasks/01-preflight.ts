// Lab step 1: is the cluster ready for the lab? API reachable, Cilium running, RBAC for every verb the lab uses.
import { AppsV1Api, AuthorizationV1Api, VersionApi } from '@kubernetes/client-node';
import { InfraError } from '../lib/errors.ts';
import { callApi, isNotFound } from '../lib/kube/errors.ts';
import { pollUntil } from '../lib/kube/rollout.ts';
import { defineTask, type LabContext } from '../lib/lab/task.ts';
import { runStandalone } from '../lib/lab/standalone.ts';

export const ciliumReadyTimeoutMs = 120_000;

/** Every (verb, group, resource, namespace) the lab's tasks call. */
export const requiredAccess: { verb: string; group: string; resource: string; namespace?: string; subresource?: string }[] = [
  { verb: 'get', group: '', resource: 'configmaps', namespace: 'kube-system' },
  { verb: 'patch', group: '', resource: 'configmaps', namespace: 'kube-system' },
  { verb: 'get', group: 'apps', resource: 'daemonsets', namespace: 'kube-system' },
  { verb: 'patch', group: 'apps', resource: 'daemonsets', namespace: 'kube-system' },
  { verb: 'list', group: '', resource: 'pods', namespace: 'kube-system' },
  { verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'kube-system' },
  { verb: 'patch', group: '', resource: 'services', namespace: 'kube-system' },
  { verb: 'create', group: '', resource: 'pods', namespace: 'kube-system', subresource: 'portforward' },
  { verb: 'patch', group: '', resource: 'namespaces' },
  { verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'genai-network-demo' },
  { verb: 'patch', group: '', resource: 'services', namespace: 'genai-network-demo' },
  { verb: 'patch', group: '', resource: 'configmaps', namespace: 'genai-network-demo' },
  { verb: 'patch', group: 'networking.k8s.io', resource: 'networkpolicies', namespace: 'genai-network-demo' },
  { verb: 'patch', group: 'cilium.io', resource: 'ciliumnetworkpolicies', namespace: 'genai-network-demo' },
  { verb: 'create', group: 'batch', resource: 'jobs', namespace: 'genai-network-demo' },
  { verb: 'delete', group: 'batch', resource: 'jobs', namespace: 'genai-network-demo' },
  { verb: 'create', group: '', resource: 'pods', namespace: 'genai-network-demo' },
  { verb: 'get', group: '', resource: 'pods', namespace: 'genai-network-demo', subresource: 'log' },
  { verb: 'list', group: '', resource: 'events', namespace: 'genai-network-demo' },
];

async function checkAccess(ctx: LabContext): Promise<string[]> {
  const authz = ctx.kc.makeApiClient(AuthorizationV1Api);
  const denied: string[] = [];
  for (const a of requiredAccess) {
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
      denied.push(`${a.verb} ${a.group ? `${a.resource}.${a.group}` : a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.namespace ? ` in ${a.namespace}` : ''}`);
    }
  }
  return denied;
}

export const preflight = defineTask({
  id: 'preflight',
  title: 'Preflight: API, Cilium, RBAC',
  kind: 'setup',
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
    await pollUntil('Cilium agents', async () => {
      const ds = await callApi('read DaemonSet kube-system/cilium (is Cilium installed?)', () =>
        apps.readNamespacedDaemonSet({ namespace: 'kube-system', name: 'cilium' }),
      );
      const want = ds.status?.desiredNumberScheduled ?? 0;
      const ready = ds.status?.numberReady ?? 0;
      return want > 0 && ready >= want ? undefined : `${ready} of ${want} agents ready`;
    }, { timeoutMs: ciliumReadyTimeoutMs, signal: ctx.signal, onProgress: (l) => ctx.report.progress(l) }).catch((err: Error) => {
      throw new InfraError(`Cilium is not ready: ${err.message}`, { hint: 'check `kubectl -n kube-system get pods -l k8s-app=cilium`' });
    });
    const denied = await checkAccess(ctx);
    if (denied.length) {
      throw new InfraError(`the kubeconfig user may not: ${denied.join('; ')}`, { hint: 'grant these verbs (e.g. a cluster-admin binding for the lab)' });
    }
  },
});

export default preflight;
await runStandalone(import.meta.url, preflight);
