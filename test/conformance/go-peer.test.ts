// Conformance with the Go libraries the hubble CLI is made of (test/go-peer): our jsonpb bytes against Go protojson +
// json.Encoder, and our Relay against a grpc-go client, with requests built by our own hubble-observe flag parser.
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../lib/cli.ts';
import { parseArgs } from '../../lib/args.ts';
import type { GetFlowsResponse } from '../../lib/flows/types.ts';
import { FlowSynth, synthJsonpbLines, synthResponses } from '../fixtures/synth.ts';
import { createReadStats, readResponses } from '../../lib/hubble/codec/read.ts';
import { toJsonpb } from '../../lib/hubble/codec/write.ts';
import { buildGetFlowsRequest, observeFilterOptions, observeSelectorOptions } from '../../lib/hubble/filter/flags.ts';
import { captureIO } from '../fixtures/cli-io.ts';
import { flowMix } from '../fixtures/flow-mix.ts';
import { goPeer, runGoPeer } from '../fixtures/go-peer.ts';
import { hubbleTestDrop } from '../fixtures/hubble-cli-flows.ts';
import { AWKWARD_TEXT, enumRecords, getFlowsResponseType, message, variantCount } from '../fixtures/proto-samples.ts';

const peer = await goPeer();
const dir = t.testdir({});

if (peer.bin === undefined) {
  // CI installs the toolchain (.ci/run) and sets this, so that a broken install fails instead of skipping.
  if (process.env.HUBBLE_LAB_REQUIRE_GO_PEER) t.fail(`the Go peer is required here but cannot be built: ${peer.reason}`);
  else t.plan(0, `Go peer not available: ${peer.reason}`);
} else {
  const bin = peer.bin;
  formatTests(bin);
  wireTests(bin);
}

// ---------------------------------------------------------------- helpers

const lines = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));

/** Where two lines part, with some context on both sides: readable even for 10 KiB lines. */
function whereTheyDiffer(got: string, want: string): { column: number; got: string; want: string } {
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  const from = Math.max(0, i - 60);
  const cut = (s: string) => `${from > 0 ? '…' : ''}${s.slice(from, i + 60)}${s.length > i + 60 ? '…' : ''}`;
  return { column: i + 1, got: cut(got), want: cut(want) };
}

/** Asserts two lists of output lines are identical; on failure names the first differing line and column. */
function sameLines(t: Test, got: string[], want: string[], what: string): void {
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    const g = got[i];
    const w = want[i];
    if (g === w) continue;
    const where = g === undefined ? { missing: w } : w === undefined ? { extra: g } : whereTheyDiffer(g, w);
    t.fail(`${what}: line ${i + 1} differs (${got.length} lines against ${want.length})`, { diagnostic: true, ...where });
    return;
  }
  t.ok(want.length > 0, `${what}: ${want.length} lines, byte for byte identical`);
}

function writeLines(name: string, text: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, text.join('\n') + '\n');
  return path;
}

async function observeOffline(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = captureIO({ stdin: Readable.from([]) });
  const code = await main(['observe', ...args], c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

/** Our reader, then our writer: what hubble-lab makes of each line of a file. */
async function readAndWrite(path: string): Promise<string[]> {
  const stats = createReadStats();
  const out: string[] = [];
  for await (const r of readResponses(path, stats)) out.push(toJsonpb(r));
  return out;
}

/** What `hubble observe -o jsonpb` puts on stderr: node status of nodes that failed, nothing else. */
const isFailedNodeStatus = (line: string) => /^\{"node_status":\{"state_change":"NODE_(UNAVAILABLE|ERROR)"/.test(line);
const isNodeStatus = (line: string) => line.startsWith('{"node_status"');
const isFlow = (line: string) => line.startsWith('{"flow"');

// ---------------------------------------------------------------- format

function formatTests(bin: string): void {
  const reencode = (input: string[]) => runGoPeer(bin, ['reencode'], { input: input.join('\n') + '\n' });

  /** Go's bytes for `input`, and ours by both routes: reader + writer, and `hubble-lab observe -o jsonpb`. */
  async function checkExport(t: Test, name: string, input: string[]): Promise<void> {
    const go = await reencode(input);
    t.equal(go.stderr, '', `${name}: Go protojson reads every line`);
    t.equal(go.code, 0);
    const goLines = lines(go.stdout);
    t.equal(goLines.length, input.length, `${name}: one line out per line in`);
    const path = writeLines(`${name}.jsonl`, input);
    sameLines(t, await readAndWrite(path), goLines, `${name}: reader + toJsonpb`);
    const offline = await observeOffline(['--input-file', path, '-o', 'jsonpb']);
    t.equal(offline.code, 0, `${name}: observe exits 0`);
    sameLines(
      t,
      lines(offline.stdout),
      goLines.filter((l) => !isNodeStatus(l)),
      `${name}: hubble-lab observe -o jsonpb stdout`,
    );
    t.same(lines(offline.stderr), goLines.filter(isFailedNodeStatus), `${name}: node status of failed nodes on stderr, as hubble`);
  }

  t.test('generated exports: jsonpb bytes equal Go protojson + json.Encoder, line by line', async (t) => {
    // The lab's traffic as Hubble writes it today and as Cilium 1.13 did; with fields from the future; the gRPC
    // layer's flow mix; relay records between the flows; the hubble CLI's own printer test flow.
    const relay = synthResponses({ count: 1200, seed: 7 });
    const events = new FlowSynth({ seed: 9, start: relay[600]!.time! });
    relay.splice(300, 0, events.lostEvents(1, 37), events.lostEvents(0, 5, 'PERF_EVENT_RING_BUFFER'));
    relay.splice(600, 0, events.nodeStatus('NODE_UNAVAILABLE', [2], 'connection refused'), events.nodeStatus('NODE_ERROR', [1], 'tls: <bad> & "worse"'));
    relay.splice(900, 0, events.nodeStatus('NODE_GONE', [0]), events.nodeStatus('NODE_CONNECTED', [2]));
    const exports: [string, string[]][] = [
      ['synth', [...synthJsonpbLines({ count: 3000, seed: 5 })]],
      ['synth-cilium-1.13', [...synthJsonpbLines({ count: 2000, seed: 6, variant: 'cilium-1.13' })]],
      ['synth-unknown-fields', [...synthJsonpbLines({ count: 1000, seed: 7, unknownFields: true })]],
      ['synth-unknown-fields-1.13', [...synthJsonpbLines({ count: 500, seed: 8, unknownFields: true, variant: 'cilium-1.13' })]],
      ['flow-mix', flowMix(1500, { seed: 3, lostEvery: 50, nodeStatusEvery: 70 }).map((r) => JSON.stringify(r))],
      ['relay-records', relay.map((r) => JSON.stringify(r))],
      ['hubble-cli', [JSON.stringify({ flow: hubbleTestDrop }), JSON.stringify({ flow: { ...hubbleTestDrop, is_reply: true }, node_name: 'k8s1' })]],
    ];
    for (const [name, input] of exports) await checkExport(t, name, input);
  });

  t.test('every field of every message, set and at its default, and every oneof member', async (t) => {
    const type = getFlowsResponseType();
    const records: Record<string, unknown>[] = [];
    for (let v = 0; v < variantCount(type); v++) records.push(message(type, 'full', v), message(type, 'zero', v));
    const input = records.map((r) => JSON.stringify(r));
    t.ok(input[0]!.length > 5000, 'a record with every field is large');
    await checkExport(t, 'every-field', input);
    // Not only the reader: the writer given the values as they are.
    const go = lines((await reencode(input)).stdout);
    sameLines(
      t,
      records.map((r) => toJsonpb(r as GetFlowsResponse)),
      go,
      'every-field: toJsonpb of the objects',
    );
  });

  t.test('every value of every enum, by name and by number, and a number no value has', async (t) => {
    const input = enumRecords(getFlowsResponseType()).map((r) => JSON.stringify(r));
    t.ok(input.length > 150, `${input.length} enum records`);
    await checkExport(t, 'enums', input);
  });

  t.test('wrappers, 64-bit integers, timestamps, escapes, non-ASCII, empty lists and oneofs', async (t) => {
    const cases: [string, string][] = [
      ['is_reply false is kept', '{"flow":{"is_reply":false,"verdict":"FORWARDED"}}'],
      ['is_reply true', '{"flow":{"reply":true,"is_reply":true}}'],
      ['is_reply absent', '{"flow":{"verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED"}}'],
      ['Int32Value 0 is kept', '{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"1","cpu":0}}'],
      ['Int32Value negative', '{"lost_events":{"cpu":-1}}'],
      ['uint64 max as a string', '{"flow":{"socket_cookie":"18446744073709551615","cgroup_id":"1"}}'],
      ['uint64 given as a JSON number', '{"flow":{"l7":{"type":"RESPONSE","latency_ns":12345}}}'],
      ['uint64 zero left out', '{"flow":{"socket_cookie":"0","verdict":"FORWARDED"}}'],
      ['uint32 max', '{"flow":{"policy_match_type":4294967295,"proxy_port":0}}'],
      ['time without fraction', '{"flow":{"time":"2025-03-14T09:26:53Z"},"time":"2025-03-14T09:26:53Z"}'],
      ['time with milliseconds', '{"flow":{"time":"2025-03-14T09:26:53.5Z"}}'],
      ['time with microseconds', '{"flow":{"time":"2025-03-14T09:26:53.123456Z"}}'],
      ['time with one nanosecond', '{"flow":{"time":"2025-03-14T09:26:53.000000001Z"}}'],
      ['time with trailing zeros', '{"flow":{"verdict":"FORWARDED"},"time":"2025-03-14T09:26:53.100000000Z"}'],
      ['time with an offset', '{"flow":{"time":"2025-03-14T10:26:53.1+01:00"},"time":"2025-03-13T23:59:59.999999999-10:30"}'],
      ['time before 1970', '{"lost_events":{"first":"1969-12-31T23:59:59.5Z","last":"0001-01-01T00:00:00Z"}}'],
      ['time at the end of 9999', '{"flow":{"time":"9999-12-31T23:59:59.999999999Z"}}'],
      [
        'HTML characters in an HTTP url and headers',
        '{"flow":{"l7":{"type":"REQUEST","http":{"method":"GET","url":"http://x/a?b=<c>&d=\u2028\u2029","headers":[{"key":"X-<&>","value":"a&b<script>"}]}}}}',
      ],
      ['escapes Go would not write', '{"flow":{"Summary":"\\ud83d\\ude00 \\/ \\u0041 \\u000a"}}'],
      ['control characters and DEL', '{"flow":{"Summary":"\\u0000 \\u007f \u007f \\t \\b \\f \\r \\u001b[0m"}}'],
      ['non-ASCII', `{"flow":{"source":{"labels":["k8s:app=naïve","k8s:名前=日本語"],"pod_name":"😀"},"Summary":${JSON.stringify(AWKWARD_TEXT)}}}`],
      ['empty lists are left out', '{"flow":{"source":{"labels":[],"workloads":[]},"source_names":[],"node_labels":[]}}'],
      ['an empty string in a list is kept', '{"flow":{"source":{"labels":["",""]}}}'],
      ['empty oneof members print as {}', '{"flow":{"l4":{"TCP":{}},"l7":{"dns":{}}}}'],
      ['a oneof member with only defaults', '{"flow":{"l4":{"ICMPv4":{"type":0,"code":0}}}}'],
      ['an empty lost event', '{"lost_events":{}}'],
      ['an empty node status', '{"node_status":{}}'],
      ['TCP flags false are left out', '{"flow":{"l4":{"TCP":{"flags":{"SYN":false,"ACK":true}}}}}'],
      ['enum numbers become names', '{"flow":{"verdict":2,"drop_reason_desc":181,"traffic_direction":99}}'],
      ['keys out of order', '{"time":"2025-03-14T09:26:53Z","node_name":"n","flow":{"Type":"L7","verdict":"FORWARDED"}}'],
      ['spaces between tokens, as Python writes JSON', '{"flow": {"verdict": "FORWARDED", "source": {"labels": ["k8s:app=a", "k8s:b=c"]}}, "node_name": "n"}'],
      ['a space after each comma, as some protojson builds write', '{"flow":{"verdict":"FORWARDED", "Summary":"TCP Flags: ACK, FIN"}, "node_name":"n"}'],
      ['null is not set', '{"flow":{"is_reply":null,"verdict":"FORWARDED","source":{"namespace":null,"identity":5},"l4":null},"node_name":null}'],
      [
        '32-bit integers in strings',
        '{"flow":{"l4":{"TCP":{"source_port":"80","destination_port":"8e1"}},"l7":{"http":{"code":"200"}},"event_type":{"type":"4"}}}',
      ],
      ['64-bit integers in number syntax', '{"flow":{"l7":{"latency_ns":"1.5e3"},"socket_cookie":"1e3","cgroup_id":12.0},"time":"2025-03-14T09:26:53Z"}'],
      ['a 32-bit integer written as a float', '{"flow":{"policy_match_type":4.0,"proxy_port":"1e2"}}'],
      [
        'JSON names, as grpcurl prints them',
        '{"flow":{"nodeName":"x","isReply":true,"dropReasonDesc":"POLICY_DENIED","sourceNames":["a"],"source":{"podName":"p","clusterName":"c"},"l4":{"TCP":{"sourcePort":1}}},"nodeName":"n"}',
      ],
      ['JSON names in lost events and node status', '{"lostEvents":{"numEventsLost":"3","cpu":1},"nodeName":"n"}'],
      [
        'unknown fields at every level',
        '{"future":1,"flow":{"zzz":{"a":[1,{"b":null}]},"source":{"identity":5,"new_thing":[1]},"l7":{"http":{"code":200,"grpc":"x"}}}}',
      ],
    ];
    const input = cases.map(([, line]) => line);
    const go = await reencode(input);
    t.equal(go.stderr, '', 'Go protojson reads every case');
    const goLines = lines(go.stdout);
    const path = writeLines('edge.jsonl', input);
    const ours = await readAndWrite(path);
    t.equal(ours.length, cases.length, 'our reader reads every case');
    cases.forEach(([what, line], i) => {
      if (ours[i] === goLines[i]) t.pass(`${what}: ${goLines[i]}`);
      else t.fail(what, { diagnostic: true, input: line, ...whereTheyDiffer(ours[i] ?? '', goLines[i] ?? '') });
    });
    const offline = await observeOffline(['--input-file', path, '-o', 'jsonpb']);
    sameLines(
      t,
      lines(offline.stdout),
      goLines.filter((l) => !isNodeStatus(l)),
      'the same through hubble-lab observe -o jsonpb',
    );
  });

  t.test('the Go peer reports lines Go protojson cannot read, and goes on', async (t) => {
    const go = await reencode(['{"flow":{"verdict":"FORWARDED"}}', 'not json', '{"flow":{"uuid":1}}', '{"flow":{"Type":"L7"}}']);
    t.equal(go.code, 1);
    t.equal(go.stdout, '{"flow":{"verdict":"FORWARDED"}}\n{"flow":{"Type":"L7"}}\n');
    // protobuf-go puts a space or, depending on the binary, a no-break space after "proto:" so that nobody parses its errors.
    t.match(go.stderr, /^line 2: proto:\s.*invalid value not\nline 3: proto:\s.*invalid value for string type: 1\ngo-peer: 2 of the input lines failed\n$/);
  });
}

// ---------------------------------------------------------------- wire

/** `hubble-lab relay` in-process on a free loopback port; resolves once the whole file is in its ring. */
async function startRelay(t: Test, file: string): Promise<string> {
  const stop = new AbortController();
  const c = captureIO({ signal: stop.signal });
  const exit = main(['relay', '--input', file, '--listen', '127.0.0.1:0'], c.io);
  t.teardown(async () => {
    stop.abort();
    await exit;
  });
  const deadline = Date.now() + 30_000;
  while (!/serving until interrupted/.test(c.out())) {
    if (Date.now() > deadline) throw new Error(`relay did not load ${file}: ${c.out()} ${c.err()}`);
    await Promise.race([exit.then((code) => Promise.reject(new Error(`relay exited ${code}: ${c.err()}`))), new Promise((r) => setTimeout(r, 20))]);
  }
  return / on (127\.0\.0\.1:\d+) /.exec(c.out())![1]!;
}

/** The GetFlowsRequest `hubble observe FLAGS` sends, built by our flag parser. */
function requestFor(flags: string[]): string {
  const parsed = parseArgs(flags, [...observeSelectorOptions, ...observeFilterOptions], 'observe');
  return JSON.stringify(buildGetFlowsRequest(parsed, { live: true }));
}

/** Through Relay, --first/--last N count per node: the flows of `all` each node contributes, in stream order. */
function perNode(all: string[], n: number, first: boolean): string[] {
  const byNode = new Map<string, string[]>();
  for (const line of all) {
    const node = (JSON.parse(line) as GetFlowsResponse).flow!.node_name!;
    byNode.set(node, [...(byNode.get(node) ?? []), line]);
  }
  const keep = new Set<string>();
  for (const ls of byNode.values()) for (const l of first ? ls.slice(0, n) : ls.slice(-n)) keep.add(l);
  return all.filter((l) => keep.has(l));
}

function wireTests(bin: string): void {
  const go = (args: string[], timeoutMs = 60_000) => runGoPeer(bin, args, { timeoutMs });
  const records = synthResponses({ count: 4000, seed: 41 });
  const file = writeLines('wire.jsonl', records.map(toJsonpb));
  const flows = records.filter((r) => r.flow);
  const nodeNames = [...new Set(flows.map((r) => r.flow!.node_name!))].sort();

  t.test('grpc-go against hubble-lab relay: health, status, nodes', async (t) => {
    const addr = await startRelay(t, file);
    t.same(await go(['health', addr]), { code: 0, stdout: 'SERVING\n', stderr: '' }, 'the server as a whole');
    t.same(await go(['health', addr, 'hubble.server.Observer']), { code: 0, stdout: 'SERVING\n', stderr: '' }, 'the service hubble status asks about');
    const unknown = await go(['health', addr, 'no.such.Service']);
    t.equal(unknown.code, 1);
    t.equal(unknown.stderr, 'go-peer: rpc error: code = NotFound desc = unknown service no.such.Service\n', 'NOT_FOUND for other services, as grpc-go servers');

    t.equal(nodeNames.length, 3);
    const status = await go(['status', addr]);
    t.equal(status.stderr, '');
    t.equal(status.code, 0);
    // Uptime and rate change from run to run; everything else is exact, key order and number forms included.
    t.match(
      status.stdout,
      new RegExp(
        `^\\{"num_flows":"${flows.length}","max_flows":"65535","seen_flows":"${flows.length}","uptime_ns":"\\d+",` +
          `"num_connected_nodes":${nodeNames.length},"num_unavailable_nodes":0,"version":"1\\.19\\.0\\+hubble-lab","flows_rate":\\d+(\\.\\d+)?\\}\\n$`,
      ),
      'ServerStatus as hubble status -o json prints it',
    );

    const nodes = await go(['nodes', addr]);
    t.equal(nodes.code, 0, nodes.stderr);
    const node = (name: string) => {
      const flows = records.filter((r) => r.flow?.node_name === name).length;
      return `\\{"name":"${name}","version":"1\\.19\\.0\\+hubble-lab","state":"NODE_CONNECTED","uptime_ns":"\\d+","num_flows":"${flows}","max_flows":"65535","seen_flows":"${flows}"\\}`;
    };
    t.match(nodes.stdout, new RegExp(`^\\{"nodes":\\[${nodeNames.map(node).join(',')}\\]\\}\\n$`), 'every node of the file, connected, with its flow counts');
  });

  t.test('grpc-go GetFlows against hubble-lab relay equals hubble-lab observe --input-file, flow for flow', async (t) => {
    const addr = await startRelay(t, file);
    const since = records[1500]!.time!;
    const until = records[2100]!.time!;
    // Flags with the same meaning for a server and a file. Hubble's server never filters lost events, its file reader
    // filters them as flowless records: with filters, only the flows can be compared.
    const cases: string[][] = [
      ['--all'],
      ['--all', '--pod', 'genai-network-demo/document-agent'],
      ['--all', '--from-pod', 'genai-network-demo/traffic-generator', '--not', '--protocol', 'dns'],
      ['--all', '--verdict', 'DROPPED'],
      ['--all', '--not', '--verdict', 'FORWARDED'],
      ['--all', '--drop-reason-desc', 'POLICY_DENIED'],
      ['--all', '--protocol', 'http'],
      ['--all', '--namespace', 'genai-network-demo', '--http-status', '5+'],
      ['--all', '--type', 'l7', '--http-method', 'POST', '--to-label', 'app=llm-service'],
      ['--all', '--to-fqdn', '*.openai.com'],
      ['--all', '--not', '--namespace', 'kube-system', '--not', '--verdict', 'DROPPED'],
      ['--all', '--node-name', 'kind-kind/kind-worker', '--tcp-flags', 'SYN'],
      ['--since', since, '--until', until],
      ['--since', since, '--until', until, '--verdict', 'FORWARDED', '--protocol', 'tcp'],
    ];
    for (const flags of cases) {
      const what = flags.join(' ');
      const request = requestFor(flags);
      const [viaGo, offline] = await Promise.all([go(['observe', addr, request]), observeOffline(['--input-file', file, '-o', 'jsonpb', ...flags])]);
      t.equal(viaGo.code, 0, `${what}: the Go peer's stream ends cleanly ${viaGo.stderr}`);
      t.equal(offline.code, 0);
      const filtered = /"(white|black)list"/.test(request);
      const shown = (out: string) => (filtered ? lines(out).filter(isFlow) : lines(out));
      sameLines(t, shown(viaGo.stdout), shown(offline.stdout), `${what}${filtered ? ' (flows)' : ''} (request ${request.slice(0, 200)})`);
      t.same(lines(viaGo.stderr), lines(offline.stderr), `${what}: the same node status on stderr`);
    }
  });

  t.test('--first/--last N through Relay count per node: the offline flows each node contributes', async (t) => {
    const addr = await startRelay(t, file);
    const cases: [string[], number, boolean][] = [
      [['--last', '25'], 25, false],
      [['--first', '10'], 10, true],
      [['--last', '4', '--verdict', 'DROPPED'], 4, false],
      [['--first', '3', '--protocol', 'http', '--to-namespace', 'genai-network-demo'], 3, true],
    ];
    for (const [flags, n, first] of cases) {
      const filters = flags.slice(2);
      const all = lines((await observeOffline(['--input-file', file, '-o', 'jsonpb', '--all', ...filters])).stdout).filter(isFlow);
      const want = perNode(all, n, first);
      t.ok(want.length >= n, `${flags.join(' ')}: something to select`);
      const viaGo = await go(['observe', addr, requestFor(flags)]);
      t.equal(viaGo.code, 0, viaGo.stderr);
      sameLines(t, lines(viaGo.stdout).filter(isFlow), want, flags.join(' '));
    }
  });

  t.test('field_mask keeps only the fields asked for, as Hubble servers do', async (t) => {
    const addr = await startRelay(t, file);
    const got = await go(['observe', addr, '{"number":"1","first":true,"field_mask":"time,verdict,source.podName"}']);
    t.equal(got.code, 0, got.stderr);
    const flows = lines(got.stdout)
      .filter(isFlow)
      .map((l) => (JSON.parse(l) as GetFlowsResponse).flow!);
    const firsts = new Set(nodeNames.map((n) => records.find((r) => r.flow?.node_name === n)!.flow!));
    const want = records.filter((r) => r.flow && firsts.has(r.flow)).map((r) => r.flow!);
    t.same(
      flows,
      want.map((f) => ({ time: f.time, verdict: f.verdict, ...(f.source?.pod_name ? { source: { pod_name: f.source.pod_name } } : {}) })),
      'the first flow of each node, with time, verdict and source pod name only',
    );
  });

  t.test('follow streams stay open until the client leaves; bad requests get gRPC status codes', async (t) => {
    const addr = await startRelay(t, file);
    const started = Date.now();
    const follow = await go(['--duration', '1500ms', 'observe', addr, requestFor(['--last', '2', '--follow'])]);
    t.equal(follow.code, 0, `the peer leaves after --duration: ${follow.stderr}`);
    t.ok(Date.now() - started >= 1400, 'and not before: the stream stayed open');
    const all = lines((await observeOffline(['--input-file', file, '-o', 'jsonpb', '--all'])).stdout).filter(isFlow);
    sameLines(t, lines(follow.stdout), perNode(all, 2, false), '--last 2 --follow: the history, then nothing new');

    const counted = await go(['--count', '5', 'observe', addr, requestFor(['--all', '--follow'])]);
    t.equal(counted.code, 0, counted.stderr);
    t.equal(lines(counted.stdout).length, 5, '--count ends a follow stream');

    const bad = await go(['observe', addr, '{"first":true,"follow":true,"number":"1"}']);
    t.equal(bad.code, 1);
    t.equal(bad.stderr, 'go-peer: rpc error: code = InvalidArgument desc = first cannot be specified with follow\n');
    const badTime = await go(['observe', addr, '{"since":"2025-03-14T09:26:53Z","whitelist":[{"source_ip":["not-an-ip"]}]}']);
    t.equal(badTime.code, 1, 'an invalid filter is refused');
    // Hubble answers a filter it cannot build with the plain error, which grpc-go sends as UNKNOWN.
    t.equal(badTime.stderr, 'go-peer: rpc error: code = Unknown desc = invalid source_ip filter "not-an-ip": not a valid IP address\n');
  });
}
