// `hubble-lab analyze` end to end: files, stdin, filters, expectations, outputs, GitHub, a live Relay, and bad input.
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { main } from '../../lib/cli.ts';
import { captureIO } from '../fixtures/cli-io.ts';
import type { Report } from '../../lib/report/json.ts';
import { buildScenario } from '../fixtures/scenario.ts';

const scenario = buildScenario({ seed: 3, scale: 0.5 });
const truth = scenario.truth;
const text = scenario.lines.join('\n') + '\n';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], opts: { stdin?: Readable; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<Run> {
  const c = captureIO(opts);
  const code = await main(['analyze', ...args], c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

function readReport(dir: string): Report {
  return JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;
}

t.test('a flows file: three reports, exact totals, the lab guide’s verdict', async (t) => {
  const dir = t.testdir({ 'flows.jsonl': text });
  const out = join(dir, 'out');
  const r = await run(['--input', join(dir, 'flows.jsonl'), '--out', out]);
  t.equal(r.code, 1, 'FAIL: policy drops without expectations');
  t.match(r.stdout, /^hubble-lab analyze: FAIL \(exit 1\)\n  No policy-denied flows/);
  t.match(r.stdout, new RegExp(`reports: ${out}/report\\.md, ${out}/report\\.json, ${out}/junit\\.xml`));
  t.match(r.stderr, /3 malformed lines in .*flows\.jsonl skipped/);
  const report = readReport(out);
  t.equal(report.totals.flows, truth.flows);
  t.equal(report.totals.policyDenied, truth.policyDenied);
  t.equal(report.totals.lostEvents, truth.lostEvents);
  t.equal(report.totals.malformedLines, 3);
  t.equal(report.totals.httpRequests, truth.httpRequests);
  t.equal(report.input.kind, 'file');
  t.match(readFileSync(join(out, 'report.md'), 'utf8'), /^# ❌ FAIL/);
  t.match(readFileSync(join(out, 'junit.xml'), 'utf8'), /<testsuites name="hubble-lab compliance" tests="6" failures="1"/);
});

const expectations = `
allow:
  - from: "genai-network-demo/*"
    to: "genai-network-demo/*"
    ports: [80]
  - from: "genai-network-demo/*"
    to: kube-system/coredns
    ports: ["UDP/53"]
  - from: genai-network-demo/llm-service
    to: api.openai.com
    ports: ["TCP/443"]
  - from: host
    to: "*"
deny:
  - name: policy-violation probe
    from: default/test-pod
    to: genai-network-demo/document-agent
slo:
  default: { maxErrorRate: 0.2, maxP99Ms: 5000 }
`;

t.test('with expectations: enforced denial and known edges pass; incomplete data decides the verdict', async (t) => {
  const dir = t.testdir({ 'flows.jsonl': text, 'warn.yaml': `${expectations}incomplete: warn\n`, 'strict.yaml': expectations });
  const pass = await run(['--input', join(dir, 'flows.jsonl'), '--out', join(dir, 'a'), '--expect', join(dir, 'warn.yaml')]);
  t.equal(pass.code, 0, pass.stdout);
  t.match(pass.stdout, /PASS \(exit 0\)/);
  const report = readReport(join(dir, 'a'));
  t.same(
    report.compliance.checks.map((c) => [c.id, c.status]),
    [
      ['policy-drops', 'skipped'],
      ['allowed-dropped', 'pass'],
      ['deny-enforced', 'pass'],
      ['drift', 'pass'],
      ['slo', 'pass'],
      ['completeness', 'warn'],
    ],
  );
  const strict = await run(['--input', join(dir, 'flows.jsonl'), '--out', join(dir, 'b'), '--expect', join(dir, 'strict.yaml')]);
  t.equal(strict.code, 3, 'INCOMPLETE: lost events and an unavailable node');
  t.match(strict.stdout, /INCOMPLETE \(exit 3\)/);
  const anyDrop = await run(['--input', join(dir, 'flows.jsonl'), '--out', join(dir, 'c'), '--expect', join(dir, 'warn.yaml'), '--gate', 'any-drop']);
  t.equal(anyDrop.code, 1, '--gate any-drop applies the lab guide’s rule on top');
  const off = await run(['--input', join(dir, 'flows.jsonl'), '--out', join(dir, 'd'), '--gate', 'off']);
  t.equal(off.code, 0, '--gate off reports FAIL but exits 0');
  t.match(off.stdout, /FAIL \(exit 0\)/);
});

t.test('--json prints report.json on stdout; --format picks the files; filters apply', async (t) => {
  const dir = t.testdir({ 'flows.jsonl': text });
  const out = join(dir, 'out');
  const r = await run(['--input', join(dir, 'flows.jsonl'), '--out', out, '--json', '--format', 'json', '--verdict', 'DROPPED']);
  const report = JSON.parse(r.stdout) as Report;
  t.equal(report.totals.flows, truth.dropped, 'only dropped flows');
  t.equal(report.input.skippedByFilter, truth.flows - truth.dropped);
  t.same(report.input.filters, ['--verdict', 'DROPPED']);
  t.equal(report.totals.lostEvents, truth.lostEvents, 'lost events count whatever the filters');
  t.match(r.stderr, /hubble-lab analyze: FAIL/, 'the summary goes to stderr');
  t.ok(existsSync(join(out, 'report.json')));
  t.notOk(existsSync(join(out, 'report.md')));
  t.notOk(existsSync(join(out, 'junit.xml')));
  const none = await run(['--input', join(dir, 'flows.jsonl'), '--out', join(dir, 'none'), '--format', 'junit', '--to-namespace', 'kube-system']);
  t.equal(none.code, 0, 'no policy drop among DNS flows');
  t.ok(existsSync(join(dir, 'none', 'junit.xml')));
});

t.test('selectors on a file: --first N flows, a --since/--until window', async (t) => {
  const dir = t.testdir({ 'flows.jsonl': text });
  const first = await run(['--input', join(dir, 'flows.jsonl'), '--out', join(dir, 'a'), '--format', 'json', '--first', '100']);
  t.equal(first.code, 0, 'no drop in the first 100 flows');
  t.equal(readReport(join(dir, 'a')).totals.flows, 100);
  const until = '2026-01-10T10:00:30Z';
  const inWindow = scenario.lines.filter((l) => {
    const m = /"time":"([^"]+)"/.exec(l);
    // The generator writes nine fraction digits, so its times compare as text.
    return l.startsWith('{"flow"') && m !== null && m[1]!.length === 30 && m[1]! <= '2026-01-10T10:00:30.000000000Z';
  }).length;
  await run(['--input', join(dir, 'flows.jsonl'), '--out', join(dir, 'b'), '--format', 'json', '--until', until]);
  const r = readReport(join(dir, 'b'));
  t.equal(r.totals.flows, inWindow, 'flows up to --until');
  t.ok(r.window.end! <= until.replace('Z', '.000000000Z'), r.window.end!);
});

t.test('gzip on stdin', async (t) => {
  const dir = t.testdir();
  const r = await run(['--input', '-', '--out', dir, '--format', 'json'], { stdin: Readable.from([gzipSync(text)]) });
  t.equal(r.code, 1);
  t.equal(readReport(dir).totals.flows, truth.flows);
});

t.test('on GitHub Actions: the job summary and at most ten ::error:: annotations', async (t) => {
  const dir = t.testdir({ 'flows.jsonl': text, 'summary.md': '' });
  const r = await run(['--input', join(dir, 'flows.jsonl'), '--out', join(dir, 'out')], {
    env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: join(dir, 'summary.md') },
  });
  const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error '));
  t.equal(errors.length, 2);
  t.match(errors[0], /^::error title=hubble-lab policy-drops::default\/test-pod → genai-network-demo\/document-agent/);
  t.equal(readFileSync(join(dir, 'summary.md'), 'utf8'), readFileSync(join(dir, 'out', 'report.md'), 'utf8'));
});

t.test('bad input: clear message, exit 2, nothing already read is lost', async (t) => {
  const dir = t.testdir({ 'flows.jsonl': text, 'bad.yaml': 'allow:\n  - from: a\n    too: b\n' });
  const missing = await run(['--input', join(dir, 'nope.jsonl'), '--out', join(dir, 'x')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read flows file .*nope\.jsonl: no such file/);
  t.notOk(existsSync(join(dir, 'x')), 'no empty report');

  const badExpect = await run(['--input', join(dir, 'flows.jsonl'), '--out', join(dir, 'y'), '--expect', join(dir, 'bad.yaml')]);
  t.equal(badExpect.code, 2);
  t.match(badExpect.stderr, /bad\.yaml:3: allow\[0\]\.too: unknown key "too"/);
  t.match(badExpect.stderr, /bad\.yaml:2: allow\[0\]: missing required key "to"/);
  t.notOk(existsSync(join(dir, 'y')));

  // A gzip file cut in the middle: the flows before the cut are analysed and reported as INCOMPLETE, exit 3.
  const gz = gzipSync(text);
  writeFileSync(join(dir, 'cut.json.gz'), gz.subarray(0, Math.floor(gz.length / 2)));
  const cut = await run(['--input', join(dir, 'cut.json.gz'), '--out', join(dir, 'z')]);
  t.equal(cut.code, 3, 'INCOMPLETE');
  t.match(cut.stderr, /unexpected end of gzip data after line \d+/);
  const partial = readReport(join(dir, 'z'));
  t.ok(partial.totals.flows > 1000 && partial.totals.flows < truth.flows, `${partial.totals.flows} flows kept`);
  t.equal(partial.compliance.status, 'INCOMPLETE');
  t.equal(partial.compliance.exitCode, 3);
  t.match(partial.quality.input.failure?.reason, /unexpected end of gzip data/);
  t.ok((partial.quality.input.failure?.lastGoodLine ?? 0) > 1000, 'the last good line is named');
});

t.test('usage errors name the flag', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /analyze: no flows to analyze\n  hint: pass --input FILE/],
    [['--input', 'a', '--server', 'b'], /--input and --server cannot be used together/],
    [['--input', 'a', '--gate', 'expect'], /--gate expect needs --expect FILE/],
    [['--input', 'a', '--gate', 'strict'], /unknown --gate "strict"/],
    [['--input', 'a', '--format', 'md,html'], /unknown report format "html"/],
    [['--input', 'a', '--last', '10'], /--last is not available with --input/],
    [['--server', '127.0.0.1:1', '--duration', '5s'], /--duration needs --follow/],
    [['--server', '127.0.0.1:1', '--follow', '--duration', 'soon'], /--duration: cannot read "soon"/],
    [['--server', '127.0.0.1:1'], /say which flows to read from the server/],
    [['--input', 'a', '--verdict', 'MAYBE'], /MAYBE/],
  ];
  const dir = t.testdir({ a: text });
  for (const [args, message] of cases) {
    const fixed = args.map((a) => (a === 'a' ? join(dir, 'a') : a));
    const r = await run([...fixed, '--out', join(dir, 'o')]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, message);
  }
});

/** `hubble-lab relay` serving a file on 127.0.0.1, in-process. */
async function startRelay(file: string): Promise<{ address: string; stop: () => Promise<number> }> {
  const stop = new AbortController();
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (b: Buffer) => (out += b.toString()));
  const exit = main(['relay', '--input', file, '--listen', '127.0.0.1:0'], {
    stdin: Readable.from([]),
    stdout,
    stderr: new PassThrough(),
    env: {},
    signal: stop.signal,
  });
  const deadline = Date.now() + 10_000;
  while (!/read \d+ records/.test(out)) {
    if (Date.now() > deadline) throw new Error(`relay did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const address = / on (127\.0\.0\.1:\d+) /.exec(out)![1]!;
  return { address, stop: async () => (stop.abort(), await exit) };
}

t.test('a live Relay: history with --all, and --follow --duration', async (t) => {
  // A shorter capture: every record crosses gRPC twice (into the relay's ring, out to analyze).
  const small = buildScenario({ seed: 4, scale: 0.25 });
  const truth = small.truth;
  const dir = t.testdir({ 'flows.jsonl': small.lines.join('\n') + '\n' });
  const relay = await startRelay(join(dir, 'flows.jsonl'));
  t.teardown(relay.stop);
  const all = await run(['--server', relay.address, '--all', '--out', join(dir, 'all'), '--format', 'json']);
  t.equal(all.code, 1);
  const report = readReport(join(dir, 'all'));
  t.equal(report.input.kind, 'server');
  t.equal(report.totals.flows, truth.flows, 'every flow from the server');
  t.equal(report.totals.policyDenied, truth.policyDenied);
  t.equal(report.totals.lostEvents, truth.lostEvents);
  t.match(
    report.compliance.violations[0]!.observe!.argv.join(' '),
    new RegExp(`^hubble-lab observe --server ${relay.address} --since 2026-01-10T10:00:\\d\\d(\\.\\d+)?Z --until 2026-01-10T10:00:\\d\\d(\\.\\d+)?Z `),
  );

  const started = Date.now();
  const follow = await run([
    '--server',
    relay.address,
    '--follow',
    '--all',
    '--duration',
    '1s',
    '--out',
    join(dir, 'follow'),
    '--format',
    'json',
    '--namespace',
    'kube-system',
  ]);
  const took = Date.now() - started;
  t.ok(took >= 900 && took < 8000, `stopped after the duration (${took} ms)`);
  const followed = readReport(join(dir, 'follow'));
  t.equal(followed.totals.dnsQueries, truth.dnsQueries, 'server-side filters: the DNS flows');
  t.equal(follow.code, 0);

  // The server goes away while following: what was received is reported, and the report says so.
  const other = await startRelay(join(dir, 'flows.jsonl'));
  const stopping = new Promise((resolve) => setTimeout(resolve, 1500)).then(other.stop);
  const cut = await run(['--server', other.address, '--follow', '--all', '--out', join(dir, 'cut'), '--format', 'json']);
  await stopping;
  t.equal(cut.code, 3, 'a stream the server ended is INCOMPLETE, never complete');
  const cutReport = readReport(join(dir, 'cut'));
  // How much arrived before the stop depends on the machine's speed; none of it is lost.
  t.ok(cutReport.totals.flows <= truth.flows, `${cutReport.totals.flows} flows received and reported`);
  t.match(cutReport.quality.input.failure?.reason, /the server ended the stream after \d+ records, before it was stopped/);
  t.equal(cutReport.compliance.status, 'INCOMPLETE');
  t.equal(cutReport.quality.complete, false);

  const down = await run(['--server', '127.0.0.1:1', '--all', '--out', join(dir, 'down')]);
  t.equal(down.code, 2);
  t.match(down.stderr, /cannot reach Hubble server at 127\.0\.0\.1:1/);
  t.notOk(existsSync(join(dir, 'down')));
});
