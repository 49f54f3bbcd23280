// Cilium in the started sim: a Job reaches nginx through its Service until a NetworkPolicy shuts it out, and Hubble
// shows the policy drops naming both pods; Service load balancing, cluster DNS and the stats the sim serves.
import t from 'tap';
import { parseArgs } from '../../../lib/args.ts';
import type { Flow } from '../../../lib/flows/types.ts';
import { buildGetFlowsRequest, observeFilterOptions, observeSelectorOptions } from '../../../lib/hubble/filter/flags.ts';
import { compileFlowFilters } from '../../../lib/hubble/filter/match.ts';
import { raw } from '../helpers.ts';
import { agentFlows, enableHubble, jobOutcome, nodeScriptSpec, scriptConfigMap, startCiliumSim, synRetries, waitFor } from './helpers.ts';

const ns = 'shop';

const fetchScript = `
const url = 'http://web.${ns}.svc.cluster.local/';
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = await res.text();
  console.log('GET ' + url + ' ' + res.status + ' ' + (/<title>(.*)<\\/title>/.exec(body)?.[1] ?? ''));
} catch (e) {
  console.log('GET ' + url + ' failed: ' + (e.cause?.code ?? e.name));
  process.exit(1);
}
`;

const app = `
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: nginx:alpine, ports: [{containerPort: 80, name: http}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
`;

function fetchJob(name: string, pods = 1): Record<string, any> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: ns },
    spec: {
      backoffLimit: 0,
      completions: pods,
      parallelism: pods,
      template: { metadata: { labels: { app: 'fetcher' } }, spec: { restartPolicy: 'Never', ...nodeScriptSpec('fetch', 'fetch.mjs') } },
    },
  };
}

const onlyFriends = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'web-only-friends', namespace: ns },
  spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'friend' } } }] }] },
};

const names = (f: Flow) => `${f.source?.pod_name} -> ${f.destination?.pod_name}`;

t.test('a Job reaches nginx by its Service name until a NetworkPolicy admits only other pods; Hubble shows the drops', async (t) => {
  const sim = await startCiliumSim(t);
  const before = (await raw(sim.cluster, 'GET', '/debug/sim/stats')).json;
  t.same(before.connections, { allowed: 0, denied: 0 }, 'stats have connections from the start');
  await sim.apply(app);
  await sim.apply([scriptConfigMap(ns, 'fetch', { 'fetch.mjs': fetchScript })]);
  await waitFor('nginx ready', async () => (await sim.core.readNamespacedEndpoints({ name: 'web', namespace: ns })).subsets?.[0]?.addresses?.length, 20_000);
  await enableHubble(sim);

  await sim.apply([fetchJob('fetch-1', 2)]);
  const first = await jobOutcome(sim, ns, 'fetch-1');
  t.equal(first.phase, 'Succeeded');
  t.equal(first.log, `GET http://web.${ns}.svc.cluster.local/ 200 Welcome to nginx!\n`, "the Job logs nginx's 200");
  const fetchers = await waitFor(
    'both pods of fetch-1 to succeed',
    async () => {
      const pods = (await sim.core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=fetch-1' })).items;
      return pods.length === 2 && pods.every((p) => p.status?.phase === 'Succeeded') ? pods.map((p) => p.metadata!.name!) : undefined;
    },
    20_000,
  );

  await sim.apply([onlyFriends]);
  await sim.apply([fetchJob('fetch-2')]);
  const second = await jobOutcome(sim, ns, 'fetch-2');
  t.equal(second.phase, 'Failed');
  t.equal(second.log, `GET http://web.${ns}.svc.cluster.local/ failed: ETIMEDOUT\n`, 'the same Job now times out');

  const web = (await sim.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' })).items[0]!;
  const flows = await agentFlows(sim);
  const drops = flows.filter((f) => f.verdict === 'DROPPED' && f.event_type?.type === 1);
  t.ok(drops.length > 0, 'DROPPED flows');
  t.same([...new Set(drops.map(names))], [`${second.pod} -> ${web.metadata!.name}`], 'every drop names both pods');
  for (const d of drops) {
    t.match(d, {
      drop_reason_desc: 'POLICY_DENIED',
      event_type: { type: 1, sub_type: 133 },
      traffic_direction: 'INGRESS',
      Summary: 'TCP Flags: SYN',
      l4: { TCP: { destination_port: 80, flags: { SYN: true } } },
      source: { namespace: ns, pod_name: second.pod, workloads: [{ name: 'fetch-2', kind: 'Job' }] },
      destination: { namespace: ns, pod_name: web.metadata!.name, workloads: [{ name: 'web', kind: 'Deployment' }] },
      destination_service: { name: 'web', namespace: ns },
      node_name: `kind-sim/${web.spec!.nodeName}`,
    });
    t.equal(d.is_reply, undefined, 'a drop has no reply flag');
  }
  // web's ingress policy reports a verdict for each dropped SYN, just before the drop, on web's node; the Jobs
  // enforce no egress policy and report none, and before the policy existed web reported none either.
  const verdicts = flows.filter((f) => f.event_type?.type === 5);
  t.same(verdicts.map(names), drops.map(names), 'one policy verdict per drop, and no other');
  const typeFlag = buildGetFlowsRequest(parseArgs(['--type', 'policy-verdict'], [...observeSelectorOptions, ...observeFilterOptions], 'observe'), {
    live: false,
  });
  t.same(flows.filter(compileFlowFilters(typeFlag.whitelist, typeFlag.blacklist)), verdicts, '--type policy-verdict selects them');
  for (const [i, v] of verdicts.entries()) {
    t.match(v, {
      verdict: 'DROPPED',
      drop_reason: 133,
      drop_reason_desc: 'POLICY_DENIED',
      Type: 'L3_L4',
      traffic_direction: 'INGRESS',
      Summary: 'TCP Flags: SYN',
      l4: drops[i]!.l4,
      node_name: drops[i]!.node_name,
      destination_service: { name: 'web', namespace: ns },
    });
    t.ok(v.time! < drops[i]!.time!, 'the verdict comes before its drop');
    t.same([v.policy_match_type, v.is_reply, v.ingress_denied_by], [undefined, undefined, undefined], 'default deny: no match, no reply flag, no policy named');
  }
  const perConnection = new Map<number, number>();
  for (const d of drops) perConnection.set(d.l4!.TCP!.source_port!, (perConnection.get(d.l4!.TCP!.source_port!) ?? 0) + 1);
  t.same([...perConnection.values()], [synRetries + 1], 'one DROPPED flow per SYN: the first and each retransmission');
  const labels = drops[0]!.source!.labels!;
  for (const label of [
    'k8s:app=fetcher',
    'k8s:job-name=fetch-2',
    'k8s:batch.kubernetes.io/job-name=fetch-2',
    `k8s:io.kubernetes.pod.namespace=${ns}`,
    `k8s:io.cilium.k8s.policy.cluster=kind-sim`,
    'k8s:io.cilium.k8s.policy.serviceaccount=default',
  ]) {
    t.ok(labels.includes(label), `source labels include ${label}`);
  }
  t.same(
    labels.filter((l) => l.includes('controller-uid')),
    [],
    "the Job's controller-uid labels are not identity labels",
  );
  t.ok(drops[0]!.source!.identity! >= 256 && drops[0]!.destination!.identity! >= 256, 'pods carry cluster-local identities');

  const served = flows.filter((f) => f.verdict === 'FORWARDED' && f.source?.pod_name === first.pod && f.destination?.pod_name === web.metadata!.name);
  const fetcherIdentities = fetchers.map((pod) => flows.find((f) => f.source?.pod_name === pod)?.source?.identity);
  t.ok(fetcherIdentities[0], 'the pods of fetch-1 have flows');
  t.equal(fetcherIdentities[0], fetcherIdentities[1], 'the two pods of one Job share an identity');
  t.ok(
    served.some((f) => f.Summary === 'TCP Flags: SYN' && f.destination_service?.name === 'web'),
    'the first Job connection was forwarded',
  );
  const stats = (await raw(sim.cluster, 'GET', '/debug/sim/stats')).json;
  t.ok(stats.connections.allowed >= 1 && stats.connections.denied === 1, `connections ${JSON.stringify(stats.connections)}`);
  t.ok(stats.flows.emitted >= flows.length, 'flows are counted');
});
