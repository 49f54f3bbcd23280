// Cascading deletion: owned objects go with their owner (background and foreground), orphaning keeps them, namespaces empty out.
import t from 'tap';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { raw, testCluster, waitFor } from '../helpers.ts';
import { kubeConfigOf } from '../../fixtures/sim-kube.ts';

const web = {
  metadata: { name: 'web' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1' }] } },
  },
};

t.test('deleting a Deployment removes its ReplicaSets and pods; orphaning keeps them', async (t) => {
  const c = await testCluster(t);
  const kc = kubeConfigOf(c);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const pods = async () => (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' })).items;
  await apps.createNamespacedDeployment({ namespace: 'default', body: web });
  await waitFor('pods', async () => (await pods()).length === 2);
  const gone = await raw(c, 'DELETE', '/apis/apps/v1/namespaces/default/deployments/web');
  t.match(gone.json, { kind: 'Status', status: 'Success', details: { name: 'web', group: 'apps', kind: 'deployments' } });
  await waitFor('cascade', async () => (await pods()).length === 0 && (await apps.listNamespacedReplicaSet({ namespace: 'default' })).items.length === 0);

  await apps.createNamespacedDeployment({ namespace: 'default', body: web });
  await waitFor('pods again', async () => (await pods()).filter((p) => p.status?.phase === 'Running').length === 2);
  const fg = await raw(c, 'DELETE', '/apis/apps/v1/namespaces/default/deployments/web', { body: { propagationPolicy: 'Foreground' } });
  t.ok(fg.json.metadata.deletionTimestamp, 'foreground: the owner waits with a deletionTimestamp');
  t.ok(fg.json.metadata.finalizers.includes('foregroundDeletion'));
  await waitFor(
    'owner gone after dependents',
    async () => (await raw(c, 'GET', '/apis/apps/v1/namespaces/default/deployments/web')).status === 404 && (await pods()).length === 0,
  );

  await apps.createNamespacedDeployment({ namespace: 'default', body: web });
  await waitFor('pods a third time', async () => (await pods()).length === 2);
  await raw(c, 'DELETE', '/apis/apps/v1/namespaces/default/deployments/web?propagationPolicy=Orphan');
  await waitFor('deployment gone', async () => (await raw(c, 'GET', '/apis/apps/v1/namespaces/default/deployments/web')).status === 404);
  const [rs] = (await apps.listNamespacedReplicaSet({ namespace: 'default' })).items;
  t.ok(rs, 'the ReplicaSet stays');
  t.notOk(rs?.metadata?.ownerReferences, 'without its owner reference');
});

t.test('deleting a namespace marks it Terminating, removes its contents, then the namespace', async (t) => {
  const c = await testCluster(t);
  const kc = kubeConfigOf(c);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'demo' } } });
  await apps.createNamespacedDeployment({ namespace: 'demo', body: web });
  // Its finalizer holds the namespace in Terminating until the test removes it, however fast the rest goes.
  await core.createNamespacedConfigMap({ namespace: 'demo', body: { metadata: { name: 'cfg', finalizers: ['example.com/hold'] } } });
  await waitFor('pods', async () => (await core.listNamespacedPod({ namespace: 'demo' })).items.length === 2);
  const sa = await waitFor('default service account', async () => (await core.listNamespacedServiceAccount({ namespace: 'demo' })).items[0]);
  t.equal(sa.metadata?.name, 'default');
  const deleting = await raw(c, 'DELETE', '/api/v1/namespaces/demo');
  t.equal(deleting.json.status.phase, 'Terminating');
  const refused = await raw(c, 'POST', '/api/v1/namespaces/demo/configmaps', { body: { metadata: { name: 'late' } } });
  t.match(refused.json, {
    code: 403,
    reason: 'Forbidden',
    message: 'configmaps "late" is forbidden: unable to create new content in namespace demo because it is being terminated',
  });
  await waitFor('the pods gone while the held ConfigMap stays', async () => (await core.listNamespacedPod({ namespace: 'demo' })).items.length === 0, 20_000);
  t.equal((await raw(c, 'GET', '/api/v1/namespaces/demo')).json.status.phase, 'Terminating', 'still Terminating');
  const held = await raw(c, 'GET', '/api/v1/namespaces/demo/configmaps/cfg');
  t.ok(held.json.metadata.deletionTimestamp, 'the held ConfigMap is being deleted');
  await raw(c, 'PATCH', '/api/v1/namespaces/demo/configmaps/cfg', { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
  await waitFor('namespace gone', async () => (await raw(c, 'GET', '/api/v1/namespaces/demo')).status === 404);
  t.equal((await core.listPodForAllNamespaces({ fieldSelector: 'metadata.namespace=demo' })).items.length, 0);
  t.equal((await raw(c, 'GET', '/api/v1/namespaces/demo/configmaps')).json.items.length, 0);
});
