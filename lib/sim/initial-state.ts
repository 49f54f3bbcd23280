// The objects of a fresh kind cluster with Cilium (Hubble disabled): nodes, system namespaces, Cilium, CoreDNS and their Services.
import { arch, cpus, release, totalmem } from 'node:os';
import { R } from './apiserver/resources.ts';
import type { Registry } from './apiserver/registry.ts';
import type { KObject } from './apiserver/store.ts';

export const CILIUM_VERSION = 'v1.19.1';
export const KUBERNETES_SERVICE_IP = '127.96.0.1';
export const KUBE_DNS_IP = '127.96.0.10';
/** The API server's port as pods see it on the control-plane node (kind's 6443). */
export const API_SERVER_POD_PORT = 6443;

export function nodeName(i: number): string {
  if (i === 0) return 'sim-control-plane';
  return i === 1 ? 'sim-worker' : `sim-worker${i}`;
}

/** Node addresses mirror kind's 172.18.0.x inside the loopback range. */
export function nodeIP(i: number): string {
  return `127.18.0.${i + 2}`;
}

function node(i: number): KObject {
  const name = nodeName(i);
  const goArch = arch() === 'arm64' ? 'arm64' : 'amd64';
  const controlPlane = i === 0;
  const resources = { cpu: String(cpus().length), 'ephemeral-storage': '102626232Ki', memory: `${Math.floor(totalmem() / 1024)}Ki`, pods: '110' };
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
    reason,
    message,
  });
  return {
    metadata: {
      name,
      labels: {
        'beta.kubernetes.io/arch': goArch,
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': goArch,
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        ...(controlPlane ? { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' } : {}),
      },
      annotations: {
        'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///run/containerd/containerd.sock',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {
      podCIDR: `127.244.${i}.0/24`,
      podCIDRs: [`127.244.${i}.0/24`],
      providerID: `kind://docker/sim/${name}`,
      ...(controlPlane ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] } : {}),
    },
    status: {
      addresses: [
        { type: 'InternalIP', address: nodeIP(i) },
        { type: 'Hostname', address: name },
      ],
      allocatable: resources,
      capacity: resources,
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: goArch,
        bootID: '',
        containerRuntimeVersion: 'containerd://1.7.18',
        kernelVersion: release(),
        kubeProxyVersion: 'v1.31.0',
        kubeletVersion: 'v1.31.0',
        machineID: '',
        operatingSystem: 'linux',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        systemUUID: '',
      },
    },
  };
}

const CILIUM_CONFIG: Record<string, string> = {
  'agent-not-ready-taint-key': 'node.cilium.io/agent-not-ready',
  'auto-direct-node-routes': 'false',
  'bpf-lb-sock': 'false',
  'bpf-map-dynamic-size-ratio': '0.0025',
  'bpf-policy-map-max': '16384',
  'cilium-endpoint-gc-interval': '5m0s',
  'cluster-id': '0',
  'cluster-name': 'kind-sim',
  'cni-exclusive': 'true',
  'cni-log-file': '/var/run/cilium/cilium-cni.log',
  'custom-cni-conf': 'false',
  debug: 'false',
  'enable-endpoint-health-checking': 'true',
  'enable-health-checking': 'true',
  'enable-hubble': 'false',
  'enable-ipv4': 'true',
  'enable-ipv4-masquerade': 'true',
  'enable-ipv6': 'false',
  'enable-k8s-networkpolicy': 'true',
  'enable-l7-proxy': 'true',
  'enable-policy': 'default',
  'identity-allocation-mode': 'crd',
  ipam: 'kubernetes',
  'kube-proxy-replacement': 'false',
  'monitor-aggregation': 'medium',
  'monitor-aggregation-flags': 'all',
  'monitor-aggregation-interval': '5s',
  'operator-api-serve-addr': '127.0.0.1:9234',
  'preallocate-bpf-maps': 'false',
  'routing-mode': 'tunnel',
  'tunnel-protocol': 'vxlan',
};

const CILIUM_LABELS = { 'k8s-app': 'cilium', 'app.kubernetes.io/name': 'cilium-agent', 'app.kubernetes.io/part-of': 'cilium' };
const OPERATOR_LABELS = {
  'io.cilium/app': 'operator',
  name: 'cilium-operator',
  'app.kubernetes.io/name': 'cilium-operator',
  'app.kubernetes.io/part-of': 'cilium',
};
const DNS_LABELS = { 'k8s-app': 'kube-dns' };

const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });

function ciliumDaemonSet(): KObject {
  return {
    metadata: { name: 'cilium', namespace: 'kube-system', labels: CILIUM_LABELS },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'cilium' } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } },
      template: {
        metadata: { labels: CILIUM_LABELS, annotations: { 'container.apparmor.security.beta.kubernetes.io/cilium-agent': 'unconfined' } },
        spec: {
          containers: [
            {
              name: 'cilium-agent',
              image: `quay.io/cilium/cilium:${CILIUM_VERSION}`,
              command: ['cilium-agent'],
              args: ['--config-dir=/tmp/cilium/config-map'],
              env: [fieldEnv('K8S_NODE_NAME', 'spec.nodeName'), fieldEnv('CILIUM_K8S_NAMESPACE', 'metadata.namespace')],
              volumeMounts: [{ name: 'cilium-config-path', mountPath: '/tmp/cilium/config-map', readOnly: true }],
            },
          ],
          hostNetwork: true,
          priorityClassName: 'system-node-critical',
          serviceAccountName: 'cilium',
          automountServiceAccountToken: true,
          terminationGracePeriodSeconds: 1,
          tolerations: [{ operator: 'Exists' }],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          volumes: [{ name: 'cilium-config-path', configMap: { name: 'cilium-config' } }],
        },
      },
    },
  };
}

function ciliumOperator(): KObject {
  return {
    metadata: { name: 'cilium-operator', namespace: 'kube-system', labels: OPERATOR_LABELS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { 'io.cilium/app': 'operator', name: 'cilium-operator' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '50%' } },
      template: {
        metadata: { labels: OPERATOR_LABELS },
        spec: {
          containers: [
            {
              name: 'cilium-operator',
              image: `quay.io/cilium/operator-generic:${CILIUM_VERSION}`,
              command: ['cilium-operator-generic'],
              args: ['--config-dir=/tmp/cilium/config-map', '--debug=$(CILIUM_DEBUG)'],
              env: [fieldEnv('K8S_NODE_NAME', 'spec.nodeName'), fieldEnv('CILIUM_K8S_NAMESPACE', 'metadata.namespace')],
              volumeMounts: [{ name: 'cilium-config-path', mountPath: '/tmp/cilium/config-map', readOnly: true }],
            },
          ],
          hostNetwork: true,
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: 'cilium-operator',
          tolerations: [{ operator: 'Exists' }],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          volumes: [{ name: 'cilium-config-path', configMap: { name: 'cilium-config' } }],
        },
      },
    },
  };
}

const COREFILE = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;

function coreDns(): KObject {
  return {
    metadata: { name: 'coredns', namespace: 'kube-system', labels: DNS_LABELS },
    spec: {
      replicas: 2,
      selector: { matchLabels: DNS_LABELS },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
      template: {
        metadata: { labels: DNS_LABELS },
        spec: {
          containers: [
            {
              name: 'coredns',
              image: 'registry.k8s.io/coredns/coredns:v1.11.3',
              args: ['-conf', '/etc/coredns/Corefile'],
              ports: [
                { name: 'dns', containerPort: 53, protocol: 'UDP' },
                { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
              ],
              resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
              volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
            },
          ],
          dnsPolicy: 'Default',
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: 'coredns',
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          tolerations: [
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
            { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
          ],
          volumes: [{ name: 'config-volume', configMap: { name: 'coredns', items: [{ key: 'Corefile', path: 'Corefile' }] } }],
        },
      },
    },
  };
}

/** Creates the initial objects through the registry (defaults and validation apply as for any client). */
export function seedCluster(registry: Registry, nodes: number): void {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) registry.create(R.namespaces, '', { metadata: { name: ns } });
  for (let i = 0; i < nodes; i++) registry.create(R.nodes, '', node(i));
  registry.create(R.services, 'default', {
    metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { clusterIP: KUBERNETES_SERVICE_IP, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: API_SERVER_POD_PORT }] },
  });
  registry.create(R.endpoints, 'default', {
    metadata: { name: 'kubernetes', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: nodeIP(0) }], ports: [{ name: 'https', port: API_SERVER_POD_PORT, protocol: 'TCP' }] }],
  });
  for (const sa of ['cilium', 'cilium-operator', 'coredns']) registry.create(R.serviceaccounts, 'kube-system', { metadata: { name: sa } });
  registry.create(R.configmaps, 'kube-system', { metadata: { name: 'cilium-config' }, data: CILIUM_CONFIG });
  registry.create(R.configmaps, 'kube-system', { metadata: { name: 'coredns' }, data: { Corefile: COREFILE } });
  registry.create(R.daemonsets, 'kube-system', ciliumDaemonSet());
  registry.create(R.deployments, 'kube-system', ciliumOperator());
  registry.create(R.deployments, 'kube-system', coreDns());
  registry.create(R.services, 'kube-system', {
    metadata: {
      name: 'kube-dns',
      labels: { ...DNS_LABELS, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
      annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
    },
    spec: {
      clusterIP: KUBE_DNS_IP,
      selector: DNS_LABELS,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
      ],
    },
  });
}
