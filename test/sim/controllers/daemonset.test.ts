// DaemonSets: a pod per eligible node, tolerations of the control-plane taint, and rollout restart through the template.
import t from 'tap';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { testCluster, waitFor } from '../helpers.ts';
import { kubeConfigOf } from '../../fixtures/sim-kube.ts';

t.test('the cilium DaemonSet runs one agent per node and a restart replaces every pod', async (t) => {
  const c = await testCluster(t);
  const kc = kubeConfigOf(c);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const ready = () =>
    waitFor('cilium ready', async () => {
      const ds = await apps.readNamespacedDaemonSet({ name: 'cilium', namespace: 'kube-system' });
      const s = ds.status!;
      return s.observedGeneration === ds.metadata?.generation &&
        s.desiredNumberScheduled === 3 &&
        s.updatedNumberScheduled === 3 &&
        s.numberAvailable === 3 &&
        s.numberReady === 3
        ? ds
        : undefined;
    });
  await ready();
  const agents = async () =>
    (await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=cilium' })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const before = await agents();
  t.same(before.map((p) => p.spec?.nodeName).sort(), ['sim-control-plane', 'sim-worker', 'sim-worker2']);
  t.same(before.map((p) => p.status?.podIP).sort(), ['127.18.0.2', '127.18.0.3', '127.18.0.4'], 'host network pods have their node IP');

  await apps.patchNamespacedDaemonSet(
    {
      name: 'cilium',
      namespace: 'kube-system',
      body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  const ds = await ready();
  t.equal(ds.status?.observedGeneration, 2);
  const after = await waitFor('old pods gone', async () => {
    const list = (await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=cilium' })).items;
    return list.length === 3 ? list : undefined;
  });
  t.equal(after.filter((p) => before.some((b) => b.metadata?.uid === p.metadata?.uid)).length, 0, 'every agent pod was replaced');
  t.equal(new Set(after.map((p) => p.metadata?.labels?.['controller-revision-hash'])).size, 1);
});

t.test('a DaemonSet without tolerations skips the tainted control plane; a new node gets a pod', async (t) => {
  const c = await testCluster(t, { nodes: 2 });
  const kc = kubeConfigOf(c);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  await apps.createNamespacedDaemonSet({
    namespace: 'default',
    body: {
      metadata: { name: 'logger' },
      spec: {
        selector: { matchLabels: { app: 'logger' } },
        template: { metadata: { labels: { app: 'logger' } }, spec: { containers: [{ name: 'l', image: 'busybox:1' }] } },
      },
    },
  });
  const ds = await waitFor('scheduled', async () => {
    const ds = await apps.readNamespacedDaemonSet({ name: 'logger', namespace: 'default' });
    return ds.status?.numberReady === 1 ? ds : undefined;
  });
  t.equal(ds.status?.desiredNumberScheduled, 1);
  await core.createNode({
    body: {
      metadata: { name: 'sim-worker9', labels: { 'kubernetes.io/os': 'linux' } },
      spec: { podCIDR: '127.244.9.0/24' },
      status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '127.18.0.11' }] },
    },
  });
  const pods = await waitFor('second pod', async () => {
    const list = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=logger' })).items;
    return list.length === 2 && list.every((p) => p.status?.phase === 'Running') ? list : undefined;
  });
  t.ok(pods.some((p) => p.spec?.nodeName === 'sim-worker9' && /^127\.244\.9\.\d+$/.test(p.status?.podIP ?? '')));
});
