// Services without ready backends, as Cilium's load balancer answers them: refused at once by default
// (service-no-backend-response: reject), dropped with SERVICE_BACKEND_NOT_FOUND when the agents are set to drop.
import t from 'tap';
import { AgentConfigError } from '../../../lib/sim/hubble/agent-config.ts';
import { NodeLoadBalancers, noBackendResponse } from '../../../lib/sim/cilium/services.ts';
import { agentFlows, enableHubble, jobOutcome, nodeScriptSpec, scriptConfigMap, startCiliumSim, synRetries, waitFor } from './helpers.ts';

const ns = 'lb';

// Connects to the Service by name and logs how the connection ended.
const connectScript = `
import net from 'node:net';
const s = net.connect(80, 'empty.${ns}.svc.cluster.local');
s.on('connect', () => { console.log('connected'); s.destroy(); });
s.on('error', (e) => { console.log(e.code); process.exitCode = 1; });
`;

const objects = `
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: empty, namespace: ${ns}}
spec:
  replicas: 0
  selector: {matchLabels: {app: empty}}
  template:
    metadata: {labels: {app: empty}}
    spec:
      containers: [{name: nginx, image: nginx:alpine, ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: ${ns}}
spec:
  selector: {app: empty}
  ports: [{port: 80}]
`;

function connectJob(name: string): Record<string, any> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: ns },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { app: 'caller' } },
        spec: { restartPolicy: 'Never', nodeName: 'sim-worker', ...nodeScriptSpec('connect', 'connect.mjs') },
      },
    },
  };
}

t.test('service-no-backend-response as the agent reads it', async (t) => {
  t.equal(noBackendResponse(undefined), 'reject', "Cilium's default");
  t.equal(noBackendResponse({ 'service-no-backend-response': 'drop' }), 'drop');
  const refused = (() => {
    try {
      noBackendResponse({ 'service-no-backend-response': 'ignore' });
    } catch (err) {
      return err;
    }
  })();
  t.ok(refused instanceof AgentConfigError, 'an unknown value stops the agent');
  t.match(refused, { message: "Invalid value for --service-no-backend-response: ignore (must be 'reject' or 'drop')" });
  const lbs = new NodeLoadBalancers();
  t.equal(lbs.noBackendResponse('n1'), 'reject', 'before its agent started, a node has the default');
  lbs.agentStarting('n1', { 'service-no-backend-response': 'drop' });
  t.same([lbs.noBackendResponse('n1'), lbs.noBackendResponse('n2')], ['drop', 'reject'], 'each node as its agent started');
});

t.test('a Service scaled to zero: refused at once by default, dropped as SERVICE_BACKEND_NOT_FOUND when set to drop', async (t) => {
  const sim = await startCiliumSim(t);
  await enableHubble(sim);
  await sim.apply(objects);
  await sim.apply([scriptConfigMap(ns, 'connect', { 'connect.mjs': connectScript })]);
  const clusterIP = (await sim.core.readNamespacedService({ name: 'empty', namespace: ns })).spec!.clusterIP!;
  await waitFor('the Service in the datapath', () => sim.runtime.datapath.services.lookup(clusterIP, 'TCP', 80), 20_000);

  // Default: the load balancer answers the SYN with ICMP port unreachable; Hubble records nothing about it.
  await sim.apply([connectJob('reject')]);
  const rejected = await jobOutcome(sim, ns, 'reject');
  t.equal(rejected.log, 'ECONNREFUSED\n', 'the client is refused at once');
  const toService = (f: { IP?: { destination?: string } }) => f.IP?.destination === clusterIP;
  t.same((await agentFlows(sim)).filter(toService), [], 'and Hubble shows no flow to the ClusterIP');

  // The agents restarted with service-no-backend-response: drop.
  await enableHubble(sim, { 'service-no-backend-response': 'drop' });
  await sim.apply([connectJob('drop')]);
  const dropped = await jobOutcome(sim, ns, 'drop');
  t.equal(dropped.log, 'ETIMEDOUT\n', 'the SYN vanishes: the client times out');
  const flows = (await agentFlows(sim)).filter(toService);
  t.equal(flows.length, synRetries + 1, 'one DROPPED flow per SYN');
  for (const f of flows) {
    t.match(f, {
      verdict: 'DROPPED',
      drop_reason: 158,
      drop_reason_desc: 'SERVICE_BACKEND_NOT_FOUND',
      event_type: { type: 1, sub_type: 158 },
      Type: 'L3_L4',
      traffic_direction: 'EGRESS',
      IP: { destination: clusterIP },
      l4: { TCP: { destination_port: 80, flags: { SYN: true } } },
      source: { namespace: ns, pod_name: dropped.pod },
      destination: { identity: 2, labels: ['reserved:world'] },
      destination_service: { name: 'empty', namespace: ns },
      node_name: 'kind-sim/sim-worker',
      Summary: 'TCP Flags: SYN',
    });
    t.equal(f.is_reply, undefined, 'a drop has no reply flag');
  }
  t.same(new Set(flows.map((f) => f.l4!.TCP!.source_port)).size, 1, 'the retransmissions of one connection');
});
