// `hubble-lab observe`: files filtered as a Hubble server filters them, hubble's output routing, and clear failures.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../lib/cli.ts';
import { captureIO } from '../fixtures/cli-io.ts';
import type { Flow, GetFlowsResponse } from '../../lib/flows/types.ts';
import { DEMO_NAMESPACE, FlowSynth, JUNK_LINES, synthResponses } from '../fixtures/synth.ts';
import { parseTimestamp, timestampToNanos } from '../../lib/hubble/grpc/timestamp.ts';
import { toJsonpb, toLegacyJson } from '../../lib/hubble/codec/write.ts';
import type { GetFlowsRequest } from '../../lib/flows/types.ts';
import { startObserverServer } from '../../lib/hubble/server/observer-server.ts';
import { compactLine } from '../../lib/hubble/printer/printer.ts';
import { ObserverError } from '../../lib/hubble/server/source.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const records = synthResponses({ count: 1500, seed: 7 });
// Relay's records between the flows: lost events and nodes coming and going.
const relay = new FlowSynth({ seed: 9, start: records[600]!.time! });
records.splice(300, 0, relay.lostEvents(1, 37));
records.splice(600, 0, relay.nodeStatus('NODE_UNAVAILABLE', [2], 'connection refused'));
records.splice(900, 0, relay.nodeStatus('NODE_CONNECTED', [2]), relay.lostEvents(0, 5, 'PERF_EVENT_RING_BUFFER'));
records.splice(1200, 0, relay.nodeStatus('NODE_ERROR', [1], 'tls handshake failed'));
const dir = t.testdir({});
const flowsFile = join(dir, 'flows.json');
writeFileSync(flowsFile, records.map((r) => toJsonpb(r) + '\n').join(''));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  lines: string[];
}

async function observe(args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const c = captureIO({ stdin: Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]), env: opts.env });
  const code = await main(['observe', ...args], c.io);
  const text = c.out();
  return { code, stdout: text, stderr: c.err(), lines: text === '' ? [] : text.trimEnd().split('\n') };
}

/** What hubble -o jsonpb prints on stdout for these records: flows and lost events; node status goes to stderr. */
function jsonpbStdout(rs: GetFlowsResponse[]): string[] {
  return rs.filter((r) => !r.node_status).map(toJsonpb);
}

const inNs = (f: Flow | undefined, ns: string) => f?.source?.namespace === ns || f?.destination?.namespace === ns;
const flows = records.filter((r) => r.flow);

t.test('a fixture with every kind of record', async (t) => {
  t.ok(
    flows.some((r) => r.flow!.l7?.http),
    'HTTP flows',
  );
  t.ok(
    flows.some((r) => r.flow!.verdict === 'DROPPED' && r.flow!.drop_reason_desc === 'POLICY_DENIED'),
    'policy drops',
  );
  t.ok(
    records.some((r) => r.lost_events),
    'lost events',
  );
  t.ok(
    records.some((r) => r.node_status?.state_change === 'NODE_UNAVAILABLE'),
    'node unavailable',
  );
});

t.test('no filter: every record, jsonpb on stdout, failing nodes on stderr', async (t) => {
  const run = await observe(['--input-file', flowsFile, '-o', 'jsonpb']);
  t.equal(run.code, 0);
  t.strictSame(run.lines, jsonpbStdout(records), 'same records, same order, same JSON');
  const unavailable = records.filter((r) => r.node_status?.state_change === 'NODE_UNAVAILABLE' || r.node_status?.state_change === 'NODE_ERROR').map(toJsonpb);
  t.equal(unavailable.length, 2);
  t.strictSame(run.stderr.trimEnd().split('\n'), unavailable, 'only NODE_UNAVAILABLE/NODE_ERROR status, on stderr');
});

t.test('filters select the flows a Hubble server would', async (t) => {
  const cases: [string[], (r: GetFlowsResponse) => boolean][] = [
    [['--namespace', DEMO_NAMESPACE, '--protocol', 'http'], (r) => inNs(r.flow, DEMO_NAMESPACE) && !!r.flow!.l7?.http],
    [['--verdict', 'DROPPED'], (r) => r.flow?.verdict === 'DROPPED'],
    [['--to-namespace', 'kube-system', '--to-port', '53'], (r) => r.flow?.destination?.namespace === 'kube-system' && r.flow.l4?.UDP?.destination_port === 53],
    [['--not', '--namespace', DEMO_NAMESPACE], (r) => !inNs(r.flow, DEMO_NAMESPACE)],
    [['--http-status', '5+'], (r) => (r.flow?.l7?.http?.code ?? 0) >= 500],
    [
      ['--to-label', 'app=llm-service', '--type', 'l7'],
      (r) => !!r.flow?.destination?.labels?.includes('k8s:app=llm-service') && r.flow.event_type?.type === 129,
    ],
    [['--protocol', 'dns', '--protocol', 'http'], (r) => !!(r.flow?.l7?.dns || r.flow?.l7?.http)],
    [['--node-name', 'kind-worker2'], (r) => r.flow?.node_name === 'kind-kind/kind-worker2'],
    [
      ['--fqdn', '*.openai.com'],
      (r) => !!r.flow?.destination_names?.some((n) => n.endsWith('.openai.com')) || !!r.flow?.source_names?.some((n) => n.endsWith('.openai.com')),
    ],
  ];
  for (const [args, want] of cases) {
    const run = await observe(['--input-file', flowsFile, '-o', 'jsonpb', ...args]);
    const expected = jsonpbStdout(records.filter(want));
    t.ok(expected.length > 0, `${args.join(' ')} selects something`);
    t.strictSame(run.lines, expected, args.join(' '));
    t.equal(run.code, 0);
  }
});

t.test('lost events and node status are filtered as a nil flow, as hubble filters them', async (t) => {
  const none = await observe(['--input-file', flowsFile, '-o', 'jsonpb', '--ip-version', 'none']);
  t.strictSame(none.lines, [], 'every flow has an IP, and records without a flow never match --ip-version');
  const notDropped = await observe(['--input-file', flowsFile, '-o', 'jsonpb', '--not', '--verdict', 'DROPPED']);
  t.strictSame(notDropped.lines, jsonpbStdout(records.filter((r) => r.flow?.verdict !== 'DROPPED')), 'a blacklist lets them through');
  t.ok(notDropped.lines.some((l) => l.startsWith('{"lost_events"')));
});

t.test('--verdict DENIED: policy drops, and a note on stderr', async (t) => {
  const run = await observe(['--input-file', flowsFile, '-o', 'jsonpb', '--verdict', 'DENIED']);
  const expected = records.filter((r) => r.flow?.verdict === 'DROPPED' && ['POLICY_DENIED', 'POLICY_DENY'].includes(r.flow.drop_reason_desc ?? ''));
  t.ok(expected.length > 0);
  t.strictSame(run.lines, jsonpbStdout(expected));
  t.match(run.stderr, /note: Hubble has no DENIED verdict.*DROPPED.*POLICY_DENIED or POLICY_DENY/);
  t.equal(run.code, 0);
});

t.test('--first, --last and the time window count records as hubble does', async (t) => {
  const dropped = records.filter((r) => r.flow?.verdict === 'DROPPED');
  t.strictSame((await observe(['--input-file', flowsFile, '-o', 'jsonpb', '--verdict', 'DROPPED', '--first', '3'])).lines, jsonpbStdout(dropped.slice(0, 3)));
  t.strictSame((await observe(['--input-file', flowsFile, '-o', 'jsonpb', '--verdict', 'DROPPED', '--last', '4'])).lines, jsonpbStdout(dropped.slice(-4)));
  t.strictSame((await observe(['--input-file', flowsFile, '-o', 'jsonpb', '--last', '7'])).lines, jsonpbStdout(records.slice(-7)), 'the ring keeps any record');
  t.strictSame((await observe(['--input-file', flowsFile, '-o', 'jsonpb', '--all'])).lines, jsonpbStdout(records));
  t.strictSame((await observe(['--input-file', flowsFile, '-o', 'jsonpb', '--last', '100000'])).lines, jsonpbStdout(records), 'more than there is');

  const from = records[200]!.time!;
  const to = records[260]!.time!;
  const window = (await observe(['--input-file', flowsFile, '-o', 'jsonpb', '--since', from, '--until', to])).lines;
  const ns = (s: string) => timestampToNanos(parseTimestamp(s)!);
  const inWindow = records.filter((r) => ns(r.time!) >= ns(from) && ns(r.time!) <= ns(to));
  t.ok(inWindow.length > 10);
  t.strictSame(window, jsonpbStdout(inWindow), 'inclusive window on the record time');

  const big = await observe(['--input-file', flowsFile, '--last', '2000000', '-o', 'jsonpb']);
  t.equal(big.code, 2);
  t.match(big.stderr, /--last must be <= 1000000 with --input-file/);
});

t.test('stdin, -o json and legacy JSON', async (t) => {
  const text = readFileSync(flowsFile, 'utf8');
  t.strictSame(
    (await observe(['--input-file', '-', '-o', 'json', '--protocol', 'dns'], { stdin: text })).lines,
    jsonpbStdout(records.filter((r) => r.flow?.l7?.dns)),
  );
  const legacy = await observe(['--input-file', flowsFile, '-o', 'json', '--last', '50'], { env: { HUBBLE_COMPAT: 'legacy-json-output' } });
  const expected = records
    .slice(-50)
    .map(toLegacyJson)
    .filter((l): l is string => l !== undefined);
  t.strictSame(legacy.lines, expected, 'bare flows and lost events');
  t.notOk(legacy.lines.some((l) => l.startsWith('{"flow"')));
});

t.test('-o jsonpb of an export not in jsonpb form prints what the writer prints, in file order', async (t) => {
  const rs = synthResponses({ count: 400, seed: 12 });
  // Unknown fields, another key order, enum numbers, escapes the writer would not use; every fifth line as is.
  const lines = rs.map((r, i) => {
    const line = toJsonpb(r);
    switch (i % 5) {
      case 0:
        return r.flow ? JSON.stringify({ ...r, flow: { ...r.flow, future_field: { a: 1 } } }) : line;
      case 1:
        return JSON.stringify(Object.fromEntries(Object.entries(r).reverse()));
      case 2:
        return line.replace('"verdict":"FORWARDED"', '"verdict":1').replace('"Type":"L7"', '"Type":2');
      case 3:
        return line.replaceAll('/', '\\/');
      default:
        return line;
    }
  });
  t.ok(lines.filter((l, i) => l !== toJsonpb(rs[i]!)).length > 250, 'most lines are not in jsonpb form');
  const path = join(dir, 'not-canonical.json');
  writeFileSync(path, lines.join('\n') + '\n');
  t.strictSame((await observe(['--input-file', path, '-o', 'jsonpb'])).lines, jsonpbStdout(rs));
  const http = (await observe(['--input-file', path, '-o', 'jsonpb', '--namespace', DEMO_NAMESPACE, '--protocol', 'http'])).lines;
  t.ok(http.length > 10, `${http.length} HTTP flows`);
  t.strictSame(http, jsonpbStdout(rs.filter((r) => inNs(r.flow, DEMO_NAMESPACE) && !!r.flow!.l7?.http)), 'filtered');
});

t.test('compact, dict and table print the selected records as hubble does', async (t) => {
  const dropped = records.filter((r) => r.flow?.verdict === 'DROPPED');
  const compact = await observe(['--input-file', flowsFile, '--verdict', 'DROPPED', '--color', 'always', '--numeric']);
  t.equal(compact.code, 0);
  t.equal(compact.stdout, dropped.map((r) => compactLine(r.flow!, { color: 'always', ipTranslation: false })).join(''));
  t.match(compact.stdout, /\x1b\[/, 'colour when asked');

  const all = await observe(['--input-file', flowsFile, '--print-node-name', '--time-format', 'RFC3339Nano']);
  t.equal(all.lines.length, records.filter((r) => !r.node_status).length, 'one line per flow and lost event');
  t.match(all.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z \[kind-kind\/kind-[\w-]+\]: /);
  t.match(all.stdout, /EVENTS LOST: HUBBLE_RING_BUFFER CPU\(0\) 37/);
  t.match(all.stderr, /1 nodes are unavailable: kind-kind\/kind-worker2/);
  t.match(all.stderr, /Error "tls handshake failed" on 1 nodes/);
  t.notMatch(all.stderr, /Receiving flows/, 'connected nodes only with --debug');
  t.match(
    (await observe(['--input-file', flowsFile, '-D'])).stderr,
    /Receiving flows from 1 nodes/,
    'a filter would drop status events: they match as an empty flow',
  );

  const table = await observe(['--input-file', flowsFile, '-o', 'table', '--verdict', 'DROPPED', '--first', '3']);
  t.match(table.lines[0], /^TIMESTAMP\s+SOURCE\s+DESTINATION\s+TYPE\s+VERDICT\s+SUMMARY$/);
  t.equal(table.lines.length, 4);
  const dict = await observe(['--input-file', flowsFile, '-o', 'dict', '--verdict', 'DROPPED', '--first', '2']);
  t.equal(dict.lines.filter((l) => l === '------------').length, 1);
  t.match(dict.stdout, /    VERDICT: DROPPED/);

  for (const [args, message] of [
    [['-o', 'table', '--follow'], /table output format is not compatible with follow mode/],
    [['--time-format', 'Kitchen'], /unknown --time-format Kitchen/],
    [['--color', 'sometimes'], /--color takes auto, always or never/],
  ] as [string[], RegExp][]) {
    const run = await observe(['--input-file', flowsFile, ...args]);
    t.equal(run.code, 2);
    t.match(run.stderr, message);
  }
});

t.test('malformed lines: every good record printed, the bad ones counted and located, exit 3', async (t) => {
  const good = records.slice(0, 40);
  const lines = good.map(toJsonpb);
  lines.splice(10, 0, JUNK_LINES[0]!.text);
  lines.splice(25, 0, JUNK_LINES[2]!.text);
  const file = join(dir, 'junk.json');
  writeFileSync(file, lines.join('\n') + '\n');
  const run = await observe(['--input-file', file, '-o', 'jsonpb']);
  t.equal(run.code, 3);
  t.strictSame(run.lines, jsonpbStdout(good));
  t.match(run.stderr, /2 malformed lines in .*junk\.json skipped/);
  t.match(run.stderr, /line 11: not JSON/);
  t.match(run.stderr, /line 26: not a JSON object/);
});

t.test('an input that breaks off: what was read is printed, then the error, exit 2', async (t) => {
  const gz = gzipSync(readFileSync(flowsFile));
  const file = join(dir, 'cut.json.gz');
  writeFileSync(file, gz.subarray(0, Math.floor(gz.length / 2)));
  const whole = await observe(['--input-file', file, '-o', 'jsonpb']);
  t.equal(whole.code, 2);
  t.ok(whole.lines.length > 100, `records before the break are printed (${whole.lines.length})`);
  t.strictSame(whole.lines, jsonpbStdout(records).slice(0, whole.lines.length));
  t.match(whole.stderr, /cut\.json\.gz: unexpected end of gzip data after line \d+/);
  const tail = await observe(['--input-file', file, '-o', 'jsonpb', '--last', '3']);
  t.equal(tail.code, 2);
  t.strictSame(tail.lines, whole.lines.slice(-3), '--last still prints the last records read');
});

t.test('bad flags, a missing file and an unreachable server exit 2 with a clear message', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--input-file', join(dir, 'nope.json'), '-o', 'jsonpb'], /nope\.json/],
    [['--input-file', flowsFile, '--verdict', 'dropped'], /invalid --verdict value: dropped[\s\S]*hint: verdicts are upper case/],
    [['--input-file', flowsFile, '--lst', '5'], /unknown flag --lst[\s\S]*did you mean --last/],
    [['--input-file', flowsFile, '--first', '1', '--last', '2'], /cannot set both --first and --last/],
    [
      ['--input-file', flowsFile, '--pod', 'a', '--from-pod', 'b'],
      /filters --from-pod and --pod cannot be combined|filters --pod and --from-pod cannot be combined/,
    ],
    [['--input-file', flowsFile, '-o', 'yaml'], /invalid output format: yaml/],
    [['--input-file', flowsFile, '--server', 'x:1'], /--input-file and --server cannot be used together/],
    [['--input-file', flowsFile, '--from-ip', '10.0.0.0/40'], /--from-ip "10\.0\.0\.0\/40": not a valid CIDR/],
    [['--input-file', flowsFile, 'stray'], /unexpected argument "stray"/],
    [['--server', '127.0.0.1:1', '-o', 'jsonpb'], /cannot reach Hubble server at 127\.0\.0\.1:1/],
  ];
  for (const [args, message] of cases) {
    const run = await observe(args);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr, message, args.join(' '));
    t.equal(run.stdout, '', 'nothing on stdout');
  }
});

t.test('as a process: bin/hubble-lab.mjs observe', async (t) => {
  const cli = (args: string[]) => spawnSync(process.execPath, [join(root, 'bin/hubble-lab.mjs'), 'observe', ...args], { encoding: 'utf8', timeout: 60_000 });
  const ok = cli(['--input-file', flowsFile, '-o', 'jsonpb', '--verdict', 'DENIED', '--to-namespace', DEMO_NAMESPACE]);
  t.equal(ok.status, 0);
  const expected = records.filter(
    (r) =>
      r.flow?.verdict === 'DROPPED' &&
      r.flow.destination?.namespace === DEMO_NAMESPACE &&
      ['POLICY_DENIED', 'POLICY_DENY'].includes(r.flow.drop_reason_desc ?? ''),
  );
  t.strictSame(ok.stdout.trimEnd().split('\n'), jsonpbStdout(expected));
  t.match(ok.stderr, /^hubble-lab: note: Hubble has no DENIED verdict/);
  const missing = cli(['--input-file', join(dir, 'missing.json'), '-o', 'jsonpb']);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /^hubble-lab: .*missing\.json/);
  const help = cli(['--help']);
  t.equal(help.status, 0);
  for (const flag of ['--namespace', '--not', '--verdict', '--since', '--input-file', '-t, --type', '-l, --label', '-f, --follow']) t.match(help.stdout, flag);
  t.match(help.stdout, /3 the input had\s+malformed lines/);
});

t.test('against a live server: the request hubble would send, and its answer printed', async (t) => {
  const seen: GetFlowsRequest[] = [];
  const answer = records.slice(0, 30);
  const server = await startObserverServer('127.0.0.1:0', {
    async getFlows(req, sink) {
      seen.push(req);
      if (req.whitelist?.some((f) => f.protocol?.includes('kafka'))) throw new ObserverError('INVALID_ARGUMENT', 'no kafka here');
      for (const r of answer) if (!sink.send(r)) await sink.drained();
    },
    serverStatus: () => ({}),
    getNodes: () => [],
    getNamespaces: () => [],
  });
  t.teardown(() => server.close());

  const bare = await observe(['--server', server.address, '-o', 'jsonpb']);
  t.equal(bare.code, 0);
  t.strictSame(bare.lines, jsonpbStdout(answer), 'printed as received');
  t.equal(seen[0]!.number, 20, 'a bare request asks for the last 20');

  const filtered = await observe(
    ['--server', server.address, '-o', 'jsonpb', '-n', DEMO_NAMESPACE, '--not', '--verdict', 'DENIED', '--since', '2025-03-14T09:00:00Z'],
    {
      env: {},
    },
  );
  t.equal(filtered.code, 0);
  t.match(seen[1], {
    since: '2025-03-14T09:00:00Z',
    whitelist: [{ source_pod: [`${DEMO_NAMESPACE}/`] }, { destination_pod: [`${DEMO_NAMESPACE}/`] }],
    blacklist: [{ verdict: ['DROPPED'], drop_reason_desc: ['POLICY_DENIED', 'POLICY_DENY'] }],
  });
  t.notOk(seen[1]!.number, 'a time range sends no default count');

  const viaEnv = await observe(['-o', 'jsonpb', '--first', '2'], { env: { HUBBLE_SERVER: server.address } });
  t.equal(viaEnv.code, 0);
  t.match(seen[2], { number: 2, first: true });

  const refused = await observe(['--server', server.address, '-o', 'jsonpb', '--protocol', 'kafka']);
  t.equal(refused.code, 2);
  t.match(refused.stderr, /no kafka here/);
});
