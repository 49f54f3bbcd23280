// Hubble Relay in the sim, over the pod network: peers found through hubble-peer by its DNS name, streams of three
// agents merged in time order, --last N per node, node_status as agents come and go, ServerStatus and GetNodes.
import t, { type Test } from 'tap';
import { connectObserver, type ObserverClient } from '../../../lib/hubble/client.ts';
import type { GetFlowsResponse } from '../../../lib/flows/types.ts';
import { startHubbleAgent, type HubbleAgent } from '../../../lib/sim/hubble/agent.ts';
import { hubbleAgentConfig } from '../../../lib/sim/hubble/agent-config.ts';
import { SimHubble } from '../../../lib/sim/hubble/hub.ts';
import { relayConfig } from '../../../lib/sim/hubble/relay-config.ts';
import { startHubbleRelay } from '../../../lib/sim/hubble/relay.ts';
import type { Datapath } from '../../../lib/sim/net/datapath.ts';
import {
  agentPod,
  clientPorts,
  clusterDns,
  clusterName,
  forwardTo,
  nextWithin,
  nodeIP,
  nodes,
  podOn,
  services,
  synFlows,
  testDatapath,
  until,
} from './fixtures.ts';

const relayArgs = [
  'serve',
  '--local-server-address=0.0.0.0:4245',
  '--peer-service=hubble-peer.kube-system.svc.cluster.local:443',
  '--sort-buffer-drain-timeout=50ms',
  '--retry-timeout=400ms',
];

interface Cluster {
  dp: Datapath;
  hub: SimHubble;
  agents: Map<string, HubbleAgent>;
  startAgent(node: string): Promise<void>;
  client: ObserverClient;
}

async function cluster(t: Test): Promise<Cluster> {
  const dp = await testDatapath(t);
  const hub = new SimHubble({ clusterName });
  await clusterDns(t, dp);
  services(dp, { peerBackends: [nodeIP('sim-worker')] });
  const agents = new Map<string, HubbleAgent>();
  const agentPods = new Map(nodes.map((n) => [n, agentPod(dp, n)]));
  const startAgent = async (node: string) => {
    const agent = await startHubbleAgent({
      hub,
      node,
      ip: nodeIP(node),
      net: agentPods.get(node as (typeof nodes)[number])!,
      version: '1.16.5',
      config: hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-listen-address': ':4244' }),
    });
    agents.set(node, agent);
  };
  for (const n of nodes) await startAgent(n);
  t.teardown(() => Promise.all([...agents.values()].map((a) => a.stop())));

  const relayPod = podOn(dp, 'sim-worker', 'hubble-relay-7b9c6d5f4-m2k8p', 20, { 'k8s-app': 'hubble-relay' });
  const relay = await startHubbleRelay({
    config: relayConfig(relayArgs).config,
    dial: (host, port) => relayPod.connect(host, port),
    net: relayPod,
    version: '1.16.5',
    relayNodeName: 'kind-sim/sim-worker',
    healthIntervalMs: 100,
  });
  t.teardown(() => relay.stop());
  const fwd = await forwardTo(t, relayPod, 4245);
  const client = await connectObserver(fwd.address);
  t.teardown(() => client.close());
  await until(async () => (await client.serverStatus()).num_connected_nodes === 3, 5000, 'Relay to connect to the three agents');
  return { dp, hub, agents, startAgent, client };
}

async function collect(client: ObserverClient, req: Parameters<ObserverClient['getFlows']>[0]): Promise<GetFlowsResponse[]> {
  const out: GetFlowsResponse[] = [];
  for await (const r of client.getFlows(req)) out.push(r);
  return out;
}

const [cp, w1, w2] = nodes;
const full = (n: string) => `${clusterName}/${n}`;

t.test('Relay merges the agents in time order, counting --last per node', async (t) => {
  const { hub, client } = await cluster(t);
  // Ports number the flows in the order they happened: 1–5 on one node, 6–10 on the next, 11–15 on the third, 16 on the first.
  synFlows(hub, cp, 5, 1);
  synFlows(hub, w1, 5, 6);
  synFlows(hub, w2, 5, 11);
  synFlows(hub, cp, 1, 16);

  const got = await collect(client, { number: 2 });
  t.same(got[0]!.node_status, { state_change: 'NODE_CONNECTED', node_names: nodes.map(full) }, 'node_status first: every node connected');
  t.same(clientPorts(got), [5, 9, 10, 14, 15, 16], 'the last two of each node, merged oldest first');
  const flows = got.filter((r) => r.flow);
  t.same(
    flows.map((r) => r.node_name),
    [cp, w1, w1, w2, w2, cp].map(full),
    'each flow keeps the node that observed it',
  );

  const all = await collect(client, { first: true, number: 100 });
  t.same(
    clientPorts(all),
    Array.from({ length: 16 }, (_, i) => i + 1),
    '--first 100: everything, in time order',
  );

  const status = await client.serverStatus();
  t.equal(status.num_connected_nodes, 3);
  t.equal(status.num_unavailable_nodes, 0);
  t.equal(status.num_flows, '16');
  t.equal(status.seen_flows, '16');
  t.equal(status.max_flows, String(3 * 4095));
  t.equal(status.version, '1.16.5');

  const nodesSeen = await client.getNodes();
  t.same(
    nodesSeen.map((n) => [n.name, n.state, n.address, n.num_flows]),
    [
      [full(cp), 'NODE_CONNECTED', `${nodeIP(cp)}:4244`, '6'],
      [full(w1), 'NODE_CONNECTED', `${nodeIP(w1)}:4244`, '5'],
      [full(w2), 'NODE_CONNECTED', `${nodeIP(w2)}:4244`, '5'],
    ],
  );
  t.same(await client.getNamespaces(), [{ namespace: 'demo' }]);
});

t.test('a follow stream reports agents going away, coming back and leaving the cluster', async (t) => {
  const { hub, agents, startAgent, client } = await cluster(t);
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  const stream = client.getFlows({ follow: true }, { signal: stop.signal })[Symbol.asyncIterator]();
  const next = async () => (await nextWithin(stream, 5000, 'record on the follow stream')).value as GetFlowsResponse;
  const nextStatus = async () => {
    for (;;) {
      const r = await next();
      if (r.node_status) return r.node_status;
    }
  };
  t.same(await nextStatus(), { state_change: 'NODE_CONNECTED', node_names: nodes.map(full) });

  // New flows from two nodes arrive merged by time once the sort window drains.
  await new Promise((r) => setTimeout(r, 100));
  synFlows(hub, w2, 1, 100);
  synFlows(hub, w1, 1, 101);
  synFlows(hub, w2, 1, 102);
  t.same(clientPorts([await next(), await next(), await next()]), [100, 101, 102]);

  await agents.get(w2)!.stop();
  const gone = await nextStatus();
  t.equal(gone.state_change, 'NODE_UNAVAILABLE', 'the stopped agent is reported unavailable');
  t.same(gone.node_names, [full(w2)]);
  const status = await client.serverStatus();
  t.equal(status.num_connected_nodes, 2);
  t.equal(status.num_unavailable_nodes, 1);
  t.same(status.unavailable_nodes, [full(w2)]);
  const fresh = await collect(client, { number: 1 });
  t.same(
    fresh.slice(0, 2).map((r) => r.node_status),
    [
      { state_change: 'NODE_CONNECTED', node_names: [full(cp), full(w1)] },
      { state_change: 'NODE_UNAVAILABLE', node_names: [full(w2)] },
    ],
    'a new request hears which nodes are connected and which are not',
  );
  t.same(
    (await client.getNodes()).map((n) => n.state),
    ['NODE_CONNECTED', 'NODE_CONNECTED', 'NODE_UNAVAILABLE'],
  );

  await startAgent(w2);
  t.same(await nextStatus(), { state_change: 'NODE_CONNECTED', node_names: [full(w2)] }, 'the restarted agent rejoins the stream');
  synFlows(hub, w2, 1, 200);
  t.same(clientPorts([await next()]), [200], 'and its new flows arrive');

  hub.removeNode(w1);
  t.same(await nextStatus(), { state_change: 'NODE_GONE', node_names: [full(w1)] }, 'a node deleted from the cluster is gone');
  await until(async () => (await client.getNodes()).length === 2, 3000, 'Relay to forget the node');
});

t.test('an agent without Hubble shows as unavailable from the start', async (t) => {
  const dp = await testDatapath(t);
  const hub = new SimHubble({ clusterName });
  await clusterDns(t, dp);
  services(dp, { peerBackends: [nodeIP(w1)] });
  const started: HubbleAgent[] = [];
  for (const n of nodes) {
    const pod = agentPod(dp, n);
    started.push(
      await startHubbleAgent({
        hub,
        node: n,
        ip: nodeIP(n),
        net: pod,
        version: '1.16.5',
        config: hubbleAgentConfig({ 'enable-hubble': n === w2 ? 'false' : 'true', 'hubble-listen-address': ':4244' }),
      }),
    );
  }
  t.teardown(() => Promise.all(started.map((a) => a.stop())));
  const relayPod = podOn(dp, w1, 'hubble-relay-7b9c6d5f4-q9r4t', 21, { 'k8s-app': 'hubble-relay' });
  const relay = await startHubbleRelay({
    config: relayConfig(relayArgs).config,
    dial: relayPod.connect,
    net: relayPod,
    version: '1.16.5',
    relayNodeName: full(w1),
  });
  t.teardown(() => relay.stop());
  const fwd = await forwardTo(t, relayPod, 4245);
  const client = await connectObserver(fwd.address);
  t.teardown(() => client.close());
  await until(async () => (await client.serverStatus()).num_connected_nodes === 2, 5000, 'two agents connected');
  const status = await client.serverStatus();
  t.equal(status.num_unavailable_nodes, 1);
  t.same(status.unavailable_nodes, [full(w2)]);
  t.equal(await client.health(), 'SERVING', 'Relay itself is healthy');
});
