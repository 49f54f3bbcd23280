// Endpoints as the Cilium agent describes them: identities per label set, Hubble endpoints with workloads as Cilium
// derives them, nodes as host or remote-node, everything else as world; kept current as pods and namespaces change.
import t from 'tap';
import { Registry } from '../../../lib/sim/apiserver/registry.ts';
import { R } from '../../../lib/sim/apiserver/resources.ts';
import { Store, type KObject } from '../../../lib/sim/apiserver/store.ts';
import { EndpointDirectory, podWorkload } from '../../../lib/sim/cilium/endpoints.ts';
import type { EndpointInfo } from '../../../lib/sim/net/datapath.ts';

function cluster() {
  const store = new Store();
  const registry = new Registry(store);
  registry.create(R.namespaces, '', { metadata: { name: 'demo', labels: { team: 'ai' } } });
  for (const [i, name] of ['sim-worker', 'sim-worker2'].entries()) {
    registry.create(R.nodes, '', { metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: `127.18.0.${i + 3}` }] } });
  }
  return { store, registry, dir: new EndpointDirectory(store, 'kind-sim') };
}

let ip = 10;
function addPod(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
  extra: Partial<KObject['metadata']> = {},
  spec: Record<string, unknown> = {},
): EndpointInfo {
  const pod = registry.create(R.pods, 'demo', {
    metadata: { name, labels, ...extra },
    spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }], ...spec },
  });
  return { ip: `127.244.1.${ip++}`, namespace: 'demo', name, uid: pod.metadata.uid!, nodeName: 'sim-worker', labels };
}

const owner = (kind: string, name: string) => ({ apiVersion: 'apps/v1', kind, name, uid: `${kind}-${name}`, controller: true });

t.test('workloads as Cilium derives them from the pod alone', async (t) => {
  const pod = (meta: Partial<KObject['metadata']>): KObject => ({ metadata: { name: 'p', ...meta } });
  t.same(
    podWorkload(pod({ generateName: 'web-7d4b9c8f6-', labels: { 'pod-template-hash': '7d4b9c8f6' }, ownerReferences: [owner('ReplicaSet', 'web-7d4b9c8f6')] })),
    { name: 'web', kind: 'Deployment' },
  );
  t.same(
    podWorkload(pod({ generateName: 'rs-', ownerReferences: [owner('ReplicaSet', 'rs')] })),
    { name: 'rs', kind: 'ReplicaSet' },
    'a ReplicaSet of its own',
  );
  t.same(podWorkload(pod({ generateName: 'cilium-', ownerReferences: [owner('DaemonSet', 'cilium')] })), { name: 'cilium', kind: 'DaemonSet' });
  t.same(podWorkload(pod({ generateName: 'report-28912345-', ownerReferences: [owner('Job', 'report-28912345')] })), { name: 'report', kind: 'CronJob' });
  t.same(podWorkload(pod({ generateName: 'once-', ownerReferences: [owner('Job', 'once')] })), { name: 'once', kind: 'Job' });
  t.same(podWorkload(pod({ ownerReferences: [owner('StatefulSet', 'db')] })), undefined, 'a name not generated says nothing (StatefulSet pods)');
  t.same(podWorkload(pod({})), undefined);
});

t.test('pods: labels with namespace and cluster, one identity per label set, one shared Hubble endpoint per pod', async (t) => {
  const { registry, dir } = cluster();
  const rs = { generateName: 'web-5c7f8d9b4-', ownerReferences: [owner('ReplicaSet', 'web-5c7f8d9b4')] };
  const infoA = addPod(registry, 'web-5c7f8d9b4-aaaaa', { app: 'web', 'pod-template-hash': '5c7f8d9b4' }, rs, { serviceAccountName: 'web' });
  const a = dir.pod(infoA);
  const b = dir.pod(addPod(registry, 'web-5c7f8d9b4-bbbbb', { app: 'web', 'pod-template-hash': '5c7f8d9b4' }, rs, { serviceAccountName: 'web' }));
  const other = dir.pod(addPod(registry, 'api', { app: 'api' }));
  t.same(a.hubble.endpoint.labels, [
    'k8s:app=web',
    'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=demo',
    'k8s:io.cilium.k8s.namespace.labels.team=ai',
    'k8s:io.cilium.k8s.policy.cluster=kind-sim',
    'k8s:io.cilium.k8s.policy.serviceaccount=web',
    'k8s:io.kubernetes.pod.namespace=demo',
  ]);
  t.match(a.hubble.endpoint, { namespace: 'demo', pod_name: 'web-5c7f8d9b4-aaaaa', workloads: [{ name: 'web', kind: 'Deployment' }] });
  t.equal(a.hubble.node, 'sim-worker');
  t.equal(a.hubble.endpoint.identity, b.hubble.endpoint.identity, 'replicas share their identity');
  t.not(a.hubble.endpoint.identity, other.hubble.endpoint.identity);
  t.not(a.hubble.endpoint.ID, b.hubble.endpoint.ID, 'each pod is its own endpoint');
  t.equal(dir.pod(infoA), a, 'resolved once, then reused');
  t.match(a.policy, {
    kind: 'pod',
    namespace: 'demo',
    namespaceLabels: { team: 'ai' },
    serviceAccount: 'web',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  });
});

t.test('pods of two ReplicaSets of a Deployment share one identity; labels left out of it select nothing', async (t) => {
  const { registry, dir } = cluster();
  const rs = (hash: string) => ({ generateName: `web-${hash}-`, ownerReferences: [owner('ReplicaSet', `web-${hash}`)] });
  const old = dir.pod(addPod(registry, 'web-5c7f8d9b4-aaaaa', { app: 'web', 'pod-template-hash': '5c7f8d9b4' }, rs('5c7f8d9b4')));
  const rolled = dir.pod(addPod(registry, 'web-7d4b9c8f6-bbbbb', { app: 'web', 'pod-template-hash': '7d4b9c8f6' }, rs('7d4b9c8f6')));
  t.equal(old.hubble.endpoint.identity, rolled.hubble.endpoint.identity, 'a rollout keeps the identity');
  t.notOk(old.hubble.endpoint.labels!.some((l) => l.includes('pod-template-hash')));
  t.same(old.policy.kind === 'pod' && old.policy.labels, { app: 'web' }, 'policy selectors see the identity labels');
});

t.test('relabelling a pod or its namespace gives it a new description', async (t) => {
  const { registry, dir } = cluster();
  const info = addPod(registry, 'worker', { app: 'worker' });
  const before = dir.pod(info);
  const generation = dir.generation;
  registry.mutate(R.pods, 'demo', 'worker', (p) => {
    p.metadata.labels = { app: 'worker', tier: 'batch' };
  });
  const relabelled = dir.pod(info);
  t.ok(dir.generation > generation, 'decision caches see the change');
  t.not(relabelled.hubble.endpoint.identity, before.hubble.endpoint.identity);
  t.ok(relabelled.hubble.endpoint.labels!.includes('k8s:tier=batch'));
  registry.mutate(R.pods, 'demo', 'worker', (p) => {
    p.status = { phase: 'Running' };
  });
  t.equal(dir.pod(info), relabelled, 'a status update changes nothing');
  registry.mutate(R.namespaces, '', 'demo', (ns) => {
    ns.metadata.labels = { ...ns.metadata.labels, team: 'ml' };
  });
  t.ok(dir.pod(info).hubble.endpoint.labels!.includes('k8s:io.cilium.k8s.namespace.labels.team=ml'));
});

t.test('nodes are host from their own pods and remote-node from others; unknown addresses are the world', async (t) => {
  const { dir } = cluster();
  const local = dir.resolve(undefined, '127.18.0.3', 'sim-worker');
  const remote = dir.resolve(undefined, '127.18.0.3', 'sim-worker2');
  t.same(local.hubble, { ip: '127.18.0.3', endpoint: { identity: 1, labels: ['reserved:host'] } });
  t.same(remote.hubble.endpoint, { identity: 6, labels: ['reserved:remote-node'] });
  t.same(local.policy, { kind: 'node', name: 'sim-worker', ip: '127.18.0.3' });
  const agent: EndpointInfo = {
    ip: '127.18.0.4',
    namespace: 'kube-system',
    name: 'cilium-x',
    uid: 'x',
    nodeName: 'sim-worker2',
    labels: {},
    hostNetwork: true,
  };
  t.equal(dir.resolve(agent, agent.ip, 'sim-worker2').hubble.endpoint.identity, 1, 'a host-network pod is its node');
  const world = dir.resolve(undefined, '198.51.100.7', 'sim-worker');
  t.same(world.hubble, { ip: '198.51.100.7', endpoint: { identity: 2, labels: ['reserved:world'] } });
  t.same(world.policy, { kind: 'world', ip: '198.51.100.7' });
});
