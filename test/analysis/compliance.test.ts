// The gate: each check on a run built with known traffic, the verdict, and the exit code it maps to.
import t from 'tap';
import { FlowAggregator, type Analysis } from '../../lib/analysis/aggregate.ts';
import { evaluateCompliance, globMatch, selectorMatches } from '../../lib/analysis/compliance.ts';
import { parseExpectations } from '../../lib/analysis/expectations.ts';
import { FlowSynth } from '../fixtures/synth.ts';
import { fmtMs, formatMessage } from '../../lib/report/format.ts';
import { writeCompliance } from '../../lib/report/json.ts';

/** The verdict with its messages written out as the reports write them. */
const gate = (...args: Parameters<typeof evaluateCompliance>) => writeCompliance(evaluateCompliance(...args));

/**
 * A run of the demo: coordinator → document agent (all fine), document agent → LLM (one in four answers 500,
 * slow), the traffic generator probing the LLM and being denied, the document agent denied on its way back to
 * the coordinator, the LLM calling api.openai.com.
 */
function demoRun(opts: { lost?: boolean; noDrops?: boolean } = {}): Analysis {
  const s = new FlowSynth({ seed: 4 });
  const coord = s.peer('agent-coordinator');
  const doc = s.peer('document-agent-0');
  const llm = s.peer('llm-service');
  const gen = s.peer('traffic-generator');
  const world = s.peer('world');
  const agg = new FlowAggregator();
  const add = (records: ReturnType<FlowSynth['httpExchange']>) => records.forEach((r) => agg.add(r));
  for (let i = 0; i < 20; i++) {
    add(s.httpExchange(coord, doc, { method: 'POST', path: '/api/v1/analyze', latencyMs: 20 }));
    add(s.httpExchange(doc, llm, { method: 'POST', path: '/api/v1/generate', status: i % 4 === 0 ? 500 : 200, latencyMs: 900 + i * 10 }));
  }
  if (!opts.noDrops) {
    add(s.policyDrop(gen, llm, { retries: 1 }));
    add(s.policyDrop(doc, coord, { retries: 0, reason: 'POLICY_DENY', at: 'egress' }));
  }
  add(s.tcpConnection(llm, world, 443));
  if (opts.lost) agg.add(s.lostEvents(1, 40));
  return agg.finish();
}

t.test('globs and selectors', async (t) => {
  t.ok(globMatch('genai-network-demo/*', 'genai-network-demo/llm-service'));
  t.ok(globMatch('*.openai.com', 'api.openai.com'));
  t.notOk(globMatch('*.openai.com', 'openai.com.evil.io'));
  t.ok(globMatch('llm-?ervice', 'llm-service'));
  t.notOk(globMatch('a.b', 'axb'), 'dots are literal');
  t.ok(selectorMatches({ namespace: 'genai-*', labels: { tier: 'inference' } }, 'genai-network-demo/llm', { tier: 'inference', app: 'llm' }));
  t.notOk(selectorMatches({ namespace: 'genai-*' }, 'world', {}), 'no namespace, no match');
  t.notOk(selectorMatches({ labels: { tier: 'x' } }, 'a/b', { tier: 'y' }));
});

t.test('without expectations: the lab guide’s rule, any policy drop fails', async (t) => {
  const c = gate(demoRun(), undefined, 'any-drop');
  t.equal(c.status, 'FAIL');
  t.equal(c.exitCode, 1);
  const drops = c.checks.find((x) => x.id === 'policy-drops')!;
  t.equal(drops.status, 'fail');
  t.same(
    drops.violations.map((v) => [v.source, v.destination]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    [
      ['genai-network-demo/traffic-generator', 'genai-network-demo/llm-service'],
      ['genai-network-demo/document-agent', 'genai-network-demo/agent-coordinator'],
    ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    'the edges named',
  );
  t.match(c.reasons[0], /No policy-denied flows.*2 findings/);
  t.same(c.notConfigured, ['allowed-dropped', 'deny-enforced', 'drift', 'slo'], 'says which checks were not configured');
  const clean = gate(demoRun({ noDrops: true }), undefined, 'any-drop');
  t.equal(clean.status, 'PASS');
  t.equal(clean.exitCode, 0);
  t.match(clean.reasons[0], /not configured: allowed-dropped, deny-enforced, drift, slo/);
});

const expectations = `
allow:
  - from: genai-network-demo/agent-coordinator
    to: genai-network-demo/document-agent
    ports: [80]
  - from: { labels: { tier: processing } }
    to: { labels: { tier: inference } }
  - from: genai-network-demo/document-agent
    to: genai-network-demo/agent-coordinator
  - from: genai-network-demo/llm-service
    to: "*.openai.com"
    ports: ["TCP/443"]
deny:
  - name: generator may not call the LLM directly
    from: genai-network-demo/traffic-generator
    to: genai-network-demo/llm-service
`;

t.test('expectations: allowed traffic dropped by policy fails, enforced denials pass', async (t) => {
  const c = gate(demoRun(), parseExpectations(expectations, 'expect.yaml'), 'expect');
  t.equal(c.status, 'FAIL');
  const byId = Object.fromEntries(c.checks.map((x) => [x.id, x]));
  t.equal(byId['policy-drops']!.status, 'skipped', 'drops are judged by allow/deny instead');
  t.equal(byId['allowed-dropped']!.status, 'fail');
  t.match(
    byId['allowed-dropped']!.violations[0]!.message,
    /document-agent → genai-network-demo\/agent-coordinator is allowed by allow\[2\] \(expect\.yaml:8\) but had 1 SYN denied by policy \(1 at the client's egress\)/,
  );
  t.equal(byId['deny-enforced']!.status, 'pass');
  t.match(
    byId['deny-enforced']!.notes[0],
    /traffic-generator → genai-network-demo\/llm-service: enforced \(generator may not call the LLM directly \(deny\[0\] \(expect\.yaml:14\)\)\), 2 SYNs denied by policy \(2 at the server's ingress\)/,
  );
  t.equal(byId.drift!.status, 'pass', 'every edge with traffic is allowed');
  t.equal(byId.slo!.status, 'not-configured');
  t.equal(c.exitCode, 1);
});

t.test('a denial that was not enforced, an untested denial, drift and a port outside allow', async (t) => {
  const exp = parseExpectations(
    `
allow:
  - from: genai-network-demo/agent-coordinator
    to: genai-network-demo/document-agent
    ports: [8080]
deny:
  - from: genai-network-demo/document-agent
    to: genai-network-demo/llm-service
  - from: default/test-pod
    to: "*"
checks: { drift: fail, allowedDropped: off }
`,
    'x.yaml',
  );
  const c = gate(demoRun(), exp, 'expect');
  const byId = Object.fromEntries(c.checks.map((x) => [x.id, x]));
  const deny = byId['deny-enforced']!;
  t.equal(deny.status, 'fail');
  t.match(
    deny.violations.find((v) => v.severity === 'fail')!.message,
    /document-agent → genai-network-demo\/llm-service must be denied \(deny\[0\] \(x\.yaml:7\)\) but reached the server: \d+ flows delivered or answered/,
  );
  t.match(deny.violations.find((v) => v.severity === 'warn')!.message, /deny\[1\] \(x\.yaml:9\) saw no traffic: the denial was not tested/);
  const drift = byId.drift!;
  t.equal(drift.status, 'fail');
  const messages = drift.violations.map((v) => v.message).join('\n');
  t.match(messages, /agent-coordinator → genai-network-demo\/document-agent used TCP\/80, which no allow rule lists/);
  t.match(messages, /llm-service → api\.openai\.com is not in allow/);
  t.notMatch(messages, /traffic-generator/, 'traffic the policy refused is not drift');
  t.notMatch(messages, /document-agent → genai-network-demo\/llm-service/, 'an edge under a deny rule is judged there');
  t.equal(byId['allowed-dropped']!.status, 'skipped', 'a check turned off');
});

t.test('service levels: error rate and p99 per edge, default and per-edge limits', async (t) => {
  const a = demoRun({ noDrops: true });
  const llmEdge = a.edges.find((e) => e.destination === 'genai-network-demo/llm-service')!;
  t.equal(llmEdge.http!.errorRate, 5 / 20);
  const c = gate(
    a,
    parseExpectations(
      `
slo:
  default: { maxErrorRate: 0.1, maxP99Ms: 500 }
  edges:
    - from: genai-network-demo/agent-coordinator
      to: "*"
      maxP99Ms: 10
      minRequests: 50
`,
      's.yaml',
    ),
    'expect',
  );
  const slo = c.checks.find((x) => x.id === 'slo')!;
  t.equal(slo.status, 'fail');
  t.same(
    slo.violations.map((v) => v.message),
    [
      'genai-network-demo/document-agent → genai-network-demo/llm-service: error rate 25% (5/20) over 10% (slo.default)',
      `genai-network-demo/document-agent → genai-network-demo/llm-service: p99 ${fmtMs(llmEdge.http!.latencyMs!.p99)} over 500 ms (slo.default)`,
    ],
  );
  t.match(slo.notes.join('\n'), /agent-coordinator → genai-network-demo\/document-agent: 20 requests, fewer than 50: not judged/);
  t.equal(c.status, 'FAIL');
});

t.test('incomplete data: INCOMPLETE (exit 3), a warning, or accepted; --gate off never fails', async (t) => {
  const a = demoRun({ lost: true, noDrops: true });
  const fail = gate(a, parseExpectations('incomplete: fail\n', 'i.yaml'), 'expect');
  t.equal(fail.status, 'INCOMPLETE');
  t.equal(fail.exitCode, 3);
  t.match(fail.reasons[0], /Data complete.*40 events lost \(40 HUBBLE_RING_BUFFER\)/);
  const warn = gate(a, parseExpectations('incomplete: warn\n', 'i.yaml'), 'expect');
  t.equal(warn.status, 'PASS');
  t.match(warn.reasons.join('\n'), /warning — Data complete/);
  const pass = gate(a, parseExpectations('incomplete: pass\n', 'i.yaml'), 'expect');
  t.equal(pass.status, 'PASS');
  t.equal(pass.checks.find((x) => x.id === 'completeness')!.notes.length, 1, 'still noted');
  t.equal(gate(a, undefined, 'any-drop').status, 'PASS', 'without a file, incomplete data is a warning');
  const failedRun = gate(demoRun({ lost: true }), parseExpectations('incomplete: fail\n', 'i.yaml'), 'any-drop');
  t.equal(failedRun.status, 'FAIL', 'a real failure outranks incomplete data');
  const off = gate(demoRun(), undefined, 'off');
  t.equal(off.status, 'FAIL', 'the verdict is still computed');
  t.equal(off.exitCode, 0, 'but does not fail the job');
});

t.test('findings keep their numbers as numbers: the report layer writes them out', async (t) => {
  const c = evaluateCompliance(demoRun(), undefined, 'any-drop');
  t.same(
    c.reasons[0]!.filter((p) => typeof p !== 'string'),
    [{ count: 2, one: 'finding' }],
    'how many findings, as a count',
  );
  const slo = evaluateCompliance(demoRun(), parseExpectations('slo:\n  default:\n    maxErrorRate: 0.01\n    maxP99Ms: 1\n', 's.yaml'), 'expect').checks.find(
    (k) => k.id === 'slo',
  )!;
  const p99 = slo.violations.find((v) => v.message.some((p) => typeof p === 'string' && p.includes(': p99 ')))!;
  t.match(p99.message, [String, { ms: Number }, ' over ', { ms: 1 }], 'latencies in milliseconds');
  t.equal(writeCompliance({ ...c, checks: [], violations: [] }).reasons[0], formatMessage(c.reasons[0]!));
});
