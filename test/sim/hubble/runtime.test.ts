// The Cilium agent, Relay and UI images running as pods of the sim's runtime: agents reading cilium-config from the
// DaemonSet's ConfigMap volume, Relay and UI started from the lab's own manifests, reached through pod ports.
import t from 'tap';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { connectObserver } from '../../../lib/hubble/client.ts';
import { registerHubbleImages } from '../../../lib/sim/hubble/images.ts';
import { SimHubble } from '../../../lib/sim/hubble/hub.ts';
import { localForward } from '../../../lib/sim/hubble/forward.ts';
import { createPodRuntime } from '../../../lib/sim/runtime/index.ts';
import type { RunningPod } from '../../../lib/sim/runtime/types.ts';
import { clusterName, hubbleRelayIP, nodeIP, nodes, services, synFlows, testDatapath, until } from './fixtures.ts';

/** The pod template of the Deployment in one of the lab's manifests. */
function deploymentTemplate(file: string): Record<string, any> {
  const docs = parseAllDocuments(readFileSync(new URL(`../../../manifests/hubble/${file}`, import.meta.url), 'utf8')).map((d) => d.toJS());
  return docs.find((d) => d.kind === 'Deployment').spec.template;
}

t.test('agents, Relay and UI run as pods and see each other through the pod network', async (t) => {
  const dp = await testDatapath(t);
  const runtime = await createPodRuntime({ datapath: dp, shutdownGraceMs: 500 });
  t.teardown(() => runtime.shutdown());
  const hub = new SimHubble({ clusterName });
  registerHubbleImages(runtime, hub);
  const ciliumConfig: Record<string, string> = { 'cluster-name': clusterName, 'enable-hubble': 'true', 'hubble-listen-address': ':4244' };
  const cluster = { configMap: (_ns: string, name: string) => (name === 'cilium-config' ? ciliumConfig : undefined), secret: () => undefined };

  let uid = 0;
  const start = (name: string, node: string, ip: string, template: Record<string, any>, hostNetwork = false): RunningPod => {
    const pod = {
      metadata: { name, namespace: 'kube-system', uid: `u${++uid}`, labels: template.metadata?.labels ?? {} },
      spec: { ...template.spec, nodeName: node, ...(hostNetwork ? { hostNetwork } : {}) },
      status: { hostIP: nodeIP(node) },
    };
    return runtime.start({ namespace: 'kube-system', name, uid: pod.metadata.uid, nodeName: node, podIP: ip, labels: pod.metadata.labels, pod }, cluster);
  };

  start('coredns-6f6b679f8f-7xk2p', 'sim-control-plane', '127.244.0.3', {
    metadata: { labels: { 'k8s-app': 'kube-dns' } },
    spec: { containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3' }] },
  });
  const agentTemplate = {
    metadata: { labels: { 'k8s-app': 'cilium' } },
    spec: {
      containers: [
        {
          name: 'cilium-agent',
          image: 'quay.io/cilium/cilium:v1.16.5',
          command: ['cilium-agent'],
          args: ['--config-dir=/tmp/cilium/config-map'],
          volumeMounts: [{ name: 'cilium-config-path', mountPath: '/tmp/cilium/config-map', readOnly: true }],
        },
      ],
      volumes: [{ name: 'cilium-config-path', configMap: { name: 'cilium-config' } }],
    },
  };
  for (const n of nodes) start(`cilium-${n}`, n, nodeIP(n), agentTemplate, true);
  const relay = start('hubble-relay-7b9c6d5f4-m2k8p', 'sim-worker', '127.244.1.30', deploymentTemplate('relay.yaml'));
  const ui = start('hubble-ui-7c5d8f9b6-k2m4n', 'sim-worker2', '127.244.2.31', deploymentTemplate('ui.yaml'));
  services(dp, {
    peerBackends: [nodeIP('sim-worker')],
    extra: [
      {
        namespace: 'kube-system',
        name: 'hubble-relay',
        clusterIP: hubbleRelayIP,
        ports: [{ protocol: 'TCP', port: 80, backends: [{ ip: '127.244.1.30', port: 4245 }] }],
      },
    ],
  });
  await until(() => nodes.every((n) => hub.serving(n)), 5000, 'the agents to serve Hubble');

  const relayPort = await localForward(() => relay.dial(4245) as Promise<Duplex>);
  t.teardown(() => relayPort.close());
  const client = await connectObserver(relayPort.address);
  t.teardown(() => client.close());
  await until(async () => (await client.serverStatus().catch(() => undefined))?.num_connected_nodes === 3, 8000, 'Relay to connect to every agent');
  t.equal(await client.health(), 'SERVING');

  synFlows(hub, 'sim-worker2', 4, 1);
  const flows = [];
  for await (const r of client.getFlows({ number: 10 })) if (r.flow) flows.push(r.flow);
  t.same(
    flows.map((f) => f.l4?.TCP?.source_port),
    [1, 2, 3, 4],
  );
  t.equal(flows[0]!.node_name, `${clusterName}/sim-worker2`);

  const uiPort = await localForward(() => ui.dial(8081) as Promise<Duplex>);
  t.teardown(() => uiPort.close());
  await until(
    async () => {
      const map = (await (await fetch(`http://${uiPort.address}/api/service-map`)).json()) as { edges: { source: string; destination: string }[] };
      return map.edges.some((e) => e.source === 'demo/client' && e.destination === 'demo/web');
    },
    8000,
    'the UI to show demo/client → demo/web',
  );
  const statuses = relay.containerStatuses();
  t.equal(statuses[0]?.state.state, 'running', 'Relay keeps running');
  const logs: string[] = [];
  for await (const line of relay.logs({})) logs.push(line);
  t.same(
    logs
      .filter((l) => l.includes('msg="Connected"'))
      .map((l) => /peer=(\S+)/.exec(l)?.[1])
      .sort(),
    nodes.map((n) => `${clusterName}/${n}`),
    'Relay logs a connection to each agent',
  );
});
