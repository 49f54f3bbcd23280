// Endpoint names: workloads, app labels, generated pod suffixes, reserved identities, world DNS names and IPs.
import t from 'tap';
import { endpointName, kubernetesLabels, labelValue, stripPodSuffix, workloadName } from '../../lib/flows/identity.ts';

t.test('pod names lose only the suffixes Kubernetes generates', async (t) => {
  t.equal(stripPodSuffix('document-agent-7848d6c4d5-th9v2'), 'document-agent', 'ReplicaSet pod');
  t.equal(stripPodSuffix('cilium-x7k2p'), 'cilium', 'DaemonSet pod');
  t.equal(stripPodSuffix('backup-28470120-q2w4z'), 'backup-28470120', 'Job pod of a CronJob keeps the job name');
  t.equal(stripPodSuffix('test-pod'), 'test-pod', 'a hand-made pod keeps its name');
  t.equal(stripPodSuffix('web-abcde'), 'web-abcde', 'vowels are never generated');
  t.equal(stripPodSuffix('db-0'), 'db-0', 'StatefulSet ordinals stay');
});

t.test('labels are read from Cilium label strings of Kubernetes origin only', async (t) => {
  const labels = ['k8s:app=llm', 'container:app=ignored', 'k8s:app.kubernetes.io/name=llm-svc', 'reserved:host', 'k8s:tier=inference'];
  t.equal(labelValue(labels, 'app'), 'llm');
  t.equal(labelValue(labels, 'app.kubernetes.io/name'), 'llm-svc');
  t.equal(labelValue(['container:app=x'], 'app'), undefined);
  t.equal(labelValue(['app=bare'], 'app'), 'bare');
  t.same(kubernetesLabels(labels), { app: 'llm', 'app.kubernetes.io/name': 'llm-svc', tier: 'inference' });
});

t.test('workload name precedence: workloads, app.kubernetes.io/name, app, k8s-app, pod name', async (t) => {
  const pod = 'llm-service-5d4f8b9c7-x2k4p';
  t.equal(workloadName({ namespace: 'd', pod_name: pod, workloads: [{ name: 'llm', kind: 'Deployment' }], labels: ['k8s:app=other'] }), 'llm');
  t.equal(workloadName({ namespace: 'd', pod_name: pod, labels: ['k8s:app=a', 'k8s:app.kubernetes.io/name=b'] }), 'b');
  t.equal(workloadName({ namespace: 'd', pod_name: pod, labels: ['k8s:k8s-app=kube-dns', 'k8s:app=a'] }), 'a');
  t.equal(workloadName({ namespace: 'kube-system', pod_name: 'coredns-5d78c9869d-abcde', labels: ['k8s:k8s-app=kube-dns'] }), 'kube-dns');
  t.equal(workloadName({ namespace: 'd', pod_name: pod }), 'llm-service');
  t.equal(workloadName({ namespace: 'd' }), undefined);
});

t.test('endpoint names for pods, reserved identities, the world and bare IPs', async (t) => {
  t.equal(endpointName({ namespace: 'genai', pod_name: 'document-agent-7848d6c4d5-th9v2' }, '10.0.0.1', undefined), 'genai/document-agent');
  t.equal(endpointName({ namespace: 'genai' }, '10.0.0.1', undefined), 'genai/10.0.0.1', 'a namespaced endpoint without a name keeps its namespace');
  t.equal(endpointName({ identity: 1, labels: ['reserved:host'] }, '10.0.0.9', undefined), 'host');
  t.equal(endpointName({ labels: ['reserved:remote-node'] }, '10.0.0.9', undefined), 'remote-node');
  t.equal(endpointName({ labels: ['reserved:host', 'reserved:kube-apiserver'] }, '10.0.0.9', undefined), 'kube-apiserver');
  for (const r of ['health', 'init', 'ingress', 'unmanaged']) {
    t.equal(endpointName({ labels: [`reserved:${r}`] }, '1.1.1.1', undefined), r);
  }
  t.equal(endpointName({ identity: 2, labels: ['reserved:world'] }, '104.18.6.192', ['api.openai.com']), 'api.openai.com');
  t.equal(endpointName({ identity: 9, labels: ['reserved:world-ipv4'] }, '104.18.6.192', ['api.openai.com.']), 'api.openai.com', 'trailing dot dropped');
  t.equal(endpointName({ identity: 2, labels: ['reserved:world'] }, '104.18.6.192', []), 'world');
  t.equal(endpointName({ identity: 6 }, '10.0.0.9', undefined), 'remote-node', 'numeric identity when labels are missing');
  t.equal(endpointName({}, '192.168.1.4', undefined), '192.168.1.4');
  t.equal(endpointName(undefined, undefined, undefined), 'unknown');
});
