// Cluster DNS through the datapath and Cilium's DNS proxy: kube-dns answers on its ClusterIP over UDP and TCP; with a
// dns rule, Hubble shows each query and answer, and names the rule does not allow are REFUSED.
import t from 'tap';
import type { Flow } from '../../../lib/flows/types.ts';
import { agentFlows, enableHubble, jobOutcome, nodeScriptSpec, scriptConfigMap, startCiliumSim, waitFor } from './helpers.ts';

const ns = 'dnsdemo';

// Raw queries to the kube-dns ClusterIP: over UDP, then over TCP (2-byte length framing); prints the rcode and the
// address of an A answer.
const resolver = `
import dgram from 'node:dgram';
import net from 'node:net';
const server = '127.96.0.10';
const query = (id, name) => Buffer.concat([
  Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
  ...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
  Buffer.from([0, 0, 1, 0, 1]),
]);
const show = (how, name, m) => console.log(how + ' ' + name + ' rcode=' + (m[3] & 15) + (m.readUInt16BE(6) ? ' ' + [...m.subarray(m.length - 4)].join('.') : ''));
const udp = (name) => new Promise((resolve) => {
  const s = dgram.createSocket('udp4');
  s.on('message', (m) => { show('udp', name, m); s.close(); resolve(); });
  s.send(query(7, name), 53, server);
});
const tcp = (name) => new Promise((resolve) => {
  const s = net.connect(53, server, () => { const q = query(9, name); s.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q])); });
  let buf = Buffer.alloc(0);
  s.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { show('tcp', name, buf.subarray(2)); s.end(); resolve(); }
  });
});
await udp('kube-dns.kube-system.svc.cluster.local');
await udp('forbidden.example.com');
await tcp('kube-dns.kube-system.svc.cluster.local');
await tcp('forbidden.example.com');
`;

const dnsVisibility = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'resolver-dns', namespace: ns },
  spec: {
    endpointSelector: { matchLabels: { app: 'resolver' } },
    egress: [
      {
        toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }],
        toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*.*.svc.cluster.local' }] } }],
      },
    ],
  },
};

const l7 = (f: Flow) => `${f.node_name!.split('/').pop()} ${f.l7!.type} ${f.verdict} ${f.traffic_direction} reply=${f.is_reply} ${f.Summary}`;

t.test('kube-dns over UDP and TCP through the datapath; a dns rule shows queries and refuses other names', async (t) => {
  const sim = await startCiliumSim(t);
  await enableHubble(sim);
  await sim.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    scriptConfigMap(ns, 'resolver', { 'resolver.mjs': resolver }),
    dnsVisibility,
  ]);
  await waitFor(
    'kube-dns endpoints',
    async () => (await sim.core.readNamespacedEndpoints({ name: 'kube-dns', namespace: 'kube-system' })).subsets?.[0]?.addresses?.length,
    20_000,
  );
  await sim.apply([
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'resolver', namespace: ns },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels: { app: 'resolver' } },
          spec: { restartPolicy: 'Never', nodeName: 'sim-worker', ...nodeScriptSpec('resolver', 'resolver.mjs') },
        },
      },
    },
  ]);
  const job = await jobOutcome(sim, ns, 'resolver');
  t.equal(
    job.log,
    [
      'udp kube-dns.kube-system.svc.cluster.local rcode=0 127.96.0.10',
      'udp forbidden.example.com rcode=5',
      'tcp kube-dns.kube-system.svc.cluster.local rcode=0 127.96.0.10',
      'tcp forbidden.example.com rcode=5',
      '',
    ].join('\n'),
    'answers over UDP and TCP; REFUSED (5) for a name the rule does not allow',
  );

  const flows = (await agentFlows(sim)).filter((f) => f.source?.pod_name === job.pod || f.destination?.pod_name === job.pod);
  const dns = flows.filter((f) => f.Type === 'L7');
  t.same(dns.map(l7), [
    'sim-worker REQUEST FORWARDED EGRESS reply=false DNS Query kube-dns.kube-system.svc.cluster.local. A',
    'sim-worker RESPONSE FORWARDED EGRESS reply=true DNS Answer "127.96.0.10" TTL: 30 (Proxy kube-dns.kube-system.svc.cluster.local. A)',
    'sim-worker REQUEST DROPPED EGRESS reply=false DNS Query forbidden.example.com. A',
    'sim-worker REQUEST FORWARDED EGRESS reply=false DNS Query kube-dns.kube-system.svc.cluster.local. A',
    'sim-worker RESPONSE FORWARDED EGRESS reply=true DNS Answer "127.96.0.10" TTL: 30 (Proxy kube-dns.kube-system.svc.cluster.local. A)',
    'sim-worker REQUEST DROPPED EGRESS reply=false DNS Query forbidden.example.com. A',
  ]);
  t.match(dns[1], {
    l7: {
      type: 'RESPONSE',
      latency_ns: /^[1-9]\d*$/,
      dns: { query: 'kube-dns.kube-system.svc.cluster.local.', ips: ['127.96.0.10'], ttl: 30, qtypes: ['A'], rrtypes: ['A'], observation_source: 'proxy' },
    },
    source: {
      namespace: 'kube-system',
      labels: [
        'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=kube-system',
        /policy.cluster=kind-sim$/,
        /serviceaccount=coredns$/,
        'k8s:io.kubernetes.pod.namespace=kube-system',
        'k8s:k8s-app=kube-dns',
      ],
      workloads: [{ name: 'coredns', kind: 'Deployment' }],
    },
    destination: { pod_name: job.pod },
    source_service: { name: 'kube-dns', namespace: 'kube-system' },
  });
  t.equal(dns[1]!.l7!.dns!.rcode, undefined, 'NOERROR is left out, as protojson leaves out zero');
  const udp = flows.filter((f) => f.Type === 'L3_L4' && f.l4?.UDP);
  t.ok(
    udp.some((f) => f.Summary === 'UDP' && f.destination_service?.name === 'kube-dns' && f.is_reply === false),
    'the UDP queries are traced',
  );
  t.ok(
    udp.some((f) => f.is_reply === true && f.source?.labels?.includes('k8s:k8s-app=kube-dns')),
    'and their replies',
  );
});
