// Identity labels as Cilium's default label filter leaves them, and one identity number per label set.
import t from 'tap';
import { IdentityAllocator, identityLabels, isIdentityLabel, podEndpointLabels } from '../../../lib/sim/hubble/identity.ts';

t.test("Cilium's default label filter: which keys make up an identity", async (t) => {
  const kept = [
    'app',
    'tier',
    'job-name',
    'batch.kubernetes.io/job-name',
    'app.kubernetes.io/name',
    'app.kubernetes.io/part-of',
    'io.kubernetes.pod.namespace',
    'io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name',
    'io.cilium.k8s.policy.cluster',
    'io.cilium.k8s.policy.serviceaccount',
    'sigs.k8s.io/owner',
    'example.com/kubernetes.io',
  ];
  const dropped = [
    'pod-template-hash',
    'controller-revision-hash',
    'pod-template-generation',
    'controller-uid',
    'batch.kubernetes.io/controller-uid',
    'batch.kubernetes.io/job-completion-index',
    'statefulset.kubernetes.io/pod-name',
    'apps.kubernetes.io/pod-index',
    'kubernetes.io/os',
    'io.kubernetes.container.name',
    'k8s.io/cluster-service',
    'node.beta.kubernetes.io/instance-type',
    'annotation.foo',
    'etcd_node',
  ];
  for (const key of kept) t.ok(isIdentityLabel(key), `${key} is kept`);
  for (const key of dropped) t.notOk(isIdentityLabel(key), `${key} is left out`);
  t.ok(isIdentityLabel('io.kubernetes.pod.namespace') && !isIdentityLabel('io.kubernetes.pod.name'), 'an include matching more of the key wins over an ignore');
  const labels = { app: 'web', 'pod-template-hash': '5c7f8d9b4' };
  t.same(identityLabels(labels), { app: 'web' });
  const clean = { app: 'web' };
  t.equal(identityLabels(clean), clean, 'a label set with nothing to leave out is returned as it is');
});

t.test("a Job's pods: the controller's uid is left out of the labels, the Job's name stays", async (t) => {
  const job = (uid: string) => ({
    app: 'fetcher',
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': 'fetch',
    'controller-uid': uid,
    'job-name': 'fetch',
  });
  const labels = podEndpointLabels({ namespace: 'shop', labels: job('6a1f0c2e-0001'), serviceAccount: 'fetcher', clusterName: 'kind-sim' });
  t.same(labels, [
    'k8s:app=fetcher',
    'k8s:batch.kubernetes.io/job-name=fetch',
    'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=shop',
    'k8s:io.cilium.k8s.policy.cluster=kind-sim',
    'k8s:io.cilium.k8s.policy.serviceaccount=fetcher',
    'k8s:io.kubernetes.pod.namespace=shop',
    'k8s:job-name=fetch',
  ]);
  const ids = new IdentityAllocator();
  const rerun = podEndpointLabels({ namespace: 'shop', labels: job('6a1f0c2e-0002'), serviceAccount: 'fetcher', clusterName: 'kind-sim' });
  t.equal(ids.identityFor(rerun), ids.identityFor(labels), 'a second run of the Job has the same identity');
});
