// Label selectors: Kubernetes LabelSelector semantics and Cilium's source-prefixed keys and namespace scoping.
import t from 'tap';
import {
  compileCiliumPeerSelector,
  endpointCiliumLabels,
  labelSelectorMatches,
  parseCiliumKey,
  podCiliumLabels,
  type LabelSelector,
} from '../../lib/policy/selectors.ts';
import type { PodEndpoint } from '../../lib/policy/types.ts';

t.test('Kubernetes LabelSelector: matchLabels and matchExpressions AND together; empty matches all', async (t) => {
  const labels = { app: 'web', tier: 'front' };
  const cases: [LabelSelector, boolean][] = [
    [{}, true],
    [{ matchLabels: { app: 'web' } }, true],
    [{ matchLabels: { app: 'web', tier: 'back' } }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, false],
    [{ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'env', operator: 'Exists' }] }, false],
    [{ matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, true],
    [{ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    [{ matchLabels: { app: '' } }, false],
  ];
  for (const [sel, want] of cases) t.equal(labelSelectorMatches(sel, labels), want, JSON.stringify(sel));
  t.equal(labelSelectorMatches({ matchLabels: { app: '' } }, { app: '' }), true, 'an empty value is a value');
  t.throws(() => labelSelectorMatches({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }, labels), {
    message: 'selector.matchExpressions[0].operator: "Gt" is not one of In, NotIn, Exists, DoesNotExist',
  });
  t.throws(() => labelSelectorMatches({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['1'] }] }, labels), {
    message: 'selector.matchExpressions[0].values: must be empty when operator is Exists',
  });
});

t.test('Cilium keys: a source prefix restricts the source, a plain key matches any source', async (t) => {
  t.same(parseCiliumKey('k8s:app'), { source: 'k8s', key: 'app' });
  t.same(parseCiliumKey('app.kubernetes.io/name'), { source: 'any', key: 'app.kubernetes.io/name' });
  t.same(parseCiliumKey('reserved:host'), { source: 'reserved', key: 'host' });
  t.same(parseCiliumKey('any:io.kubernetes.pod.namespace'), { source: 'any', key: 'io.kubernetes.pod.namespace' });
});

t.test('a pod carries the labels Cilium derives for its identity', async (t) => {
  const pod: PodEndpoint = { kind: 'pod', namespace: 'demo', labels: { app: 'web' }, namespaceLabels: { team: 'a' }, serviceAccount: 'sa1' };
  const labels = [...podCiliumLabels(pod, 'c1').values()].flat().map((l) => `${l.source}:${l.key}=${l.value}`);
  t.same(labels.sort(), [
    'k8s:app=web',
    'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=demo',
    'k8s:io.cilium.k8s.namespace.labels.team=a',
    'k8s:io.cilium.k8s.policy.cluster=c1',
    'k8s:io.cilium.k8s.policy.serviceaccount=sa1',
    'k8s:io.kubernetes.pod.namespace=demo',
  ]);
  const flat = (ep: Parameters<typeof endpointCiliumLabels>[0], local?: string) =>
    [...endpointCiliumLabels(ep, local, 'default').values()].flat().map((l) => `${l.source}:${l.key}`);
  t.same(flat({ kind: 'node', name: 'n1' }, 'n1'), ['reserved:host']);
  t.same(flat({ kind: 'node', name: 'n1', kubeApiserver: true }, 'n2'), ['reserved:remote-node', 'reserved:kube-apiserver']);
  t.same(flat({ kind: 'world', ip: '192.0.2.1' }), ['reserved:world']);
});

t.test('peer selectors: scoping to the policy namespace and its exceptions', async (t) => {
  const inNs = (ns: string, labels: Record<string, string> = { app: 'web' }): PodEndpoint => ({
    kind: 'pod',
    namespace: ns,
    labels,
    namespaceLabels: { env: ns === 'prod' ? 'prod' : 'dev' },
  });
  const match = (sel: LabelSelector, scope: string | undefined, pod: PodEndpoint) =>
    compileCiliumPeerSelector(sel, 'sel', { namespace: scope })(podCiliumLabels(pod, 'default'));
  t.equal(match({ matchLabels: { app: 'web' } }, 'prod', inNs('prod')), true);
  t.equal(match({ matchLabels: { app: 'web' } }, 'prod', inNs('dev')), false, 'scoped to the policy namespace');
  t.equal(match({ matchLabels: { app: 'web', 'k8s:io.kubernetes.pod.namespace': 'dev' } }, 'prod', inNs('dev')), true, 'unless it names one');
  t.equal(match({ matchLabels: { 'io.cilium.k8s.namespace.labels.env': 'dev' } }, 'prod', inNs('dev')), true, 'or a namespace label');
  t.equal(match({ matchLabels: { 'k8s:app': 'web' } }, undefined, inNs('dev')), true, 'clusterwide: any namespace');
  const world = endpointCiliumLabels({ kind: 'world', ip: '192.0.2.1' }, undefined, 'default');
  t.equal(compileCiliumPeerSelector({}, 'sel', { namespace: undefined })(world), false, 'clusterwide {} selects pods only');
  t.equal(compileCiliumPeerSelector({ matchLabels: { 'reserved:world': '' } }, 'sel', { namespace: 'prod' })(world), true, 'reserved labels are never scoped');
});
