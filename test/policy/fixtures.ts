// Generators for the policy tests: the upstream e2e pod model (x,y,z × a,b,c), the lab's pods, policy objects, reachability grids.
import { evaluateConnection, type PolicySet } from '../../lib/policy/evaluate.ts';
import type { Endpoint, NamedPort, PodEndpoint, Protocol } from '../../lib/policy/types.ts';

/** Container ports every e2e model pod serves, named as the upstream netpol e2e suite names them. */
const e2ePorts: NamedPort[] = [80, 81].flatMap((port) =>
  (['TCP', 'UDP'] as const).map((protocol) => ({ name: `serve-${port}-${protocol.toLowerCase()}`, port, protocol })),
);

/** Namespaces x, y, z (label ns=<name>), each with pods a, b, c (label pod=<name>), all on node-1. */
export function e2eModel(): Map<string, PodEndpoint> {
  const pods = new Map<string, PodEndpoint>();
  ['x', 'y', 'z'].forEach((ns, i) => {
    ['a', 'b', 'c'].forEach((name, j) => {
      pods.set(`${ns}/${name}`, {
        kind: 'pod',
        namespace: ns,
        name,
        labels: { pod: name },
        namespaceLabels: { ns },
        ip: `127.244.${i + 1}.${j + 10}`,
        nodeName: 'node-1',
        ports: e2ePorts,
      });
    });
  });
  return pods;
}

/** The lab's demo pods (genai-network-demo), a probe without tier, a test pod in default, and kube-dns. */
export function labModel(): Map<string, PodEndpoint> {
  const demo = (name: string, labels: Record<string, string>, n: number, node: string): PodEndpoint => ({
    kind: 'pod',
    namespace: 'genai-network-demo',
    name,
    labels,
    namespaceLabels: { name: 'genai-network-demo' },
    ip: `127.244.${node === 'node-1' ? 1 : 2}.${n}`,
    nodeName: node,
    ports: [{ name: 'http', port: 80 }],
  });
  const pods: [string, PodEndpoint][] = [
    ['coordinator', demo('agent-coordinator-0', { app: 'agent-coordinator', tier: 'orchestration' }, 10, 'node-1')],
    ['doc-1', demo('document-agent-0', { app: 'document-agent', tier: 'processing' }, 11, 'node-1')],
    ['doc-2', demo('document-agent-1', { app: 'document-agent', tier: 'processing' }, 12, 'node-2')],
    ['llm', demo('llm-service-0', { app: 'llm-service', tier: 'inference' }, 13, 'node-2')],
    ['probe', demo('probe', { run: 'probe' }, 14, 'node-1')],
    [
      'test-pod',
      { kind: 'pod', namespace: 'default', name: 'test-pod', labels: { run: 'test-pod' }, ip: '127.244.1.20', nodeName: 'node-1' },
    ],
    [
      'kube-dns',
      {
        kind: 'pod',
        namespace: 'kube-system',
        name: 'coredns-0',
        labels: { 'k8s-app': 'kube-dns' },
        ip: '127.244.2.2',
        nodeName: 'node-2',
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, protocol: 'TCP' },
        ],
      },
    ],
  ];
  return new Map(pods);
}

export function networkPolicy(namespace: string, name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

export function ciliumPolicy(namespace: string, name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace }, spec };
}

export interface Probe {
  protocol: Protocol;
  port: number;
}

/**
 * The reachability grid of every endpoint to every endpoint on one port, as the upstream e2e suite prints it:
 * rows are sources, columns destinations, `.` allowed and `X` denied.
 */
export function reachability(set: PolicySet, endpoints: Map<string, Endpoint>, probe: Probe): string {
  const names = [...endpoints.keys()];
  const rows = [['-', ...names].join(' ')];
  for (const from of names) {
    const cells = names.map((to) => {
      const d = evaluateConnection(set, { source: endpoints.get(from)!, destination: endpoints.get(to)!, ...probe });
      return d.allowed ? '.' : 'X';
    });
    rows.push([from, ...cells].join(' '));
  }
  return rows.join('\n');
}

/** A grid written in a test, with any alignment, in the form reachability() prints. */
export function grid(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).join(' '))
    .join('\n');
}
