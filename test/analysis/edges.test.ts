// Endpoints named by what they are, the same way on every line of one pod, whichever fields each line carries.
import t from 'tap';
import { FlowAggregator } from '../../lib/analysis/aggregate.ts';
import type { Endpoint, Flow } from '../../lib/flows/types.ts';

let n = 0;
function flow(src: { ip: string; ep?: Endpoint }, dst: { ip: string; ep?: Endpoint }, opts: Partial<Flow> = {}): Flow {
  n++;
  return {
    time: new Date(Date.UTC(2026, 0, 1) + n * 10).toISOString(),
    verdict: 'FORWARDED',
    IP: { source: src.ip, destination: dst.ip, ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 40000 + n, destination_port: 8080, flags: { SYN: true } } },
    source: src.ep,
    destination: dst.ep,
    is_reply: false,
    event_type: { type: 4 },
    node_name: 'n1',
    ...opts,
  };
}

// What real exports carry: identities with labels but no namespace or pod_name fields (field masks, older agents).
const labelsOnly = (app: string, ns: string): Endpoint => ({
  identity: 51234,
  labels: [`k8s:app=${app}`, `k8s:io.kubernetes.pod.namespace=${ns}`, 'k8s:io.cilium.k8s.policy.cluster=default'],
});
const full = (app: string, ns: string): Endpoint => ({
  identity: 51234,
  namespace: ns,
  pod_name: `${app}-6d8f7c9b5d-q2w4e`,
  labels: [`k8s:app=${app}`, `k8s:io.kubernetes.pod.namespace=${ns}`],
});

t.test('labels name an endpoint when namespace and pod_name are missing; two workloads behind one IP stay apart', async (t) => {
  const agg = new FlowAggregator();
  const ip = '10.244.0.148';
  // Host-network pods share their node's IP: only their labels tell them apart.
  for (let i = 0; i < 3; i++) agg.addFlow(flow({ ip, ep: labelsOnly('fluent-bit', 'logging') }, { ip: '10.244.1.7', ep: labelsOnly('loki', 'logging') }));
  for (let i = 0; i < 2; i++)
    agg.addFlow(flow({ ip, ep: labelsOnly('node-exporter', 'monitoring') }, { ip: '10.244.1.9', ep: labelsOnly('prometheus', 'monitoring') }));
  const a = agg.finish();
  t.same(
    a.edges.map((e) => [e.source, e.destination, e.flows]),
    [
      ['logging/fluent-bit', 'logging/loki', 3],
      ['monitoring/node-exporter', 'monitoring/prometheus', 2],
    ],
  );
  t.same(a.edges[0]!.sourceLabels, { app: 'fluent-bit', 'io.kubernetes.pod.namespace': 'logging', 'io.cilium.k8s.policy.cluster': 'default' });
});

t.test('a pod first seen by its IP alone is named from the richest line, and its edges are one', async (t) => {
  const agg = new FlowAggregator();
  const client = { ip: '10.244.2.5', ep: full('checkout', 'shop') };
  const bare = { ip: '10.244.3.8' };
  const named = { ip: '10.244.3.8', ep: full('payments', 'shop') };
  agg.addFlow(flow(client, bare)); // e.g. a drop before the endpoint was known
  agg.addFlow(flow(client, bare, { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', event_type: { type: 1 } }));
  for (let i = 0; i < 3; i++) agg.addFlow(flow(client, named));
  agg.addFlow(flow(client, bare)); // after: named at once
  const a = agg.finish();
  t.same(
    a.edges.map((e) => [e.source, e.destination, e.flows, e.dropped, e.policyDenied]),
    [['shop/checkout', 'shop/payments', 6, 1, 1]],
  );
  t.equal(a.totals.endpoints, 2);
  t.equal(a.drops[0]!.edges[0]!.destination, 'shop/payments', 'drops name it too');
});

t.test('an IP that no line names stays an IP', async (t) => {
  const agg = new FlowAggregator();
  agg.addFlow(flow({ ip: '10.244.2.5', ep: full('checkout', 'shop') }, { ip: '192.0.2.10' }));
  t.same(
    agg.finish().edges.map((e) => e.destination),
    ['192.0.2.10'],
  );
});
