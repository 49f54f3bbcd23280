// Reading flow exports: plain, gzip, stdin and streams; long lines; junk, bare flows, exporter lines, unknown fields.
import t, { type Test } from 'tap';
import { chmodSync, existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  createReadStats,
  describeMalformed,
  readResponseBatches,
  readResponseLineBatches,
  readResponses,
  type ReadInput,
  type ReadStats,
} from '../../../lib/hubble/codec/read.ts';
import { InputError } from '../../../lib/errors.ts';
import { JUNK_LINES, synthJsonpbLines, synthResponses, writeSynthFile } from '../../fixtures/synth.ts';
import type { GetFlowsResponse } from '../../../lib/flows/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'hubble-read-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const readModule = fileURLToPath(new URL('../../../lib/hubble/codec/read.ts', import.meta.url));

/** Same records, same key order: compared as JSON text, which is also far faster than a deep compare. */
function sameRecords(t: Test, got: GetFlowsResponse[], want: GetFlowsResponse[], msg = 'same records'): void {
  t.equal(got.length, want.length, `${msg}: count`);
  const firstDiff = got.findIndex((r, i) => JSON.stringify(r) !== JSON.stringify(want[i]));
  if (firstDiff === -1) t.pass(msg);
  else t.same(got[firstDiff], want[firstDiff], `${msg}: first difference at record ${firstDiff}`);
}

async function readAll(input: ReadInput, stats: ReadStats = createReadStats()): Promise<GetFlowsResponse[]> {
  const out: GetFlowsResponse[] = [];
  for await (const r of readResponses(input, stats)) out.push(r);
  return out;
}

t.test('reads a plain jsonpb export into the records that were written', async (t) => {
  const path = join(dir, 'plain.jsonl');
  const lines = await writeSynthFile(path, { count: 600, seed: 7 });
  const stats = createReadStats();
  const got = await readAll(path, stats);
  sameRecords(t, got, synthResponses({ count: 600, seed: 7 }));
  const flows = got.filter((r) => r.flow).length;
  t.match(stats, { source: path, lines, records: 600, flows, skipped: 0, malformed: 0, firstMalformed: [] });
  t.equal(describeMalformed(stats), '');
});

t.test('detects gzip by its magic bytes, whatever the file is called', async (t) => {
  const path = join(dir, 'export.jsonl'); // no .gz on purpose
  await writeSynthFile(path, { count: 300, seed: 3, gzip: true });
  t.equal(readFileSync(path)[0], 0x1f, 'the file really is gzip');
  const stats = createReadStats();
  sameRecords(t, await readAll(path, stats), synthResponses({ count: 300, seed: 3 }));
  t.equal(stats.records, 300);
});

t.test('reads concatenated gzip members as one stream', async (t) => {
  const lines = [...synthJsonpbLines({ count: 40, seed: 5 })];
  const path = join(dir, 'multi.gz');
  writeFileSync(path, Buffer.concat([gzipSync(lines.slice(0, 15).join('\n') + '\n'), gzipSync(lines.slice(15).join('\n') + '\n')]));
  t.equal((await readAll(path)).length, 40);
});

t.test('reads `-` as stdin, in a separate process fed through a pipe', async (t) => {
  const input = [...synthJsonpbLines({ count: 120, seed: 11, junkEvery: 50 })].join('\n') + '\n';
  const script = `const { readResponses, createReadStats } = await import(${JSON.stringify(readModule)});
const s = createReadStats(); let n = 0; for await (const r of readResponses('-', s)) n++;
process.stdout.write(JSON.stringify({ n, s }));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(code, 0);
  const { n, s } = JSON.parse(out) as { n: number; s: ReadStats };
  t.equal(n, 120);
  t.match(s, { source: '<stdin>', records: 120, malformed: 2, lines: 122 });
  t.same(
    s.firstMalformed.map((m) => m.line),
    [51, 102],
  );
});

t.test('reads a stream whose chunks split lines and multi-byte characters anywhere', async (t) => {
  const records = synthResponses({ count: 50, seed: 2 });
  records[5]!.flow!.Summary = 'naïve — 日本語 ✓ \u2028';
  const lines = records.map((r) => JSON.stringify(r));
  const bytes = Buffer.from(lines.join('\n') + '\n');
  const chunks: Buffer[] = [];
  for (let i = 0, size = 1; i < bytes.length; i += size, size = ((size * 7) % 97) + 1) chunks.push(bytes.subarray(i, i + size));
  const stats = createReadStats();
  t.same(await readAll(Readable.from(chunks), stats), records);
  t.equal(stats.source, '<stream>');
  const named = createReadStats();
  await readAll({ stream: Readable.from(['oops\n']), name: 'stdin' }, named);
  t.match(describeMalformed(named), /^1 malformed line in stdin skipped \(0 records read\):\n {2}line 1: not JSON/);
});

t.test('reads lines far over 64 KiB', async (t) => {
  const [a, b, c] = synthResponses({ count: 3, seed: 4 });
  const big = structuredClone(b!);
  big.flow ??= {};
  big.flow.source = { identity: 4242, labels: Array.from({ length: 3000 }, (_, i) => `k8s:example.com/label-${i}=${'v'.repeat(50)}`) };
  const lines = [a, big, c].map((r) => JSON.stringify(r));
  t.ok(lines[1]!.length > 200 * 1024, `line 2 is ${lines[1]!.length} bytes`);
  const path = join(dir, 'long.jsonl');
  writeFileSync(path, lines.join('\n') + '\n');
  const got = await readAll(path);
  t.equal(got.length, 3);
  t.same(got[1], big);
  t.same(got[2], c, 'the line after the long one is intact');
});

t.test('reports junk lines with their line numbers and reasons, and loses nothing around them', async (t) => {
  const path = join(dir, 'junk.jsonl');
  const count = 70;
  await writeSynthFile(path, { count, seed: 9, junkEvery: 10 });
  const stats = createReadStats();
  const got = await readAll(path, stats);
  sameRecords(t, got, synthResponses({ count, seed: 9 }), 'every good record before and after the junk is read');
  t.equal(stats.malformed, 7);
  t.equal(stats.lines, count + 7);
  // After every 10 records a junk line: junk i sits on line 11*(i+1).
  t.same(
    stats.firstMalformed.map((m) => m.line),
    JUNK_LINES.map((_, i) => 11 * (i + 1)),
  );
  stats.firstMalformed.forEach((m, i) => t.match(m.reason, JUNK_LINES[i]!.reason, `line ${m.line}`));
  const text = describeMalformed(stats);
  t.match(text, `7 malformed lines in ${path} skipped (${count} records read):`);
  t.match(text, 'line 44: flow.verdict: expected an enum name or number, got boolean true');
});

t.test('keeps only the first ten malformed lines as samples but counts them all', async (t) => {
  const lines = Array.from({ length: 25 }, (_, i) => (i % 2 ? 'garbage' : '{"flow":{"verdict":"FORWARDED"}}'));
  const stats = createReadStats();
  await readAll(Readable.from([lines.join('\n')]), stats);
  t.equal(stats.malformed, 12);
  t.equal(stats.records, 13);
  t.equal(stats.firstMalformed.length, 10);
  t.equal(stats.firstMalformed[9]!.line, 20);
  t.match(describeMalformed(stats), /… and 2 more$/);
});

t.test('skips empty and whitespace lines, accepts CRLF and a last line without newline', async (t) => {
  const text = '\n  \n{"flow":{"verdict":"FORWARDED"}}\r\n\t\r\n{"flow":{"verdict":"DROPPED"}}';
  const stats = createReadStats();
  const got = await readAll(Readable.from([text]), stats);
  t.same(
    got.map((r) => r.flow?.verdict),
    ['FORWARDED', 'DROPPED'],
  );
  t.match(stats, { lines: 5, records: 2, malformed: 0 });
});

t.test('wraps bare Flow lines (legacy -o json) with the flow node name and time', async (t) => {
  const path = join(dir, 'legacy.json');
  await writeSynthFile(path, { count: 80, seed: 12, bareFlows: true });
  const expected = synthResponses({ count: 80, seed: 12 }).filter((r) => r.flow);
  const got = await readAll(path);
  t.equal(got.length, expected.length);
  sameRecords(t, got, expected, 'same {flow, node_name, time} as relay sends');
});

t.test('counts exporter agent and debug events as skipped, not malformed', async (t) => {
  const lines = [
    '{"agent_event":{"type":"ENDPOINT_CREATED","endpoint_update":{"id":"12"}},"node_name":"n1","time":"2025-03-14T09:26:53Z"}',
    '{"flow":{"verdict":"FORWARDED"},"node_name":"n1","time":"2025-03-14T09:26:53Z"}',
    '{"debug_event":{"type":"DBG_GENERIC","message":"x"},"node_name":"n1","time":"2025-03-14T09:26:53Z"}',
  ];
  const stats = createReadStats();
  const got = await readAll(Readable.from([lines.join('\n')]), stats);
  t.equal(got.length, 1);
  t.match(stats, { skipped: 2, malformed: 0, records: 1, flows: 1 });
});

t.test('reads lost_events and node_status records and checks their fields', async (t) => {
  const lines = [
    '{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"37"},"node_name":"n1","time":"2025-03-14T09:26:53Z"}',
    '{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":5,"cpu":1}}',
    '{"node_status":{"state_change":"NODE_CONNECTED","node_names":["n1","n2"]},"time":"2025-03-14T09:26:53Z"}',
    '{"node_status":{"state_change":"NODE_UNAVAILABLE","node_names":"n1"}}',
    '{"lost_events":{"num_events_lost":-3}}',
  ];
  const stats = createReadStats();
  const got = await readAll(Readable.from([lines.join('\n')]), stats);
  t.equal(got.length, 3);
  t.equal(got[1]!.lost_events!.num_events_lost, '5', 'a numeric uint64 is normalised to its string form');
  t.same(stats.firstMalformed, [
    { line: 4, reason: 'node_status.node_names: expected an array of strings, got string "n1"' },
    { line: 5, reason: 'lost_events.num_events_lost: expected an unsigned integer string, got number -3' },
  ]);
});

t.test('passes unknown fields through to the records without failing', async (t) => {
  const path = join(dir, 'future.jsonl');
  await writeSynthFile(path, { count: 60, seed: 21, unknownFields: true });
  const stats = createReadStats();
  const got = await readAll(path, stats);
  t.equal(stats.records, 60);
  t.equal(stats.malformed, 0);
  const flow = got.find((r) => r.flow)!;
  t.equal((flow as Record<string, unknown>).future_cursor, 'c-0001');
});

t.test('a file that cannot be read throws InputError naming it', async (t) => {
  const missing = join(dir, 'nope.jsonl');
  await t.rejects(readAll(missing), { name: 'InputError', message: `cannot read flows file ${missing}: no such file`, hint: /hubble observe -o jsonpb/ });
  const sub = join(dir, 'a-directory');
  mkdirSync(sub);
  await t.rejects(readAll(sub), { name: 'InputError', message: `cannot read flows file ${sub}: is a directory` });
});

t.test('a file this user may not read throws InputError saying so', { skip: process.getuid?.() === 0 ? 'root may read any file' : false }, async (t) => {
  const path = join(dir, 'secret.jsonl');
  writeFileSync(path, '{"flow":{}}\n');
  chmodSync(path, 0o000);
  await t.rejects(readAll(path), { name: 'InputError', message: `cannot read flows file ${path}: permission denied` });
});

t.test('a stream that fails mid-way yields the records before the failure, then throws InputError', async (t) => {
  const good = [...synthJsonpbLines({ count: 3, seed: 1 })].join('\n') + '\n';
  const stream = new Readable({ read() {} });
  stream.push(good);
  setImmediate(() => stream.destroy(new Error('connection reset')));
  const got: GetFlowsResponse[] = [];
  await t.rejects(
    (async () => {
      for await (const r of readResponses(stream)) got.push(r);
    })(),
    { name: 'InputError', message: '<stream>: reading failed after line 3: connection reset' },
  );
  t.equal(got.length, 3);
});

t.test('ignores a byte order mark at the start of the file', async (t) => {
  const stats = createReadStats();
  const got = await readAll(Readable.from(['\uFEFF{"flow":{"verdict":"FORWARDED"}}\n']), stats);
  t.equal(got.length, 1);
  t.equal(stats.malformed, 0);
});

t.test('a truncated gzip file yields every record before the damage, then throws naming the file', async (t) => {
  const path = join(dir, 'cut.gz');
  const full = gzipSync([...synthJsonpbLines({ count: 400, seed: 8 })].join('\n') + '\n');
  writeFileSync(path, full.subarray(0, Math.floor(full.length * 0.7)));
  const stats = createReadStats();
  const got: GetFlowsResponse[] = [];
  const err = await (async () => {
    try {
      for await (const r of readResponses(path, stats)) got.push(r);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.type(err, InputError);
  t.equal((err as Error).message, `${path}: unexpected end of gzip data after line ${stats.lines}`);
  t.ok(got.length > 100, `${got.length} records read before the cut`);
  sameRecords(t, got, synthResponses({ count: 400, seed: 8 }).slice(0, got.length));
});

t.test('stopping early closes the file', { skip: existsSync('/proc/self/fd') ? false : 'needs /proc to count open files' }, async (t) => {
  const path = join(dir, 'early.jsonl');
  await writeSynthFile(path, { count: 3000, seed: 6 });
  const openFiles = () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path;
      } catch {
        return false;
      }
    }).length;
  let n = 0;
  for await (const _ of readResponses(path)) {
    if (n === 0) t.equal(openFiles(), 1, 'open while reading');
    if (++n === 10) break;
  }
  t.equal(n, 10);
  t.equal(openFiles(), 0, 'closed after break');
});

t.test('the batch API yields the same records in input-sized arrays', async (t) => {
  const path = join(dir, 'batches.jsonl');
  await writeSynthFile(path, { count: 2500, seed: 1 });
  const batches: GetFlowsResponse[][] = [];
  for await (const b of readResponseBatches(path)) batches.push(b);
  t.ok(batches.length >= 2, `${batches.length} batches`);
  sameRecords(t, batches.flat(), synthResponses({ count: 2500, seed: 1 }));
});

t.test('accepts enum numbers as protojson does: known ones become names, unknown ones stay numbers', async (t) => {
  const lines = [
    '{"flow":{"verdict":2}}',
    '{"flow":{"verdict":1,"IP":{"source":"10.0.0.1","ipVersion":1},"Type":2,"l7":{"type":2},"traffic_direction":1,"drop_reason_desc":133,"trace_observation_point":101}}',
    '{"flow":{"verdict":99}}',
    '{"lost_events":{"source":3,"num_events_lost":"4"}}',
    '{"node_status":{"state_change":2,"node_names":["n1"]}}',
    '{"flow":{"verdict":1.5}}',
    '{"flow":{"Type":"L7","l7":{"type":[2]}}}',
  ];
  const stats = createReadStats();
  const got = await readAll(Readable.from([lines.join('\n')]), stats);
  t.same(got[0], { flow: { verdict: 'DROPPED' } });
  t.same(got[1]!.flow, {
    verdict: 'FORWARDED',
    IP: { source: '10.0.0.1', ipVersion: 'IPv4' },
    Type: 'L7',
    l7: { type: 'RESPONSE' },
    traffic_direction: 'INGRESS',
    drop_reason_desc: 'POLICY_DENIED',
    trace_observation_point: 'TO_ENDPOINT',
  });
  t.same(got[2], { flow: { verdict: 99 } }, 'a number with no name in our protos is kept, as Go keeps it');
  t.same(got[3], { lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '4' } });
  t.same(got[4], { node_status: { state_change: 'NODE_UNAVAILABLE', node_names: ['n1'] } });
  t.same(stats.firstMalformed, [
    { line: 6, reason: 'flow.verdict: expected an enum name or number, got number 1.5' },
    { line: 7, reason: 'flow.l7.type: expected an enum name or number, got an array' },
  ]);
});

t.test('reads values as protojson does: null as not set, 32-bit integers in strings, 64-bit ones in any number syntax', async (t) => {
  const lines = [
    '{"flow":{"is_reply":null,"verdict":"FORWARDED","source":{"namespace":null,"identity":5},"l4":null},"node_name":null}',
    '{"flow":{"l4":{"TCP":{"source_port":"80","destination_port":"8e1"}},"l7":{"http":{"code":"200"}},"event_type":{"type":"4","sub_type":"-1"}}}',
    '{"lost_events":{"num_events_lost":"1e3","cpu":"0"}}',
    '{"flow":{"l7":{"latency_ns":"1.5e3"}}}',
    '{"flow":{"l4":{"TCP":{"source_port":"eighty"}}}}',
    '{"flow":{"l4":{"TCP":{"source_port":"80.5"}}}}',
    '{"lost_events":{"num_events_lost":"-3"}}',
    '{"lost_events":{"num_events_lost":"1.5"}}',
    '{"flow":{"source":{"labels":["a",null]}}}',
  ];
  const stats = createReadStats();
  const got = await readAll(Readable.from([lines.join('\n')]), stats);
  t.strictSame(got[0], { flow: { verdict: 'FORWARDED', source: { identity: 5 } } }, 'null fields are left out');
  t.strictSame(got[1]!.flow, { l4: { TCP: { source_port: 80, destination_port: 80 } }, l7: { http: { code: 200 } }, event_type: { type: 4, sub_type: -1 } });
  t.strictSame(got[2], { lost_events: { num_events_lost: '1000', cpu: 0 } });
  t.strictSame(got[3], { flow: { l7: { latency_ns: '1500' } } });
  t.equal(got.length, 4);
  t.same(stats.firstMalformed, [
    { line: 5, reason: 'flow.l4.TCP.source_port: expected a number, got string "eighty"' },
    { line: 6, reason: 'flow.l4.TCP.source_port: "80.5" is not a valid uint32 (not a whole number)' },
    { line: 7, reason: 'lost_events.num_events_lost: expected an unsigned integer string, got string "-3"' },
    { line: 8, reason: 'lost_events.num_events_lost: expected an unsigned integer string, got string "1.5"' },
    { line: 9, reason: 'flow.source.labels[1]: expected a string, got null' },
  ]);
});

t.test('a field given twice in one object is a malformed line, as protojson refuses it, at any depth and however written', async (t) => {
  const lines = [
    // JSON.parse alone would keep the last: this flow would count as forwarded.
    '{"flow":{"verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","verdict":"FORWARDED"}}',
    '{"flow":{"source":{"namespace":"a","pod_name":"p","namespace":"b"}}}',
    '{"flow":{"verdict":"DROPPED"},"flow":{"verdict":"FORWARDED"}}',
    // The same key spelled with an escape, and spaces that make the line longer than its value.
    '{"flow":{"verdict":"DROPPED", "ver\\u0064ict":"FORWARDED"}}',
    // A number written short (8e3) cannot hide a key given twice.
    '{"flow":{"l4":{"TCP":{"destination_port":8e3}},"verdict":"FORWARDED","verdict":"DROPPED"}}',
    // A value ending in an escaped backslash, its closing quote right after it.
    '{"flow":{"Summary":"C:\\\\","verdict":"FORWARDED","verdict":"DROPPED"}}',
    // Not duplicates: equal values in a list, equal keys in sibling objects, escapes and spaces alone, and a value
    // that looks like a key ("x": inside a string).
    '{"flow":{"source":{"labels":["k8s:app=a","k8s:app=a"]},"destination":{"labels":["k8s:app=a"]},"Summary":"say \\"hi\\""}}',
    '{"flow":{"Summary":"\\"verdict\\": \\\\\\"x\\"","verdict":"FORWARDED"}}',
    '{"flow": {"verdict": "FORWARDED", "l4": {"TCP": {"destination_port": 8000}}}}',
  ];
  const stats = createReadStats();
  const got = await readAll(Readable.from([lines.join('\n')]), stats);
  t.equal(got.length, 3, 'only the last three lines are records');
  t.strictSame(got[1]!.flow, { Summary: '"verdict": \\"x"', verdict: 'FORWARDED' });
  t.strictSame(got[2]!.flow, { verdict: 'FORWARDED', l4: { TCP: { destination_port: 8000 } } });
  t.same(stats.firstMalformed, [
    { line: 1, reason: 'duplicate field "verdict" (protojson refuses a field given twice)' },
    { line: 2, reason: 'duplicate field "namespace" (protojson refuses a field given twice)' },
    { line: 3, reason: 'duplicate field "flow" (protojson refuses a field given twice)' },
    { line: 4, reason: 'duplicate field "verdict" (protojson refuses a field given twice)' },
    { line: 5, reason: 'duplicate field "verdict" (protojson refuses a field given twice)' },
    { line: 6, reason: 'duplicate field "verdict" (protojson refuses a field given twice)' },
  ]);
});

t.test('reads fields by their JSON names too (nodeName, isReply), as protojson does', async (t) => {
  const lines = [
    // As grpcurl prints a GetFlows response: protojson without UseProtoNames.
    '{"flow":{"time":"2025-03-14T09:26:53Z","verdict":"DROPPED","IP":{"source":"10.0.0.1","destination":"10.0.0.2","ipVersion":"IPv4"},' +
      '"l4":{"TCP":{"sourcePort":44916,"destinationPort":80,"flags":{"SYN":true}}},"source":{"identity":1234,"podName":"xwing","clusterName":"c1"},' +
      '"destination":{"podName":"deathstar","workloads":[{"name":"deathstar","kind":"Deployment"}]},"Type":"L3_L4","nodeName":"n1",' +
      '"eventType":{"type":1,"subType":133},"trafficDirection":"INGRESS","dropReasonDesc":"POLICY_DENIED","isReply":false,' +
      '"l7":{"latencyNs":"5","http":{"headers":[{"key":"a","value":"b"}]}}},"nodeName":"n1"}',
    '{"lostEvents":{"source":"HUBBLE_RING_BUFFER","numEventsLost":"3"},"nodeName":"n2"}',
    '{"nodeStatus":{"stateChange":"NODE_UNAVAILABLE","nodeNames":["n3"]}}',
    // A bare Flow, as legacy -o json with JSON names.
    '{"verdict":"FORWARDED","nodeName":"n4","isReply":true}',
  ];
  const stats = createReadStats();
  const got = await readAll(Readable.from([lines.join('\n')]), stats);
  t.strictSame(got[0], {
    flow: {
      time: '2025-03-14T09:26:53Z',
      verdict: 'DROPPED',
      IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 44916, destination_port: 80, flags: { SYN: true } } },
      source: { identity: 1234, pod_name: 'xwing', cluster_name: 'c1' },
      destination: { pod_name: 'deathstar', workloads: [{ name: 'deathstar', kind: 'Deployment' }] },
      Type: 'L3_L4',
      node_name: 'n1',
      event_type: { type: 1, sub_type: 133 },
      traffic_direction: 'INGRESS',
      drop_reason_desc: 'POLICY_DENIED',
      is_reply: false,
      l7: { latency_ns: '5', http: { headers: [{ key: 'a', value: 'b' }] } },
    },
    node_name: 'n1',
  });
  t.strictSame(got[1], { lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '3' }, node_name: 'n2' });
  t.strictSame(got[2], { node_status: { state_change: 'NODE_UNAVAILABLE', node_names: ['n3'] } });
  t.strictSame(got[3], { flow: { verdict: 'FORWARDED', node_name: 'n4', is_reply: true }, node_name: 'n4' });
  t.equal(stats.malformed, 0);
});

t.test('the line batch API hands out each record with the line it is exactly the parse of', async (t) => {
  const [a, b, c] = [...synthJsonpbLines({ count: 3, seed: 14 })];
  const text = [
    `\uFEFF${a}`,
    'junk',
    `${b}\r`,
    '{"flow":{"verdict":2},"node_name":"n1"}',
    '{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":7}}',
    '{"verdict":"FORWARDED","node_name":"n1"}',
    '',
    c,
  ].join('\n');
  const records: GetFlowsResponse[] = [];
  const lines: (string | undefined)[] = [];
  for await (const batch of readResponseLineBatches(Readable.from([text]))) {
    t.equal(batch.lines.length, batch.records.length, 'one line slot per record');
    records.push(...batch.records);
    lines.push(...batch.lines);
  }
  t.same(lines, [a, `${b}\r`, undefined, undefined, undefined, c], 'BOM left out; enum numbers, numeric uint64 and bare flows rewritten');
  lines.forEach((line, i) => {
    if (line !== undefined) t.strictSame(JSON.parse(line), records[i], `record ${i} is the parse of its line`);
  });
  const plain: GetFlowsResponse[] = [];
  for await (const batch of readResponseBatches(Readable.from([text]))) plain.push(...batch);
  t.strictSame(records, plain, 'the same records as readResponseBatches');
});
