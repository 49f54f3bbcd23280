// A node agent's Hubble server in the sim: flows recorded through the hub, served on the pod's port to our client
// and to a plain grpc-js client, the Peer service, and lost_events for a follower the ring laps.
import t, { type Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { connectObserver } from '../../../lib/hubble/client.ts';
import { protoDir } from '../../../lib/hubble/grpc/protos.ts';
import type { GetFlowsResponse } from '../../../lib/flows/types.ts';
import { startHubbleAgent } from '../../../lib/sim/hubble/agent.ts';
import { hubbleAgentConfig } from '../../../lib/sim/hubble/agent-config.ts';
import { SimHubble } from '../../../lib/sim/hubble/hub.ts';
import { agentPod, clientPorts, clusterName, forwardTo, nextWithin, nodeIP, synFlows, testDatapath } from './fixtures.ts';

const enabled = hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-listen-address': ':4244' });

async function agentOn(t: Test, hub: SimHubble, node: string, config = enabled) {
  const dp = await testDatapath(t);
  const pod = agentPod(dp, node);
  const agent = await startHubbleAgent({ hub, node, ip: nodeIP(node), config, net: pod, version: '1.16.5' });
  t.teardown(() => agent.stop());
  return { dp, pod, agent };
}

t.test('an agent serves the flows recorded on its node, and only those', async (t) => {
  const hub = new SimHubble({ clusterName });
  const { pod } = await agentOn(t, hub, 'sim-worker');
  synFlows(hub, 'sim-worker', 5);
  synFlows(hub, 'sim-worker2', 3);
  const fwd = await forwardTo(t, pod, 4244);
  const client = await connectObserver(fwd.address, { what: 'Hubble on sim-worker' });
  t.teardown(() => client.close());

  t.equal(await client.health(), 'SERVING');
  const got: GetFlowsResponse[] = [];
  for await (const r of client.getFlows({ number: 100 })) got.push(r);
  t.same(clientPorts(got), [40000, 40001, 40002, 40003, 40004], 'the node’s five flows, oldest first');
  t.ok(got.every((r) => r.node_name === 'kind-sim/sim-worker' && r.flow?.node_name === 'kind-sim/sim-worker'));
  t.equal(got[0]!.flow?.source?.pod_name, 'client-7d4b9c8f6-x2v4k');
  t.equal(got[0]!.flow?.trace_observation_point, 'TO_ENDPOINT');

  const last2: GetFlowsResponse[] = [];
  for await (const r of client.getFlows({ number: 2 })) last2.push(r);
  t.same(clientPorts(last2), [40003, 40004], '--last 2');

  const status = await client.serverStatus();
  t.equal(status.num_flows, '5');
  t.equal(status.max_flows, '4095');
  t.equal(status.seen_flows, '5');
  t.equal(status.version, '1.16.5');
  t.same(
    (await client.getNodes()).map((n) => n.name),
    ['kind-sim/sim-worker'],
  );
  t.same(hub.stats(), { flows: { emitted: 5, byNode: { 'sim-worker': 5 }, unobserved: 3 } }, 'flows of a node without Hubble are not recorded');
});

t.test('a plain grpc-js client built from the .proto files reads flows, status and peers', async (t) => {
  const hub = new SimHubble({ clusterName });
  const { pod } = await agentOn(t, hub, 'sim-worker');
  synFlows(hub, 'sim-worker', 3);
  const fwd = await forwardTo(t, pod, 4244);

  const def = protoLoader.loadSync(
    ['observer/observer.proto', 'peer/peer.proto'].map((f) => f.split('/')[1]!),
    {
      includeDirs: [protoDir],
      keepCase: true,
      enums: String,
      longs: String,
      defaults: false,
    },
  );
  const pkg = grpc.loadPackageDefinition(def) as any;
  const observer = new pkg.observer.Observer(fwd.address, grpc.credentials.createInsecure());
  const peer = new pkg.peer.Peer(fwd.address, grpc.credentials.createInsecure());
  t.teardown(() => {
    observer.close();
    peer.close();
  });

  const flows = await new Promise<any[]>((resolve, reject) => {
    const out: any[] = [];
    const call = observer.GetFlows({ number: '2' });
    call.on('data', (r: any) => out.push(r));
    call.on('end', () => resolve(out));
    call.on('error', reject);
  });
  t.same(
    flows.map((r) => r.flow.l4.TCP.source_port),
    [40001, 40002],
  );
  t.equal(flows[0].flow.verdict, 'FORWARDED');
  t.equal(flows[0].flow.source.namespace, 'demo');
  t.equal(flows[0].node_name, 'kind-sim/sim-worker');

  const status = await new Promise<any>((resolve, reject) => observer.ServerStatus({}, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))));
  t.equal(status.num_flows, '3');
  t.equal(status.max_flows, '4095');

  const first = await new Promise<any>((resolve, reject) => {
    const call = peer.Notify({});
    call.once('data', (n: unknown) => {
      resolve(n);
      call.cancel();
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) reject(err);
    });
  });
  t.same(first, { name: 'kind-sim/sim-worker', address: nodeIP('sim-worker'), type: 'PEER_ADDED' }, 'Peer.Notify lists the node at its IP');
});

t.test('an agent without Hubble records nothing and listens nowhere', async (t) => {
  const hub = new SimHubble({ clusterName });
  const { pod, agent } = await agentOn(t, hub, 'sim-worker', hubbleAgentConfig({ 'enable-hubble': 'false', 'hubble-listen-address': ':4244' }));
  t.equal(agent.enabled, false);
  synFlows(hub, 'sim-worker', 4);
  t.same(hub.stats().flows, { emitted: 0, byNode: {}, unobserved: 4 });
  await t.rejects(pod.dial(4244, { from: 'node' }), { code: 'ECONNREFUSED' });
  t.same(hub.peers(), [{ name: 'kind-sim/sim-worker', address: nodeIP('sim-worker') }], 'the node is still a peer (Relay will see it unavailable)');
});

t.test('a listen address on 127.0.0.1 is reachable from inside the agent pod only', async (t) => {
  const hub = new SimHubble({ clusterName });
  const { pod } = await agentOn(t, hub, 'sim-worker', hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-listen-address': '127.0.0.1:4244' }));
  await t.rejects(pod.dial(4244, { from: 'node' }), { code: 'ECONNREFUSED' }, 'not from the node (nor Relay)');
  const inside = await pod.dial(4244);
  t.ok(inside.remotePort, 'from inside the pod');
  inside.destroy();
});

t.test('a follower the ring laps gets lost_events and then the newest flows', async (t) => {
  const hub = new SimHubble({ clusterName });
  const { pod } = await agentOn(
    t,
    hub,
    'sim-worker',
    hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-listen-address': ':4244', 'hubble-event-buffer-capacity': '15' }),
  );
  const fwd = await forwardTo(t, pod, 4244);
  const client = await connectObserver(fwd.address);
  t.teardown(() => client.close());
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  const stream = client.getFlows({ follow: true }, { signal: stop.signal })[Symbol.asyncIterator]();

  // A follow stream starts at the newest record when the agent gets the request: write one flow at a time until
  // one arrives, which proves the stream is open; then the reader stops reading while the node keeps writing.
  const firstRead = stream.next();
  let opened: IteratorResult<GetFlowsResponse> | undefined;
  void firstRead.then((r) => (opened = r));
  let probes = 0;
  while (!opened && probes < 200) {
    synFlows(hub, 'sim-worker', 1, 1000 + probes++);
    await new Promise((r) => setTimeout(r, 10));
  }
  const firstPort = clientPorts([opened!.value])[0]!;
  const total = 4000;
  for (let batch = 0; batch < total / 200; batch++) {
    synFlows(hub, 'sim-worker', 200, 2000 + batch * 200);
    await new Promise((r) => setImmediate(r));
  }

  let flows = 0;
  let lost = 0;
  const lostRecords: GetFlowsResponse[] = [];
  const lastPort = 2000 + total - 1;
  for (;;) {
    const next = await nextWithin(stream, 5000, 'record after the writes');
    if (next.done) break;
    const r = next.value;
    if (r.lost_events) {
      lostRecords.push(r);
      lost += Number(r.lost_events.num_events_lost);
    } else if (r.flow) {
      flows++;
      if (r.flow.l4?.TCP?.source_port === lastPort) break;
    }
  }
  t.ok(lostRecords.length >= 1, 'the slow reader is told it lost events');
  t.equal(lostRecords[0]!.lost_events!.source, 'HUBBLE_RING_BUFFER');
  t.equal(lostRecords[0]!.node_name, 'kind-sim/sim-worker');
  const probesAfterFirst = 1000 + probes - 1 - firstPort;
  t.equal(flows + lost, total + probesAfterFirst, 'every flow written after the first one read is either received or counted as lost');
  t.ok(flows < total, 'some were lost');
});
