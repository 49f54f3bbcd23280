// The Cilium and Hubble images as the pod runtime starts them: cilium-config read from the mounted config dir at
// start only, fatal settings, init steps of the agent image, and Relay's command line.
import t, { type Test } from 'tap';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectObserver } from '../../../lib/hubble/client.ts';
import type { GetFlowsResponse } from '../../../lib/flows/types.ts';
import { ciliumAgentImage, hubbleRelayImage, imageVersion } from '../../../lib/sim/hubble/images.ts';
import { SimHubble } from '../../../lib/sim/hubble/hub.ts';
import { NodeLoadBalancers } from '../../../lib/sim/cilium/services.ts';
import { agentPod, clientPorts, clusterName, containerContext, forwardTo, hubblePeerIP, podOn, synFlows, testDatapath } from './fixtures.ts';

const agentContainer = {
  name: 'cilium-agent',
  image: 'quay.io/cilium/cilium:v1.16.5',
  command: ['cilium-agent'],
  args: ['--config-dir=/tmp/cilium/config-map'],
};

/** A pod root with cilium-config mounted at /tmp/cilium/config-map, as the DaemonSet mounts it. */
async function configRoot(t: Test, data: Record<string, string>) {
  const root = await mkdtemp(join(tmpdir(), 'hubble-lab-agent-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'tmp/cilium/config-map');
  await mkdir(dir, { recursive: true });
  const write = async (d: Record<string, string>) => {
    for (const [k, v] of Object.entries(d)) await writeFile(join(dir, k), v);
  };
  await write(data);
  return { root, write };
}

t.test('the agent reads enable-hubble when its pod starts, and only then', async (t) => {
  const dp = await testDatapath(t);
  const hub = new SimHubble({ clusterName });
  const { root, write } = await configRoot(t, { 'cluster-name': clusterName, 'enable-hubble': 'false', 'hubble-listen-address': ':4244' });
  const pod = agentPod(dp, 'sim-worker');
  const start = ciliumAgentImage(hub);

  const first = await start(containerContext(pod, agentContainer, { root }));
  synFlows(hub, 'sim-worker', 3, 1);
  await t.rejects(pod.dial(4244, { from: 'node' }), { code: 'ECONNREFUSED' }, 'no Hubble server');
  await write({ 'enable-hubble': 'true' });
  synFlows(hub, 'sim-worker', 3, 4);
  await t.rejects(pod.dial(4244, { from: 'node' }), { code: 'ECONNREFUSED' }, 'a ConfigMap change alone changes nothing');
  t.same(hub.stats().flows, { emitted: 0, byNode: {}, unobserved: 6 });

  await first.stop();
  const log: string[] = [];
  const second = await start(containerContext(pod, agentContainer, { root, log }));
  t.teardown(() => second.stop());
  t.ok(
    log.some((l) => l.includes('Starting Hubble server')),
    'the restarted agent logs that Hubble starts',
  );
  synFlows(hub, 'sim-worker', 2, 7);
  const fwd = await forwardTo(t, pod, 4244);
  const client = await connectObserver(fwd.address);
  t.teardown(() => client.close());
  const got: GetFlowsResponse[] = [];
  for await (const r of client.getFlows({ number: 100 })) got.push(r);
  t.same(clientPorts(got), [7, 8], 'after the restart: only flows since Hubble started');
  t.equal((await client.serverStatus()).version, '1.16.5', 'the version comes from the image tag');
});

t.test('without --config-dir the agent takes cilium-config from its namespace, also only at start', async (t) => {
  const dp = await testDatapath(t);
  const hub = new SimHubble({ clusterName });
  const pod = agentPod(dp, 'sim-worker2');
  const ciliumConfig: Record<string, string> = { 'enable-hubble': 'false', 'hubble-listen-address': ':4244' };
  const ctx = () =>
    containerContext(
      pod,
      { name: 'cilium-agent', image: 'quay.io/cilium/cilium:v1.16.5', command: ['cilium-agent'] },
      { configMaps: { 'kube-system/cilium-config': ciliumConfig } },
    );
  const first = await ciliumAgentImage(hub)(ctx());
  ciliumConfig['enable-hubble'] = 'true';
  t.equal(hub.serving('sim-worker2'), false, 'the change waits for a restart');
  await first.stop();
  const second = await ciliumAgentImage(hub)(ctx());
  t.teardown(() => second.stop());
  t.equal(hub.serving('sim-worker2'), true);
});

t.test('a capacity Cilium refuses stops the agent with a fatal log line', async (t) => {
  const dp = await testDatapath(t);
  const hub = new SimHubble({ clusterName });
  const { root } = await configRoot(t, { 'enable-hubble': 'true', 'hubble-listen-address': ':4244', 'hubble-event-buffer-capacity': '5000' });
  const log: string[] = [];
  const proc = await ciliumAgentImage(hub)(containerContext(agentPod(dp, 'sim-worker'), agentContainer, { root, log }));
  t.equal(await proc.exited, 1);
  t.match(log.join('\n'), /level=fatal .*invalid capacity: must be one less than an integer power of two: 5000/);
  t.equal(hub.serving('sim-worker'), false);
});

t.test("the agent programs its node's load balancer from cilium-config at start; a value Cilium refuses stops it", async (t) => {
  const dp = await testDatapath(t);
  const hub = new SimHubble({ clusterName });
  const lbs = new NodeLoadBalancers();
  const hooks = { starting: (node: string, config: Record<string, string>) => lbs.agentStarting(node, config) };
  const { root, write } = await configRoot(t, { 'service-no-backend-response': 'drop' });
  const pod = agentPod(dp, 'sim-worker');
  const ok = await ciliumAgentImage(hub, hooks)(containerContext(pod, agentContainer, { root }));
  t.equal(lbs.noBackendResponse('sim-worker'), 'drop');
  await ok.stop();
  await write({ 'service-no-backend-response': 'ignore' });
  const log: string[] = [];
  const bad = await ciliumAgentImage(hub, hooks)(containerContext(pod, agentContainer, { root, log }));
  t.equal(await bad.exited, 1);
  t.match(log.join('\n'), /level=fatal msg="Invalid value for --service-no-backend-response: ignore \(must be 'reject' or 'drop'\)"/);
});

t.test('init steps that use the agent image succeed without starting an agent', async (t) => {
  const dp = await testDatapath(t);
  const hub = new SimHubble({ clusterName });
  const proc = await ciliumAgentImage(hub)(
    containerContext(agentPod(dp, 'sim-worker'), { name: 'config', image: 'quay.io/cilium/cilium:v1.16.5', command: ['cilium-dbg', 'build-config'] }),
  );
  t.equal(await proc.exited, 0);
  t.same(hub.peers(), [], 'no agent registered');
});

t.test('Relay refuses a peer service it cannot dial and warns about flags it does not know', async (t) => {
  const dp = await testDatapath(t);
  const pod = podOn(dp, 'sim-worker', 'hubble-relay-6c8d9f7b5-h4j7k', 30, { 'k8s-app': 'hubble-relay' });
  const log: string[] = [];
  const bad = await hubbleRelayImage()(
    containerContext(
      pod,
      {
        name: 'hubble-relay',
        image: 'quay.io/cilium/hubble-relay:v1.16.5',
        command: ['hubble-relay'],
        args: ['serve', '--peer-service=unix:///var/run/cilium/hubble.sock'],
      },
      { log },
    ),
  );
  t.equal(await bad.exited, 1);
  t.match(log.join('\n'), /peer-service "unix:\/\/\/var\/run\/cilium\/hubble.sock"/);

  const warned: string[] = [];
  const relay = await hubbleRelayImage()(
    containerContext(
      pod,
      {
        name: 'hubble-relay',
        image: 'quay.io/cilium/hubble-relay:v1.16.5',
        command: ['hubble-relay'],
        args: ['serve', '--local-server-address=0.0.0.0:4245', `--peer-service=${hubblePeerIP}:443`, '--frobnicate=1'],
      },
      { log: warned },
    ),
  );
  t.teardown(() => relay.stop());
  t.equal(relay.exited, undefined, 'it keeps running');
  t.match(warned.join('\n'), /ignoring unknown flag: --frobnicate/);
  const fwd = await forwardTo(t, pod, 4245);
  const client = await connectObserver(fwd.address);
  t.teardown(() => client.close());
  t.equal(await client.health(), 'SERVING', 'Relay serves on the pod port from --local-server-address');
});

t.test('image versions come from the tag', async (t) => {
  t.equal(imageVersion('quay.io/cilium/cilium:v1.16.5', 'x'), '1.16.5');
  t.equal(imageVersion('quay.io/cilium/hubble-relay:v1.14.5@sha256:abc', 'x'), '1.14.5');
  t.equal(imageVersion('quay.io/cilium/cilium:latest', '1.19.1'), '1.19.1');
  t.equal(imageVersion('quay.io/cilium/cilium', '1.19.1'), '1.19.1');
});
