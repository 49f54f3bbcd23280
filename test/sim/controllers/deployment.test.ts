// Deployments through client-node: ReplicaSets with owners and hashes, pods with suffixes, rolling replacement, conditions.
import t from 'tap';
import { AppsV1Api, CoreV1Api, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { testCluster, waitFor } from '../helpers.ts';
import { kubeConfigOf } from '../../fixtures/sim-kube.ts';

const deployment = (image: string, replicas = 3): V1Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } },
  },
});

t.test('a Deployment becomes a ReplicaSet and pods, reports availability, and rolls to a new template', async (t) => {
  const c = await testCluster(t);
  const kc = kubeConfigOf(c);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  await objects.patch(deployment('nginx:1.27'), undefined, undefined, 'test', true, PatchStrategy.ServerSideApply);

  const d = await waitFor('available', async () => {
    const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });
    return d.status?.availableReplicas === 3 && d.status.conditions?.find((x) => x.type === 'Progressing')?.reason === 'NewReplicaSetAvailable' ? d : undefined;
  });
  t.equal(d.status?.observedGeneration, 1);
  t.match(d.status?.conditions, [
    { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
    { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
  ]);
  t.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1');
  const [rs] = (await apps.listNamespacedReplicaSet({ namespace: 'default' })).items;
  const hash = rs!.metadata!.labels!['pod-template-hash']!;
  t.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  t.equal(rs!.metadata!.name, `web-${hash}`);
  t.match(rs!.metadata!.ownerReferences, [{ kind: 'Deployment', name: 'web', uid: d.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
  const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' })).items;
  t.equal(pods.length, 3);
  for (const p of pods) {
    t.match(p.metadata!.name, new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    t.equal(p.status?.phase, 'Running');
    t.match(p.status?.podIP, /^127\.244\.[12]\.\d+$/, 'workers only: the control plane is tainted');
  }

  await objects.patch(deployment('nginx:1.28'), undefined, undefined, 'test', true, PatchStrategy.ServerSideApply);
  const rolled = await waitFor('rolled', async () => {
    const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });
    return d.status?.updatedReplicas === 3 && d.status.replicas === 3 && d.status.availableReplicas === 3 && d.status.observedGeneration === 2 ? d : undefined;
  });
  t.equal(rolled.metadata?.annotations?.['deployment.kubernetes.io/revision'], '2');
  const sets = (await apps.listNamespacedReplicaSet({ namespace: 'default' })).items;
  t.same(sets.map((s) => s.spec?.replicas).sort(), [0, 3], 'the old ReplicaSet is kept, scaled to 0');
  const images = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' })).items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => p.spec?.containers[0]?.image);
  t.same(images, ['nginx:1.28', 'nginx:1.28', 'nginx:1.28']);
  const events = (await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=Deployment' })).items.map((e) => e.message);
  t.ok(events.some((m) => /^Scaled down replica set web-\w+ to 0/.test(m ?? '')));

  // Back to the first template, its fields in another order: the first ReplicaSet comes back as revision 3.
  await apps.patchNamespacedDeployment(
    {
      name: 'web',
      namespace: 'default',
      body: { spec: { template: { spec: { containers: [{ image: 'nginx:1.27', name: 'web' }] }, metadata: { labels: { app: 'web' } } } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  const back = await waitFor('rolled back', async () => {
    const sets = (await apps.listNamespacedReplicaSet({ namespace: 'default' })).items;
    const first = sets.find((x) => x.metadata?.name === rs!.metadata!.name);
    return first?.status?.readyReplicas === 3 ? sets : undefined;
  });
  t.equal(back.length, 2, 'no third ReplicaSet');
  t.equal(back.find((x) => x.metadata?.name === rs!.metadata!.name)?.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');

  await apps.patchNamespacedDeploymentScale(
    { name: 'web', namespace: 'default', body: { spec: { replicas: 1 } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await waitFor('scaled', async () => (await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' })).status?.replicas === 1);
  const scale = await apps.readNamespacedDeploymentScale({ name: 'web', namespace: 'default' });
  t.match(scale, { spec: { replicas: 1 }, status: { replicas: 1, selector: 'app=web' } });
});

t.test('an image that cannot be pulled leaves the Deployment unavailable with events saying why', async (t) => {
  const c = await testCluster(t);
  const kc = kubeConfigOf(c);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('bad.example/nope:1', 1) });
  const pod = await waitFor('pull failure', async () =>
    (await core.listNamespacedPod({ namespace: 'default' })).items.find((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull'),
  );
  t.equal(pod.status?.phase, 'Pending');
  const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });
  t.match(
    d.status?.conditions?.find((x) => x.type === 'Available'),
    { status: 'False', reason: 'MinimumReplicasUnavailable' },
  );
  const events = await waitFor('events', async () => {
    const list = (await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${pod.metadata!.name}` })).items;
    return list.some((e) => e.reason === 'Failed') ? list : undefined;
  });
  t.match(
    events.find((e) => e.reason === 'Failed' && e.message?.startsWith('Failed to pull')),
    { type: 'Warning', message: /^Failed to pull image "bad\.example\/nope:1"/, involvedObject: { kind: 'Pod', fieldPath: 'spec.containers{web}' } },
  );
});
