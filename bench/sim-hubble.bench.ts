// Sim Hubble throughput: flows the hub records into a node agent's ring with 0 and 2 following readers, and flows
// Relay merges from three agents over the pod network, each against an anchor measured in the same run.
import type { Duplex } from 'node:stream';
import { connectObserver, type ObserverClient } from '../lib/hubble/client.ts';
import type { Flow } from '../lib/flows/types.ts';
import { startHubbleAgent, type HubbleAgent } from '../lib/sim/hubble/agent.ts';
import { hubbleAgentConfig } from '../lib/sim/hubble/agent-config.ts';
import { ConnectionFlows, type SimEndpoint } from '../lib/sim/hubble/flows.ts';
import { localForward, type LocalForward } from '../lib/sim/hubble/forward.ts';
import { SimHubble } from '../lib/sim/hubble/hub.ts';
import { IdentityAllocator, podEndpointLabels } from '../lib/sim/hubble/identity.ts';
import { relayConfig } from '../lib/sim/hubble/relay-config.ts';
import { startHubbleRelay } from '../lib/sim/hubble/relay.ts';
import { createDatapath, type PodNetwork } from '../lib/sim/net/datapath.ts';
import { fmtMs, machine, median, timeMedian } from './lib.ts';

const clusterName = 'kind-sim';
const nodes = ['sim-control-plane', 'sim-worker', 'sim-worker2'];
const nodeIP = (i: number) => `127.18.0.${i + 2}`;
const recordCount = 50_000;
const perNode = 16_383;

const ids = new IdentityAllocator();
function endpoint(name: string, app: string, node: string, ip: string): SimEndpoint {
  const labels = podEndpointLabels({ namespace: 'demo', labels: { app }, clusterName });
  return {
    ip,
    node,
    endpoint: { identity: ids.identityFor(labels), namespace: 'demo', labels, pod_name: name, workloads: [{ name: app, kind: 'Deployment' }] },
  };
}

/** `count` flows observed on `node` (one TO_ENDPOINT SYN each), made by the sim's flow model. */
function makeFlows(node: string, count: number, sink: (f: Flow, n: string) => void): void {
  const client = endpoint('client-7d4b9c8f6-x2v4k', 'client', node, '127.244.1.10');
  const server = endpoint('web-5c7f8d9b4-q8z2n', 'web', node, '127.244.1.11');
  for (let i = 0; i < count; i++) {
    new ConnectionFlows({ client, server, protocol: 'TCP', clientPort: 32768 + (i % 28000), serverPort: 80 }, sink, { clusterName }).packet('client', {
      SYN: true,
    });
  }
}

const dp = await createDatapath();
const cleanups: (() => Promise<unknown> | unknown)[] = [() => dp.close()];
const agentPods: PodNetwork[] = nodes.map((n, i) =>
  dp.attachPod({
    ip: nodeIP(i),
    hostIP: nodeIP(i),
    namespace: 'kube-system',
    name: `cilium-${n}`,
    uid: `a${i}`,
    nodeName: n,
    labels: { 'k8s-app': 'cilium' },
    hostNetwork: true,
  }),
);

async function agentsOn(hub: SimHubble, capacity: number): Promise<HubbleAgent[]> {
  const config = hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-listen-address': ':4244', 'hubble-event-buffer-capacity': String(capacity) });
  return Promise.all(nodes.map((n, i) => startHubbleAgent({ hub, node: n, ip: nodeIP(i), config, net: agentPods[i]!, version: '1.16.5' })));
}

async function clientTo(pod: PodNetwork, port: number): Promise<{ client: ObserverClient; forward: LocalForward }> {
  const forward = await localForward(() => pod.dial(port, { from: 'node' }) as Promise<Duplex>);
  const client = await connectObserver(forward.address);
  return { client, forward };
}

// ——— hub.record ———
const prebuilt: { flow: Flow; node: string }[] = [];
makeFlows('sim-worker', recordCount, (flow, node) => prebuilt.push({ flow, node }));

const model = await timeMedian(() => makeFlows('sim-worker', recordCount, () => {}), 5);

const recordHub = new SimHubble({ clusterName });
// The default ring (4095): followers that fall behind lose events instead of slowing the writer.
const recordAgents = await agentsOn(recordHub, 4095);
const noFollowers = await timeMedian(() => {
  for (const { flow, node } of prebuilt) recordHub.record(flow, node);
}, 5);

// Two followers read everything the node writes. The writer never waits for readers (as in Hubble): it yields
// between batches of 1,000 so their streams get served, and a reader that falls behind loses events.
const followers = await Promise.all([0, 1].map(() => clientTo(agentPods[1]!, 4244)));
let received = 0;
let lost = 0;
const stopFollowing = new AbortController();
const reading = followers.map(async ({ client }) => {
  for await (const r of client.getFlows({ follow: true }, { signal: stopFollowing.signal })) {
    if (r.flow) received++;
    else if (r.lost_events) lost += Number(r.lost_events.num_events_lost);
  }
});
await new Promise((r) => setTimeout(r, 200));
let target = 0;
const recordRun = async () => {
  // Let the followers finish the previous run (untimed) before this one starts.
  const deadline = Date.now() + 60_000;
  while (received + lost < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  target = received + lost + 2 * recordCount;
  const start = performance.now();
  for (let i = 0; i < prebuilt.length; i += 1000) {
    for (let j = i; j < Math.min(i + 1000, prebuilt.length); j++) recordHub.record(prebuilt[j]!.flow, prebuilt[j]!.node);
    await new Promise((r) => setImmediate(r));
  }
  return performance.now() - start;
};
await recordRun();
const followerRuns: number[] = [];
for (let i = 0; i < 3; i++) followerRuns.push(await recordRun());
const withFollowers = { medianMs: median(followerRuns) };
const drainDeadline = Date.now() + 60_000;
while (received + lost < target && Date.now() < drainDeadline) await new Promise((r) => setTimeout(r, 5));
const lostShare = lost / (received + lost);
stopFollowing.abort();
await Promise.allSettled(reading);
for (const { client, forward } of followers) {
  client.close();
  await forward.close();
}
await Promise.all(recordAgents.map((a) => a.stop()));

// ——— Relay merge ———
const relayHub = new SimHubble({ clusterName });
const relayAgents = await agentsOn(relayHub, 16383);
for (const n of nodes) makeFlows(n, perNode, relayHub.sink);
dp.setServices([
  {
    namespace: 'kube-system',
    name: 'hubble-peer',
    clusterIP: '127.96.0.40',
    ports: [{ protocol: 'TCP', port: 443, backends: [{ ip: nodeIP(1), port: 4244 }] }],
  },
]);
const relayPod = dp.attachPod({
  ip: '127.244.1.20',
  hostIP: nodeIP(1),
  namespace: 'kube-system',
  name: 'hubble-relay',
  uid: 'r',
  nodeName: 'sim-worker',
  labels: {},
});
const relay = await startHubbleRelay({
  config: relayConfig(['serve', '--peer-service=127.96.0.40:443']).config,
  dial: (host, port) => relayPod.connect(host, port),
  net: relayPod,
  version: '1.16.5',
  relayNodeName: 'sim-worker',
});
const viaRelay = await clientTo(relayPod, 4245);
const direct = await clientTo(agentPods[1]!, 4244);
for (let i = 0; i < 200 && (await viaRelay.client.serverStatus()).num_connected_nodes !== 3; i++) await new Promise((r) => setTimeout(r, 25));

async function drain(client: ObserverClient, number: number): Promise<number> {
  let flows = 0;
  for await (const r of client.getFlows({ number })) if (r.flow) flows++;
  return flows;
}
const directCount = await drain(direct.client, perNode);
const relayCount = await drain(viaRelay.client, perNode);
if (directCount !== perNode || relayCount !== 3 * perNode)
  throw new Error(`expected ${perNode} and ${3 * perNode} flows, got ${directCount} and ${relayCount}`);
const fromAgent = await timeMedian(() => drain(direct.client, perNode), 3);
const fromRelay = await timeMedian(() => drain(viaRelay.client, perNode), 3);

for (const c of [viaRelay, direct]) {
  c.client.close();
  await c.forward.close();
}
await relay.stop();
await Promise.all(relayAgents.map((a) => a.stop()));
for (const c of cleanups) await c();

const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString('en-US')} flows/s`;
const rows: [string, number, number, string][] = [
  [`flow model: ${recordCount.toLocaleString('en-US')} SYN flows built (anchor)`, model.medianMs, model.medianMs, rate(recordCount, model.medianMs)],
  [`hub.record into the node's ring, 0 followers`, noFollowers.medianMs, model.medianMs, rate(recordCount, noFollowers.medianMs)],
  [
    `hub.record, 2 followers reading over the pod network`,
    withFollowers.medianMs,
    model.medianMs,
    `${rate(recordCount, withFollowers.medianMs)} (${(lostShare * 100).toFixed(1)}% lost to the followers)`,
  ],
  [`GetFlows --last ${perNode.toLocaleString('en-US')} from one agent (anchor)`, fromAgent.medianMs, fromAgent.medianMs, rate(perNode, fromAgent.medianMs)],
  [
    `GetFlows --last ${perNode.toLocaleString('en-US')} through Relay, 3 agents merged`,
    fromRelay.medianMs,
    fromAgent.medianMs,
    rate(3 * perNode, fromRelay.medianMs),
  ],
];
const lines = [
  '## Sim Hubble: hub, agents and Relay (lib/sim/hubble)',
  '',
  `Flows from the sim's flow model; agents and Relay serve over the sim's pod network (datapath), clients via a local`,
  `forward, all in one process. ${machine()}.`,
  '',
  '| what | median | ratio vs anchor | throughput |',
  '| --- | ---: | ---: | --- |',
  ...rows.map(([what, ms, anchor, note]) => `| ${what} | ${fmtMs(ms)} | ${(ms / anchor).toFixed(2)}× | ${note} |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
