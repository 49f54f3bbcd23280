// DNS in the report: search-path expansions (ndots:5) are told apart from real failures, and names grouped as asked.
import t from 'tap';
import { FlowAggregator } from '../../lib/analysis/aggregate.ts';
import { askedName } from '../../lib/analysis/dns.ts';
import type { Flow } from '../../lib/flows/types.ts';

const client = { namespace: 'demo', pod_name: 'client-7d9f8b6c5-x2x4z', labels: ['k8s:app=client'], identity: 300 };
const coredns = { namespace: 'kube-system', pod_name: 'coredns-5d78c9869d-abcde', labels: ['k8s:k8s-app=kube-dns'], identity: 400 };
let clock = 0;

/** A lookup as Cilium's DNS proxy reports it: the query, then its answer. */
function lookup(name: string, rcode: number): Flow[] {
  const time = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString().replace('Z', '000000Z');
  const port = 40000 + (clock % 1000);
  clock += 3;
  const base = { IP: { source: '10.0.1.5', destination: '10.0.0.10' }, node_name: 'n1', verdict: 'FORWARDED', Type: 'L7', event_type: { type: 129 } } as const;
  return [
    {
      ...base,
      time: time(clock),
      source: client,
      destination: coredns,
      l4: { UDP: { source_port: port, destination_port: 53 } },
      is_reply: false,
      traffic_direction: 'EGRESS',
      l7: { type: 'REQUEST', dns: { query: `${name}.`, qtypes: ['A'] } },
    },
    {
      ...base,
      time: time(clock + 1),
      IP: { source: '10.0.0.10', destination: '10.0.1.5' },
      source: coredns,
      destination: client,
      l4: { UDP: { source_port: 53, destination_port: port } },
      is_reply: true,
      traffic_direction: 'EGRESS',
      l7: { type: 'RESPONSE', latency_ns: '200000', dns: { query: `${name}.`, rcode, qtypes: ['A'] } },
    },
  ];
}

t.test('NXDOMAIN for search-path expansions is not a failure; a name that never resolves is', async (t) => {
  const agg = new FlowAggregator();
  const svc = 'llm-service.genai-network-demo.svc.cluster.local';
  for (let i = 0; i < 3; i++) {
    // ndots:5: a 4-dot name goes through the search list before it is tried as it is.
    for (const suffix of ['genai-network-demo.svc.cluster.local', 'svc.cluster.local', 'cluster.local']) {
      for (const flow of lookup(`${svc}.${suffix}`, 3)) agg.addFlow(flow);
    }
    for (const flow of lookup(svc, 0)) agg.addFlow(flow);
  }
  // A typo: every expansion and the name itself fail.
  for (const suffix of ['genai-network-demo.svc.cluster.local', 'svc.cluster.local', 'cluster.local'])
    for (const flow of lookup(`lmm-service.${suffix}`, 3)) agg.addFlow(flow);
  for (const flow of lookup('lmm-service', 3)) agg.addFlow(flow);
  const a = agg.finish();
  t.equal(a.dns.queries, 16);
  t.same(a.dns.byRcode, { NOERROR: 3, NXDOMAIN: 13 }, 'every answer, as Hubble saw it');
  t.equal(a.dns.searchPathNxdomain, 9, 'the nine expansions of a name that was then answered');
  t.same(a.dns.errors, { NXDOMAIN: 4 }, 'the typo is a real failure, with each of its lookups');
  t.same(a.dns.topNames[0], { name: svc, queries: 12 }, 'expansions are grouped under the name the client asked for');
  t.same(a.edges[0]!.dns!.errors, { NXDOMAIN: 4 }, 'per client too');
});

t.test('askedName strips a search domain only when the shorter name was answered', async (t) => {
  const answered = new Set(['api.openai.com', 'svc-a.ns.svc.cluster.local']);
  t.equal(askedName('api.openai.com.ns.svc.cluster.local', answered), 'api.openai.com');
  t.equal(askedName('svc-a.ns.svc.cluster.local.cluster.local', answered), 'svc-a.ns.svc.cluster.local');
  t.equal(askedName('svc-b.ns.svc.cluster.local', answered), 'svc-b.ns.svc.cluster.local', 'never answered: itself');
  t.equal(askedName('api.openai.com', answered), 'api.openai.com');
});
