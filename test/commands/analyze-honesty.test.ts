// `hubble-lab analyze` as a CI gate on the shapes real exports come in: nothing read, cut short, half broken,
// verdict-only, newer enums. It must never say PASS about data it did not read, and every output must agree.
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { main } from '../../lib/cli.ts';
import type { Flow } from '../../lib/flows/types.ts';
import { toJsonpb } from '../../lib/hubble/codec/write.ts';
import type { Report } from '../../lib/report/json.ts';
import { ConnectionFlows, type SimEndpoint } from '../../lib/sim/hubble/flows.ts';
import { captureIO } from '../fixtures/cli-io.ts';
import { buildScenario } from '../fixtures/scenario.ts';

const scenario = buildScenario({ seed: 7, scale: 0.2 });
const goodLines = scenario.lines.filter((l) => {
  try {
    return typeof (JSON.parse(l) as { flow?: unknown }).flow === 'object';
  } catch {
    return false;
  }
});

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  report: Report;
  md: string;
  junit: string;
}

async function analyze(dir: string, file: string, extra: string[] = []): Promise<Outcome> {
  const out = join(dir, `out-${file.replace(/\W/g, '_')}`);
  const c = captureIO();
  const code = await main(['analyze', '--input', join(dir, file), '--out', out, ...extra], c.io);
  const read = (name: string) => readFileSync(join(out, name), 'utf8');
  return { code, stdout: c.out(), stderr: c.err(), report: JSON.parse(read('report.json')) as Report, md: read('report.md'), junit: read('junit.xml') };
}

/** report.md's title, report.json's status and exit code, junit.xml and the process say the same. */
function agree(t: Test, o: Outcome, status: 'PASS' | 'FAIL' | 'INCOMPLETE', code: number): void {
  t.equal(o.code, code, `exit ${code}`);
  t.equal(o.report.compliance.status, status, `report.json: ${status}`);
  t.equal(o.report.compliance.exitCode, code, 'report.json exitCode');
  t.match(o.md, new RegExp(`^# \\S+ ${status} — `), `report.md: ${status}`);
  t.match(o.md, new RegExp(`Exit code ${code}\\.`));
  if (status === 'INCOMPLETE') t.match(o.junit, /<failure type="incomplete"/, 'junit.xml: an incomplete case');
  else if (status === 'PASS') t.notMatch(o.junit, /<failure/, 'junit.xml: no failure');
  t.match(o.stdout, new RegExp(`^hubble-lab analyze: ${status} \\(exit ${code}\\)`));
}

t.test('nothing read is never a PASS: each shape says what it found and what to do', async (t) => {
  const records = goodLines.slice(0, 20).map((l) => JSON.parse(l) as object);
  const dir = t.testdir({
    // `hubble observe -o json | jq .` pasted into a file: every line of it is malformed on its own.
    'pretty.json': records.map((r) => JSON.stringify(r, null, 2)).join('\n') + '\n',
    'array.json':
      JSON.stringify(
        records.map((r) => (r as { flow: object }).flow),
        null,
        2,
      ) + '\n',
    'array-one-line.json': JSON.stringify(records) + '\n',
    // Cilium's own logs, found next to the Hubble exporter's file.
    'system_status.log':
      Array.from({ length: 12 }, (_, i) =>
        JSON.stringify({ level: 'info', msg: 'status', ts: `2026-01-01T00:00:${String(i).padStart(2, '0')}Z`, subsys: 'daemon' }),
      ).join('\n') + '\n',
    'empty.jsonl': '',
    'blank.jsonl': '\n\n\n',
  });
  const cases: [string, RegExp][] = [
    ['pretty.json', /pretty-printed JSON.*`jq -c \. .*pretty\.json \| hubble-lab analyze --input -`/],
    ['array.json', /a JSON array of flows.*`jq -c '\.\[\]' .*array\.json \| hubble-lab analyze --input -`/],
    ['array-one-line.json', /a JSON array of flows.*jq -c '\.\[\]'/],
    ['system_status.log', /its 12 JSON records are not Hubble flows \(12 with keys \{level, msg, subsys, ts\}\)/],
    ['empty.jsonl', /the input is empty \(no data\)/],
    ['blank.jsonl', /the input is empty \(3 blank lines\)/],
  ];
  for (const [file, message] of cases) {
    const o = await analyze(dir, file);
    agree(t, o, 'INCOMPLETE', 3);
    t.match(o.report.quality.input.diagnosis ?? '', message, `${file}: the diagnosis`);
    t.match(o.md, /no Hubble record was read/, `${file}: report.md says why`);
    t.match(o.stdout, message, `${file}: the summary says what to do`);
    t.equal(o.report.totals.flows, 0);
  }
  // Even with the gate off or incomplete data accepted, the verdict is not PASS (the exit code obeys the gate).
  const off = await analyze(dir, 'pretty.json', ['--gate', 'off']);
  t.equal(off.report.compliance.status, 'INCOMPLETE');
  t.equal(off.code, 0, '--gate off never fails the run');
  writeFileSync(join(dir, 'accept.yaml'), 'incomplete: pass\n');
  const accepted = await analyze(dir, 'empty.jsonl', ['--expect', join(dir, 'accept.yaml')]);
  agree(t, accepted, 'INCOMPLETE', 3);
});

t.test('filters that leave nothing, and files with only lost events, are not a PASS either', async (t) => {
  const dir = t.testdir({
    'flows.jsonl': goodLines.join('\n') + '\n',
    'lost.jsonl': '{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"3"},"node_name":"n1","time":"2026-01-01T00:00:00Z"}\n',
  });
  const none = await analyze(dir, 'flows.jsonl', ['--namespace', 'no-such-namespace']);
  agree(t, none, 'INCOMPLETE', 3);
  t.match(none.md, new RegExp(`none of the ${goodLines.length.toLocaleString('en-US')} flows read matched the filters`));
  const lost = await analyze(dir, 'lost.jsonl');
  agree(t, lost, 'INCOMPLETE', 3);
  t.match(lost.md, /1 record read, but no flow among them/);
});

t.test('malformed lines: named always, INCOMPLETE above the allowed share', async (t) => {
  const few = [...goodLines];
  few.splice(10, 0, '{"flow":{"verdict":"FORWARDED"'); // 1 in ~1,000: under 1%
  const many = goodLines.slice(0, 200).flatMap((l, i) => (i % 20 === 0 ? ['not json at all', l] : [l])); // 10 in 210
  const dir = t.testdir({ 'few.jsonl': few.join('\n') + '\n', 'many.jsonl': many.join('\n') + '\n', 'lenient.yaml': 'maxMalformedShare: 0.1\n' });
  const a = await analyze(dir, 'few.jsonl', ['--gate', 'off']);
  const completeness = a.report.compliance.checks.find((c) => c.id === 'completeness')!;
  t.equal(completeness.status, 'warn', 'one malformed line is a warning');
  t.match(completeness.violations.map((v) => v.message).join('\n'), /1 malformed line skipped \(0\.\d+% of the records; first: line 11: not JSON/);
  const b = await analyze(dir, 'many.jsonl');
  agree(t, b, 'INCOMPLETE', 3);
  t.match(b.md, /10 malformed lines skipped \(4\.8% of the records; first: line 1: not JSON.*over the 1\.0% allowed/);
  const c = await analyze(dir, 'many.jsonl', ['--expect', join(dir, 'lenient.yaml'), '--gate', 'expect']);
  t.not(c.report.compliance.status, 'INCOMPLETE', 'the share is the expectations’ to set');
});

t.test('one verdict everywhere when the read fails midway', async (t) => {
  const text = goodLines.join('\n') + '\n';
  const gz = gzipSync(text);
  const dir = t.testdir({ 'cut.jsonl.gz': gz.subarray(0, Math.floor(gz.length * 0.6)) });
  const o = await analyze(dir, 'cut.jsonl.gz', ['--gate', 'any-drop']);
  agree(t, o, 'INCOMPLETE', 3);
  const failure = o.report.quality.input.failure!;
  t.match(failure.reason, /unexpected end of gzip data/);
  t.ok(failure.lastGoodLine !== null && failure.lastGoodLine > 10, `the last good line is named (${failure.lastGoodLine})`);
  t.match(o.md, new RegExp(`the input ended early after line ${failure.lastGoodLine} \\(the last record read\\)`));
  t.ok(o.report.totals.flows > 0 && o.report.totals.flows < goodLines.length, `the ${o.report.totals.flows} flows read are analysed`);
  t.match(o.stderr, /unexpected end of gzip data/, 'the error is told on stderr too');
  t.equal(o.report.quality.complete, false);
});

const ep = (name: string, node: string, ip: string): SimEndpoint => ({
  ip,
  node,
  endpoint: { identity: 300, namespace: 'demo', labels: [`k8s:app=${name}`], pod_name: `${name}-7d9f8b6c5-x2x4z` },
});

function deniedConnection(opts: { verdicts: boolean; drops: boolean; syns: number }): Flow[] {
  const out: Flow[] = [];
  const conn = new ConnectionFlows(
    { client: ep('client', 'n1', '10.0.1.5'), server: ep('server', 'n2', '10.0.2.7'), protocol: 'TCP', clientPort: 40001, serverPort: 8080 },
    (f) => out.push(f),
    { clusterName: 'c' },
  );
  for (let i = 0; i < opts.syns; i++) {
    if (opts.verdicts) conn.policyVerdict({ side: 'ingress', verdict: 'DROPPED', matchType: 0, dropReason: 'POLICY_DENY' }, { SYN: true });
    if (opts.drops) conn.drop('ingress', 'POLICY_DENY', { SYN: true });
  }
  return out;
}

t.test('policy-verdict events count: a denial seen only as a verdict is a denial, each packet once', async (t) => {
  const lines = (flows: Flow[]) => flows.map((flow) => toJsonpb({ flow, node_name: flow.node_name, time: flow.time })).join('\n') + '\n';
  const dir = t.testdir({
    'verdicts-only.jsonl': lines(deniedConnection({ verdicts: true, drops: false, syns: 1 })),
    'both.jsonl': lines(deniedConnection({ verdicts: true, drops: true, syns: 4 })),
  });
  const only = await analyze(dir, 'verdicts-only.jsonl');
  agree(t, only, 'FAIL', 1);
  t.equal(only.report.totals.policyDenied, 1, 'the single DROPPED POLICY_DENY verdict is one denied packet');
  t.notMatch(only.md, /No flow was dropped/);
  t.match(only.md, /demo\/client → demo\/server: 1 SYN denied/);
  const both = await analyze(dir, 'both.jsonl');
  t.equal(both.report.totals.flows, 8, 'four SYNs, each a verdict event and a drop event');
  t.equal(both.report.totals.policyDenied, 4, 'each denied packet counted once');
  t.same(both.report.totals.eventTypes, { drop: 4, 'policy-verdict': 4 });
  t.match(both.md, /4 SYNs denied/, 'says what is counted');
  t.notMatch(both.md, /8 flows · 4 denied/);
});

t.test('invalid values are malformed lines; unknown enum names are kept under their own name, never silently', async (t) => {
  const base = JSON.parse(goodLines[0]!) as { flow: Record<string, unknown> };
  const variant = (mutate: (f: Record<string, unknown>) => void) => {
    const copy = structuredClone(base);
    mutate(copy.flow);
    return JSON.stringify(copy);
  };
  const bad = [
    variant((f) => ((f.source as Record<string, unknown>).identity = -1)),
    variant((f) => ((f.source as Record<string, unknown>).identity = 1.5)),
    variant((f) => ((f.destination as Record<string, unknown>).identity = 99999999999)),
    variant((f) => (f.time = 'yesterday')),
    variant((f) => (f.time = '2026-01-01t00:00:00z')),
    variant((f) => (f.is_reply = 'true')),
  ];
  const unknown = [
    variant((f) => (f.verdict = 'dropped')),
    variant((f) => (f.verdict = 'dropped')),
    variant((f) => (f.drop_reason_desc = 'SOME_NEWER_REASON')),
  ];
  const rest = goodLines.slice(1, 400);
  const dir = t.testdir({ 'mixed.jsonl': [...bad, ...unknown, ...rest].join('\n') + '\n' });
  const o = await analyze(dir, 'mixed.jsonl', ['--gate', 'off']);
  t.same(
    o.report.quality.malformedExamples.map((m) => m.line),
    [1, 2, 3, 4, 5, 6],
    'each invalid value is a malformed line, located',
  );
  t.match(
    o.report.quality.malformedExamples.map((m) => m.reason),
    [
      /flow\.source\.identity: -1 is not a valid uint32 \(out of range\)/,
      /flow\.source\.identity: 1\.5 is not a valid uint32 \(not a whole number\)/,
      /flow\.destination\.identity: 99999999999 is not a valid uint32/,
      /flow\.time: string "yesterday" is not an RFC 3339 timestamp/,
      /flow\.time: string "2026-01-01t00:00:00z" is not an RFC 3339 timestamp/,
      /flow\.is_reply: expected a boolean, got string "true"/,
    ],
  );
  t.equal(o.report.totals.verdicts.dropped, 2, 'the unknown name is counted under its own name');
  const sum = Object.values(o.report.totals.verdicts).reduce((a, b) => a + b, 0);
  t.equal(sum, o.report.totals.flows, 'verdicts sum to the flows');
  t.same(
    o.report.quality.unknownValues.map((u) => [u.field, u.value, u.count, u.lines]),
    [
      ['flow.verdict', 'dropped', 2, [7, 8]],
      ['flow.drop_reason_desc', 'SOME_NEWER_REASON', 1, [9]],
    ],
  );
  t.match(
    o.md,
    /2 records with flow\.verdict "dropped", unknown to this version: counted under that name, never as forwarded or dropped \(first on line 7, 8\)/,
  );
  const edgeVerdicts = o.report.edges.flatMap((e) => Object.keys(e.verdicts));
  t.ok(edgeVerdicts.includes('dropped'), 'the edge keeps the name');
});

t.test('--traffic-summary: the clients’ view is a section of the report; a bad file is a clear error', async (t) => {
  const summary = {
    mode: 'traffic',
    targets: { coordinator: 'http://agent-coordinator-service.demo.svc.cluster.local' },
    batches: { normal: 2, burst: 0, error: 1 },
    workflows: { started: 3, completed: 2, failed: 1 },
    steps: {
      tasks: {
        service: 'agent-coordinator-service',
        measuredBy: 'traffic-generator',
        requests: 3,
        byStatus: { '202': 2, timeout: 1 },
        unexpected: 1,
        latencyMs: { p50: 2, p95: 900, max: 1000 },
      },
    },
    errors: { count: 1, top: [{ message: 'tasks: timeout', count: 1 }] },
  };
  const dir = t.testdir({
    'flows.jsonl': goodLines.join('\n') + '\n',
    'summary.json': JSON.stringify({ summary, probe: null }),
    'bad.json': '{"summary": {"mode": "probe"}}',
    'broken.json': '{',
  });
  const o = await analyze(dir, 'flows.jsonl', ['--traffic-summary', join(dir, 'summary.json'), '--gate', 'off']);
  t.equal(o.code, 0);
  t.match(o.md, /## What the clients saw\n\nFrom `.*summary\.json`: 2 of 3 workflows completed, 1 failed/);
  t.match(o.md, /\| tasks \| demo\/traffic-generator → demo\/agent-coordinator-service \| 3 \| 202×2 timeout×1 \| 1 \| 1 \|/);
  t.same(o.report.clients?.workflows, { started: 3, completed: 2, failed: 1 });
  for (const [file, message] of [
    ['bad.json', /bad\.json: not a traffic summary/],
    ['broken.json', /cannot read traffic summary .*broken\.json: not JSON/],
    ['missing.json', /cannot read traffic summary .*missing\.json: no such file/],
  ] as const) {
    const c = captureIO();
    const code = await main(['analyze', '--input', join(dir, 'flows.jsonl'), '--out', join(dir, 'never'), '--traffic-summary', join(dir, file)], c.io);
    t.equal(code, 2, `${file}: exit 2`);
    t.match(c.err(), message);
  }
});

t.test('drill-down commands are exact: each, run on the same input, prints the number of flows the report states', async (t) => {
  const full = buildScenario({ seed: 11, scale: 0.2 });
  const verdictOnly = deniedConnection({ verdicts: true, drops: false, syns: 3 }).map((flow) => toJsonpb({ flow, node_name: flow.node_name, time: flow.time }));
  const dir = t.testdir({
    'scenario.jsonl': full.lines.join('\n') + '\n',
    'verdicts.jsonl': verdictOnly.join('\n') + '\n',
    'e.yaml': 'allow:\n  - from: genai-network-demo/traffic-generator\n    to: "*"\nslo:\n  default: { maxErrorRate: 0.001 }\n',
  });
  const runObserve = async (argv: string[]): Promise<number> => {
    const c = captureIO();
    const code = await main([...argv.slice(1), '-o', 'jsonpb'], c.io);
    t.ok(code === 0 || code === 3, `${argv.slice(4).join(' ')} ran (exit ${code}: 3 when the input had malformed lines)`);
    return c.out().split('\n').filter(Boolean).length;
  };
  let checked = 0;
  for (const [file, extra] of [
    ['scenario.jsonl', ['--expect', join(dir, 'e.yaml'), '--gate', 'expect']],
    ['scenario.jsonl', []],
    ['verdicts.jsonl', []],
  ] as const) {
    const o = await analyze(dir, file, [...extra]);
    const commands = [
      ...o.report.compliance.violations.flatMap((v) => (v.observe ? [v.observe] : [])),
      ...o.report.edges.flatMap((e) => {
        const d = e.drilldowns;
        return [d.denied, d.httpErrors, d.dns, d.forwarded, ...d.drops].flatMap((x) =>
          x ? [{ argv: ['hubble-lab', 'observe', '--input-file', join(dir, file), ...x.args], flows: x.flows }] : [],
        );
      }),
    ];
    for (const c of commands) {
      t.equal(await runObserve(c.argv), c.flows, `${file}: ${c.argv.slice(4).join(' ')} prints ${c.flows}`);
      checked++;
    }
    // report.md prints each finding's count with its command.
    for (const v of o.report.compliance.violations)
      if (v.observe) t.ok(o.md.includes(`${v.observe.flows.toLocaleString('en-US')} flow`), 'the count is printed with the command');
  }
  t.ok(checked > 20, `${checked} commands run`);
});
