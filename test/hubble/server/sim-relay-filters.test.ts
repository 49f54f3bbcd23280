// The embedded cluster's Hubble Relay and agents under hostile filters: a (.|\w)*! regex over long URLs and
// 10,000 filters in one request leave Relay answering ServerStatus, as they must for the whole sim to live on.
import t, { type Test } from 'tap';
import { connectObserver, type ObserverClient } from '../../../lib/hubble/client.ts';
import type { Flow, GetFlowsRequest } from '../../../lib/flows/types.ts';
import { startHubbleAgent, type HubbleAgent } from '../../../lib/sim/hubble/agent.ts';
import { hubbleAgentConfig } from '../../../lib/sim/hubble/agent-config.ts';
import { SimHubble } from '../../../lib/sim/hubble/hub.ts';
import { relayConfig } from '../../../lib/sim/hubble/relay-config.ts';
import { startHubbleRelay } from '../../../lib/sim/hubble/relay.ts';
import { agentPod, clusterDns, clusterName, forwardTo, nodeIP, nodes, podOn, services, testDatapath, until } from '../../sim/hubble/fixtures.ts';
import { flowMix } from '../../fixtures/flow-mix.ts';
import { within } from '../../fixtures/within.ts';

async function simRelay(t: Test): Promise<{ hub: SimHubble; client: ObserverClient }> {
  const dp = await testDatapath(t);
  const hub = new SimHubble({ clusterName });
  await clusterDns(t, dp);
  services(dp, { peerBackends: [nodeIP('sim-worker')] });
  const agents: HubbleAgent[] = [];
  t.teardown(() => Promise.all(agents.map((a) => a.stop())));
  for (const node of nodes) {
    agents.push(
      await startHubbleAgent({
        hub,
        node,
        ip: nodeIP(node),
        net: agentPod(dp, node),
        version: '1.16.5',
        config: hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-listen-address': ':4244' }),
      }),
    );
  }
  const relayPod = podOn(dp, 'sim-worker', 'hubble-relay-7b9c6d5f4-m2k8p', 20, { 'k8s-app': 'hubble-relay' });
  const relay = await startHubbleRelay({
    config: relayConfig(['serve', '--peer-service=hubble-peer.kube-system.svc.cluster.local:443', '--retry-timeout=400ms']).config,
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
  await until(async () => (await client.serverStatus()).num_connected_nodes === 3, 10_000, 'Relay to connect to the three agents');
  return { hub, client };
}

async function collect(client: ObserverClient, req: GetFlowsRequest): Promise<{ flows: number; err?: Error }> {
  let flows = 0;
  try {
    for await (const r of client.getFlows(req)) if (r.flow) flows++;
    return { flows };
  } catch (err) {
    return { flows, err: err as Error };
  }
}

/** ServerStatus through Relay while `work` runs: each must answer within `ms`. */
async function probeWhile(client: ObserverClient, work: Promise<unknown>, ms: number): Promise<string[]> {
  let done = false;
  void work.finally(() => (done = true));
  const results: string[] = [];
  do {
    const started = performance.now();
    const answer = await within(
      client.serverStatus().then(() => `${(performance.now() - started).toFixed(0)} ms`),
      ms,
      'no answer',
    );
    results.push(answer);
    await new Promise((r) => setTimeout(r, 20));
  } while (!done && results.length < 200);
  return results;
}

t.test('a (.|\\w)*! filter over long URLs, through the sim’s Relay', async (t) => {
  const { hub, client } = await simRelay(t);
  const base = flowMix(400, { seed: 71 }).filter((r) => r.flow);
  base.forEach((r, i) => {
    const url = `http://svc/${'ab'.repeat(2000)}${i % 25 === 0 ? '!' : ''}`;
    const flow: Flow = { ...r.flow!, node_name: undefined, l7: { type: 'REQUEST', http: { method: 'GET', url } } };
    hub.record(flow, nodes[i % nodes.length]!);
  });
  const work = collect(client, { whitelist: [{ http_url: ['(.|\\w)*!'] }] });
  const probes = await probeWhile(client, work, 3000);
  const got = await work;
  t.equal(got.err, undefined);
  t.equal(got.flows, base.filter((_, i) => i % 25 === 0).length, 'the flows whose URL has a !');
  t.notOk(probes.includes('no answer'), `ServerStatus answered each time: ${probes.join(', ')}`);
});

t.test('10,000 filters in one request are refused by Relay itself', async (t) => {
  const { client } = await simRelay(t);
  const many = Array.from({ length: 10_000 }, (_, i) => ({ source_pod: [`ns-${i}/pod-${i}`] }));
  const work = collect(client, { whitelist: many });
  const probes = await probeWhile(client, work, 3000);
  const got = await work;
  t.match(String(got.err), /rejected GetFlows: too many filters: 10000 \(whitelist 10000, blacklist 0\); a request may have at most 256/);
  t.notOk(probes.includes('no answer'), `ServerStatus answered each time: ${probes.join(', ')}`);
});
