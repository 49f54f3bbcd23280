// report.md: verdict first with its reasons, numbers, a Mermaid map with denied edges marked, and the tables a reader needs.
import t from 'tap';
import { FlowAggregator } from '../../lib/analysis/aggregate.ts';
import { evaluateCompliance } from '../../lib/analysis/compliance.ts';
import { buildReport } from '../../lib/report/json.ts';
import { formatMarkdown, MAX_MAP_EDGES, serviceMap } from '../../lib/report/markdown.ts';
import { demoReport } from '../fixtures/demo-report.ts';

t.test('the demo report answers who, how much, how fast, what failed, what was denied, and the verdict', async (t) => {
  const { report } = demoReport();
  const md = formatMarkdown(report);
  const lines = md.split('\n');
  t.equal(lines[0], '# ❌ FAIL — Hubble flow analysis', 'verdict first');
  t.match(
    md,
    /\*\*Why it failed:\*\*\n\n- No policy-denied flows \(the lab guide’s rule\): 2 findings: default\/test-pod → genai-network-demo\/document-agent; genai-network-demo\/document-agent → world/,
  );
  t.match(md, /Gate: any policy drop fails \(the lab guide’s rule\)\. Exit code 1\./);
  t.match(md, /## Key numbers\n\n\| Flows \| Flows\/s \|/);
  t.match(md, new RegExp(`\\| ${report.totals.flows.toLocaleString('en-US')} \\|`), 'total flows shown');
  // The map: one arrow per edge, labelled with rate, error rate and p95; denied edges dashed and red.
  const map = /```mermaid\n([\s\S]*?)```/.exec(md)![1]!;
  t.match(map, /^flowchart LR/);
  t.match(map, /subgraph ns_n\d+\["genai-network-demo"\]/);
  const cd = report.edges.find((e) => e.source === 'genai-network-demo/agent-coordinator' && e.destination === 'genai-network-demo/document-agent')!;
  const rate = (cd.http!.requests / report.window.seconds).toFixed(1);
  t.match(map, new RegExp(`n\\d+ -->\\|"${rate} req/s · ${(cd.http!.errorRate! * 100).toFixed(1)}% err · p95 \\d+ ms"\\| n\\d+`));
  const dashed = map.split('\n').filter((l) => l.includes('-.->'));
  t.equal(dashed.length, 2, 'two denied edges dashed');
  t.match(map, /linkStyle \d+,\d+ stroke:#d73a49/);
  t.match(md, /## Compliance checks[\s\S]*\| No policy-denied flows \(the lab guide’s rule\) \| fail \| ❌ fail \|/);
  t.match(
    md,
    /- \*\*FAIL\*\*: default\/test-pod → genai-network-demo\/document-agent: 48 SYNs denied by policy \(48 at the server's ingress\)\n  - 48 flows: `hubble-lab observe --input-file flows\.jsonl --from-pod default\/test-pod --to-namespace genai-network-demo --to-workload document-agent --verdict DROPPED --type drop --drop-reason-desc POLICY_DENIED`/,
  );
  t.match(md, /Not configured: allowed-dropped, deny-enforced, drift, slo — run with `--expect FILE`/);
  t.match(md, /## Slowest edges[\s\S]*\| genai-network-demo\/document-agent → genai-network-demo\/llm-service \| \d+ \| [\d.]+ ms \|/);
  t.match(md, /## HTTP errors[\s\S]*\| 200×\d+ 404×\d+ 500×\d+ \|/);
  t.match(
    md,
    /### POLICY_DENIED \(policy\): 48 packets[\s\S]*denied at the server's ingress \(48\)[\s\S]*Example flows:\n\n```\n2026-01-10T10:00:\d\d\.\d+Z \[kind-kind\/worker-2\]: default\/test-pod \(10\.244\.1\.30:\d+\) -> genai-network-demo\/document-agent-5c6d7f8b9-\w+ \(10\.244\.2\.1\d:80\) DROPPED \(POLICY_DENIED\) INGRESS TCP Flags: SYN/,
  );
  t.match(md, /## DNS\n\n\d+ queries, \d+ responses \(NOERROR \d+, NXDOMAIN \d+\)/);
  t.match(md, /Bursts \(a bucket at least three times the usual rate\):\n\n- 2026-01-10T10:01:02\.000Z: 30 drops in 1\.0 s/);
  t.match(md, /## Data quality\n\n- Window: .*\n- Malformed lines: 3 \(skipped; first: line \d+: not JSON/);
  t.match(md, /- Lost events: 42 \(37 HUBBLE_RING_BUFFER, 5 PERF_EVENT_RING_BUFFER\)/);
  t.match(md, /unavailable: kind-kind\/worker-3 \(NODE_UNAVAILABLE/);
  t.match(md, /> ⚠️ \*\*Incomplete data:\*\*/);
  t.notMatch(md, /undefined|NaN|\[object Object\]/, 'no leaked placeholders');
});

t.test('without L7 flows the report says how to get latency instead of printing zeros', async (t) => {
  const agg = new FlowAggregator();
  for (let i = 0; i < 5; i++) {
    agg.add({
      flow: {
        time: `2026-01-10T10:00:0${i}Z`,
        verdict: 'FORWARDED',
        IP: { source: '10.0.0.1', destination: '10.0.0.2' },
        source: { namespace: 'a', pod_name: 'x' },
        destination: { namespace: 'a', pod_name: 'y' },
        l4: { TCP: { source_port: 40000 + i, destination_port: 80, flags: { SYN: true } } },
      },
    });
  }
  const a = agg.finish();
  const md = formatMarkdown(
    buildReport(a, evaluateCompliance(a, undefined, 'any-drop'), {
      kind: 'server',
      source: 'localhost:4245',
      filters: ['--namespace', 'a'],
      records: 5,
      skippedByFilter: 0,
    }),
  );
  t.match(md, /^# ✅ PASS/);
  t.match(md, /## Slowest edges\n\nNo L7 flows: latency and HTTP status need an L7 visibility policy/);
  t.match(md, /## HTTP errors\n\nNo HTTP flows: status codes need an L7 visibility policy/);
  t.match(md, /n0\["x"\]\n    n1\["y"\]\n  end\n  n0 -->\|"5 flows"\| n1/);
  t.match(md, /\*\*Why it passed:\*\*\n\n- 2 checks passed \(policy-drops, completeness\); not configured: allowed-dropped, deny-enforced, drift, slo/);
  t.match(md, /filtered by `--namespace a`/);
  t.notMatch(md, /p95 0/);
});

t.test('a map with more edges than Mermaid can draw is summarised', async (t) => {
  const agg = new FlowAggregator();
  for (let i = 0; i < MAX_MAP_EDGES + 25; i++) {
    agg.add({
      flow: {
        time: '2026-01-10T10:00:00Z',
        verdict: 'FORWARDED',
        source: { namespace: 'a', pod_name: `c${i}` },
        destination: { namespace: 'b', pod_name: 's' },
      },
    });
  }
  const a = agg.finish();
  const map = serviceMap(
    buildReport(a, evaluateCompliance(a, undefined, 'any-drop'), { kind: 'file', source: 'f', filters: [], records: 0, skippedByFilter: 0 }),
  );
  t.equal(map.split('\n').filter((l) => l.includes('-->')).length, MAX_MAP_EDGES);
  t.match(map, /25 more edges \(25 flows\) are not drawn; they are in report\.json\./);
});

t.test('a map with long names stays under Mermaid’s 50,000-character limit', async (t) => {
  const agg = new FlowAggregator();
  for (let i = 0; i < 400; i++) {
    agg.add({
      flow: {
        time: '2026-01-10T10:00:00Z',
        verdict: 'FORWARDED',
        source: { namespace: 'a-rather-long-namespace-name', pod_name: `client-with-a-long-name-${i}` },
        destination: { namespace: 'b', pod_name: `server-with-a-long-name-${i}` },
      },
    });
  }
  const a = agg.finish();
  const map = serviceMap(
    buildReport(a, evaluateCompliance(a, undefined, 'any-drop'), { kind: 'file', source: 'f', filters: [], records: 0, skippedByFilter: 0 }),
  );
  const diagram = /```mermaid\n([\s\S]*?)```/.exec(map)![1]!;
  t.ok(diagram.length < 50_000, `${diagram.length} characters`);
  const drawn = diagram.split('\n').filter((l) => l.includes('-->')).length;
  t.ok(drawn > 100 && drawn < 400, `${drawn} edges drawn`);
  t.match(map, new RegExp(`${400 - drawn} more edges \\(${400 - drawn} flows\\) are not drawn`));
});
