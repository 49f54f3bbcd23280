// HTTP per edge: URL paths and id templating, and counting each exchange once whichever proxies saw it, in any order.
import t from 'tap';
import { HttpAnalyzer, createHttpStats, summarizeHttp, templatePath, urlPath } from '../../lib/analysis/http.ts';
import type { Flow } from '../../lib/flows/types.ts';

t.test('paths: scheme, host, query and fragment dropped; ids templated, words kept', async (t) => {
  t.equal(urlPath('http://llm-service.genai-network-demo.svc.cluster.local/api/v1/generate?stream=1'), '/api/v1/generate');
  t.equal(urlPath('http://host'), '/');
  t.equal(urlPath('/a/b#frag'), '/a/b');
  t.equal(urlPath(undefined), '/');
  t.equal(templatePath('/api/v1/results/42'), '/api/v1/results/{id}');
  t.equal(templatePath('/api/v1/results/doc_123'), '/api/v1/results/{id}');
  t.equal(templatePath('/api/v2/users/3f2a9c1e-7b4d-4e2a-9c1e-7b4d4e2a9c1e/orders/2024-01-01'), '/api/v2/users/{id}/orders/{id}');
  t.equal(templatePath('/objects/deadbeef42'), '/objects/{id}');
  t.equal(templatePath('/api/v1/healthz'), '/api/v1/healthz', 'versions stay');
  t.equal(templatePath('/static/app.js'), '/static/app.js');
  t.equal(templatePath('/h2c'), '/h2c', 'short words with a digit stay');
});

function http(
  type: 'REQUEST' | 'RESPONSE',
  side: 'EGRESS' | 'INGRESS' | undefined,
  ms: number,
  opts: { code?: number; latencyMs?: number; path?: string } = {},
): Flow {
  return {
    time: new Date(Date.UTC(2026, 0, 1) + ms).toISOString(),
    verdict: 'FORWARDED',
    ...(side ? { traffic_direction: side } : {}),
    l7: {
      type,
      ...(opts.latencyMs !== undefined ? { latency_ns: String(opts.latencyMs * 1e6) } : {}),
      http: { method: 'GET', url: `http://svc${opts.path ?? '/x'}`, ...(opts.code !== undefined ? { code: opts.code } : {}) },
    },
  };
}

function feed(flows: Flow[]) {
  const analyzer = new HttpAnalyzer();
  const stats = createHttpStats();
  for (const f of flows) analyzer.observe(stats, 'a\u0000b', f, Date.parse(f.time!));
  analyzer.finish();
  return summarizeHttp(stats);
}

t.test('both proxies: one request, one response, the server side’s latency, whatever the order', async (t) => {
  const flows: Flow[] = [];
  for (let i = 0; i < 20; i++) {
    const at = i * 5; // exchanges overlap: 5 ms apart, 30-40 ms long
    flows.push(http('REQUEST', 'EGRESS', at), http('REQUEST', 'INGRESS', at + 0.4));
    flows.push(
      http('RESPONSE', 'INGRESS', at + 30, { code: 200, latencyMs: 30 + (i % 10) }),
      http('RESPONSE', 'EGRESS', at + 31, { code: 200, latencyMs: 50 + i }),
    );
  }
  const inOrder = feed([...flows].sort((a, b) => (a.time! < b.time! ? -1 : 1)));
  t.equal(inOrder.requests, 20);
  t.equal(inOrder.responses, 20);
  t.same(inOrder.sightings, { client: 20, server: 20, unknown: 0, both: 20 });
  t.ok(inOrder.latencyMs!.max < 40, `server-side latencies only (max ${inOrder.latencyMs!.max})`);
  // Relay merges nodes' streams: the server's sighting may come first.
  const shuffled = feed([...flows].reverse());
  t.equal(shuffled.requests, 20);
  t.equal(shuffled.responses, 20);
  t.equal(shuffled.latencyMs!.count, 20);
  t.ok(shuffled.latencyMs!.max < 40);
});

t.test('one proxy only, or an unknown side: every sighting is its own exchange', async (t) => {
  const client = feed([http('REQUEST', 'EGRESS', 0), http('REQUEST', 'EGRESS', 1), http('RESPONSE', 'EGRESS', 9, { code: 503, latencyMs: 9 })]);
  t.equal(client.requests, 2);
  t.equal(client.errors, 1);
  t.equal(client.errors5xx, 1);
  t.same(client.byStatus, { '503': 1 });
  const unknown = feed([http('REQUEST', undefined, 0), http('REQUEST', undefined, 0)]);
  t.equal(unknown.requests, 2, 'without traffic_direction nothing is paired');
  // Same path, other side, but seconds apart: two requests, not one seen twice.
  const apart = feed([http('REQUEST', 'EGRESS', 0), http('REQUEST', 'INGRESS', 5000)]);
  t.equal(apart.requests, 2);
  const otherPath = feed([http('REQUEST', 'EGRESS', 0, { path: '/a' }), http('REQUEST', 'INGRESS', 1, { path: '/b' })]);
  t.equal(otherPath.requests, 2, 'different paths never pair');
});
