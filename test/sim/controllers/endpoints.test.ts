// Services and Endpoints: ready pods' addresses with resolved (named) target ports; kube-dns from the initial state.
import t from 'tap';
import { CoreV1Api } from '@kubernetes/client-node';
import { testCluster, waitFor } from '../helpers.ts';
import { kubeConfigOf } from '../../fixtures/sim-kube.ts';

t.test('a Service lists the ready pods it selects, resolving named ports', async (t) => {
  const c = await testCluster(t);
  const core = kubeConfigOf(c).makeApiClient(CoreV1Api);
  for (const name of ['a', 'b']) {
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name, labels: { app: 'api' } },
        spec: { containers: [{ name: 'c', image: 'nginx:1', ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
    });
  }
  await core.createNamespacedPod({
    namespace: 'default',
    body: { metadata: { name: 'other', labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
  });
  await core.createNamespacedService({
    namespace: 'default',
    body: { metadata: { name: 'api' }, spec: { selector: { app: 'api' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] } },
  });
  const ep = await waitFor('endpoints', async () => {
    const ep = await core.readNamespacedEndpoints({ name: 'api', namespace: 'default' }).catch(() => undefined);
    return ep?.subsets?.[0]?.addresses?.length === 2 ? ep : undefined;
  });
  const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=api' })).items;
  t.same(ep.subsets?.[0]?.addresses?.map((a) => a.ip).sort(), pods.map((p) => p.status?.podIP).sort());
  t.same(ep.subsets?.[0]?.ports, [{ name: 'web', port: 8080, protocol: 'TCP' }]);
  t.match(ep.subsets?.[0]?.addresses?.[0]?.targetRef, { kind: 'Pod', namespace: 'default' });
  await core.deleteNamespacedPod({ name: 'a', namespace: 'default', gracePeriodSeconds: 0 });
  await waitFor(
    'one address left',
    async () => (await core.readNamespacedEndpoints({ name: 'api', namespace: 'default' })).subsets?.[0]?.addresses?.length === 1,
  );

  const dns = await waitFor('kube-dns endpoints', async () => {
    const ep = await core.readNamespacedEndpoints({ name: 'kube-dns', namespace: 'kube-system' });
    return ep.subsets?.[0]?.addresses?.length === 2 ? ep : undefined;
  });
  t.same(dns.subsets?.[0]?.ports?.map((p) => `${p.port}/${p.protocol}`).sort(), ['53/TCP', '53/UDP', '9153/TCP']);
});
