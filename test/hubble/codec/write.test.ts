// Writing jsonpb: Hubble's exact bytes (field order, defaults, wrappers, enums, 64-bit strings, timestamps, escapes).
import t, { type Test } from 'tap';
import { Readable } from 'node:stream';
import { toJson, toJsonpb, toJsonpbFromLine, toLegacyJson } from '../../../lib/hubble/codec/write.ts';
import { createReadStats, readResponses } from '../../../lib/hubble/codec/read.ts';
import { synthJsonpbLines, synthResponses } from '../../fixtures/synth.ts';
import type { Flow, GetFlowsResponse } from '../../../lib/flows/types.ts';
import { hubbleTestDrop } from '../../fixtures/hubble-cli-flows.ts';

const drop = hubbleTestDrop;

const dropJson =
  '{"time":"1970-01-01T00:20:34.567800Z","verdict":"DROPPED","IP":{"source":"1.1.1.1","destination":"2.2.2.2"},' +
  '"l4":{"TCP":{"source_port":31793,"destination_port":8080}},"source":{"identity":4},"destination":{"identity":12345},' +
  '"Type":"L3_L4","node_name":"k8s1","event_type":{"type":1,"sub_type":133},"is_reply":false,"Summary":"TCP Flags: SYN"}';

t.test('writes fields in proto declaration order, whatever the object key order', async (t) => {
  t.equal(toJsonpb({ flow: drop }), `{"flow":${dropJson}}`);
  const shuffled = Object.fromEntries(Object.entries(drop).reverse()) as Flow;
  t.equal(
    toJsonpb({ time: '1970-01-01T00:20:34.567800Z', node_name: 'k8s1', flow: shuffled }),
    `{"flow":${dropJson},"node_name":"k8s1","time":"1970-01-01T00:20:34.567800Z"}`,
  );
  t.equal(toJson({ flow: drop }), toJsonpb({ flow: drop }), '-o json is jsonpb');
  t.equal(toLegacyJson({ flow: drop }), dropJson, 'legacy -o json is the bare flow');
});

t.test('escapes control characters like protojson and <, >, & and U+2028/9 like Go json.Encoder', async (t) => {
  const flow: Flow = {
    Type: 'L7',
    l7: { type: 'REQUEST', latency_ns: '10', kafka: { api_key: '1234', correlation_id: 1, topic: 'my-topic\x1b[30mblack\x1b[0m\x1b\r' } },
    Summary: 'a<b && c>d \u2028 "q" \\ \t\x01',
  };
  t.equal(
    toJsonpb({ flow }),
    '{"flow":{"Type":"L7","l7":{"type":"REQUEST","latency_ns":"10","kafka":{"api_key":"1234","correlation_id":1,"topic":"my-topic\\u001b[30mblack\\u001b[0m\\u001b\\r"}},' +
      '"Summary":"a\\u003cb \\u0026\\u0026 c\\u003ed \\u2028 \\"q\\" \\\\ \\t\\u0001"}}',
  );
});

t.test('omits proto3 defaults but keeps wrapper values and oneof members that are set', async (t) => {
  const flow: Flow = {
    verdict: 'VERDICT_UNKNOWN',
    Type: 'UNKNOWN_TYPE',
    uuid: '',
    l4: { TCP: { source_port: 0, destination_port: 80, flags: { SYN: false, ACK: true } } },
    source: { identity: 0, namespace: '', labels: [] },
    destination: {},
    traffic_direction: 'TRAFFIC_DIRECTION_UNKNOWN',
    is_reply: false,
    Summary: '',
  };
  t.equal(toJsonpb({ flow }), '{"flow":{"l4":{"TCP":{"destination_port":80,"flags":{"ACK":true}}},"source":{},"destination":{},"is_reply":false}}');
  t.equal(
    toJsonpb({ lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '37', cpu: 0 }, node_name: 'n1', time: '2025-03-14T09:26:53Z' }),
    '{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"37","cpu":0},"node_name":"n1","time":"2025-03-14T09:26:53Z"}',
  );
  t.equal(toJsonpb({ flow: { l4: { UDP: {} } } }), '{"flow":{"l4":{"UDP":{}}}}', 'an empty message that is set prints as {}');
  t.equal(toJsonpb({ flow: { l7: { http: {} } } }), '{"flow":{"l7":{"http":{}}}}');
  t.equal(toJsonpb({}), '{}');
});

t.test('drops unknown fields and unknown enum names at every level', async (t) => {
  const resp = {
    future: 1,
    flow: {
      verdict: 'FORWARDED',
      zzz: { a: 1 },
      source: { identity: 5, new_thing: [1] },
      drop_reason_desc: 'A_REASON_FROM_THE_FUTURE',
      l7: { http: { code: 200, grpc: 'x' } },
    },
  } as unknown as GetFlowsResponse;
  t.equal(toJsonpb(resp), '{"flow":{"verdict":"FORWARDED","source":{"identity":5},"l7":{"http":{"code":200}}}}');
});

t.test('writes enums as names, 64-bit integers as strings and 32-bit ones as numbers', async (t) => {
  const flow = {
    verdict: 2,
    drop_reason_desc: 181,
    traffic_direction: 99,
    l7: { type: 'RESPONSE', latency_ns: 12345678 },
    socket_cookie: '18446744073709551615',
    cgroup_id: 0,
    event_type: { type: '4' },
  } as unknown as Flow;
  t.equal(
    toJsonpb({ flow }),
    '{"flow":{"verdict":"DROPPED","l7":{"type":"RESPONSE","latency_ns":"12345678"},"event_type":{"type":4},"traffic_direction":99,"drop_reason_desc":"POLICY_DENY","socket_cookie":"18446744073709551615"}}',
  );
});

t.test('writes timestamps in UTC with 0, 3, 6 or 9 fractional digits', async (t) => {
  const at = (time: unknown) => toJsonpb({ time } as GetFlowsResponse);
  t.equal(at('2025-03-14T10:26:53.500000000+01:00'), '{"time":"2025-03-14T09:26:53.500Z"}');
  t.equal(at('2025-03-14T09:26:53.000Z'), '{"time":"2025-03-14T09:26:53Z"}');
  t.equal(at('2025-03-14T09:26:53.12Z'), '{"time":"2025-03-14T09:26:53.120Z"}');
  t.equal(at('2025-03-14T09:26:53.123400Z'), '{"time":"2025-03-14T09:26:53.123400Z"}');
  t.equal(at('2025-03-14T09:26:53.000000001Z'), '{"time":"2025-03-14T09:26:53.000000001Z"}');
  t.equal(at('2025-03-13T23:59:59.999999999-10:30'), '{"time":"2025-03-14T10:29:59.999999999Z"}');
  t.equal(at({ seconds: 1234, nanos: 567800000 }), '{"time":"1970-01-01T00:20:34.567800Z"}');
});

t.test('writes relay node status and lost events; legacy json prints nothing for node status', async (t) => {
  const status: GetFlowsResponse = {
    node_status: { state_change: 'NODE_UNAVAILABLE', node_names: ['kind-kind/kind-worker'], message: 'connection refused' },
    time: '2025-03-14T09:26:53Z',
  };
  t.equal(
    toJsonpb(status),
    '{"node_status":{"state_change":"NODE_UNAVAILABLE","node_names":["kind-kind/kind-worker"],"message":"connection refused"},"time":"2025-03-14T09:26:53Z"}',
  );
  t.equal(toLegacyJson(status), undefined);
  t.equal(toLegacyJson({ lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '3' } }), '{"source":"HUBBLE_RING_BUFFER","num_events_lost":"3"}');
});

async function readLines(t: Test, lines: string[]): Promise<GetFlowsResponse[]> {
  const stats = createReadStats();
  const out: GetFlowsResponse[] = [];
  for await (const r of readResponses(Readable.from([lines.join('\n') + '\n']), stats)) out.push(r);
  t.equal(stats.malformed, 0, 'no malformed lines');
  return out;
}

for (const variant of ['current', 'cilium-1.13'] as const) {
  t.test(`a ${variant} export read and written back is byte for byte the same`, async (t) => {
    const lines = [...synthJsonpbLines({ count: 800, seed: 31, variant })];
    const records = await readLines(t, lines);
    const rewritten = records.map(toJsonpb);
    t.equal(rewritten.length, lines.length);
    t.equal(
      rewritten.findIndex((l, i) => l !== lines[i]),
      -1,
      'every line identical',
    );
    // Compared as JSON text: key order included, and far faster than a deep compare of 800 records.
    t.equal(JSON.stringify(await readLines(t, rewritten)), JSON.stringify(records), 're-read records equal the first read');
  });

  t.test(`a ${variant} export with unknown fields written back equals it minus those fields`, async (t) => {
    const withUnknown = [...synthJsonpbLines({ count: 500, seed: 17, variant, unknownFields: true })];
    const plain = [...synthJsonpbLines({ count: 500, seed: 17, variant })];
    t.not(withUnknown[3], plain[3], 'the input really carries extra fields');
    const rewritten = (await readLines(t, withUnknown)).map(toJsonpb);
    t.equal(
      rewritten.findIndex((l, i) => l !== plain[i]),
      -1,
      'every line equals the export without unknown fields',
    );
    t.equal(
      JSON.stringify(await readLines(t, rewritten)),
      JSON.stringify(synthResponses({ count: 500, seed: 17, variant })),
      'records equal the generated ones',
    );
  });
}

t.test('toJsonpbFromLine reuses a line that already is the jsonpb, and writes every other one afresh', async (t) => {
  const canonical = [...synthJsonpbLines({ count: 300, seed: 23 })];
  t.equal(
    canonical.findIndex((line) => toJsonpbFromLine(JSON.parse(line), line) !== line),
    -1,
    'canonical lines come back as they are',
  );
  t.equal(toJsonpbFromLine({ flow: drop }, undefined), `{"flow":${dropJson}}`, 'no line: the writer');

  const reused = [
    '{"flow":{"is_reply":false,"Summary":"a \\u003cb\\u003e \\u0026 \\"q\\" \\\\ \\n\\t\\u0001 \\u2028"}}',
    '{"flow":{"time":"2025-03-14T09:26:53.120Z","l4":{"UDP":{}},"l7":{"latency_ns":"5","http":{}}}}',
    '{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"37","cpu":0},"node_name":"n1"}',
    '{"flow":{"source":{"labels":["a",""]},"Summary":"naïve — 日本語 😀"}}',
  ];
  for (const line of reused) t.equal(toJsonpbFromLine(JSON.parse(line), line), line, `reused: ${line}`);

  const rewritten = [
    ['an unknown field', '{"flow":{"verdict":"FORWARDED","zzz":1}}'],
    ['keys out of declaration order', '{"flow":{"Type":"L7","verdict":"FORWARDED"}}'],
    ['the response fields out of order', '{"node_name":"n1","flow":{"verdict":"FORWARDED"}}'],
    ['a default string', '{"flow":{"uuid":"","verdict":"FORWARDED"}}'],
    ['a zero enum', '{"flow":{"verdict":"VERDICT_UNKNOWN","Type":"L7"}}'],
    ['a zero number', '{"flow":{"source":{"identity":0,"namespace":"x"}}}'],
    ['false', '{"flow":{"l4":{"TCP":{"flags":{"SYN":false,"ACK":true}}}}}'],
    ['an empty list', '{"flow":{"source":{"labels":[]}}}'],
    ['null', '{"flow":{"is_reply":null,"verdict":"FORWARDED"}}'],
    ['an enum number', '{"flow":{"verdict":2}}'],
    ['an unknown enum name', '{"flow":{"verdict":"NOT_A_VERDICT","Type":"L7"}}'],
    ['a 64-bit number', '{"flow":{"l7":{"latency_ns":5}}}'],
    ['a 64-bit string with a leading zero', '{"flow":{"socket_cookie":"0012"}}'],
    ['a wrapper as an object', '{"flow":{"is_reply":{"value":true}}}'],
    ['a timestamp with trailing zeros', '{"flow":{"time":"2025-03-14T09:26:53.500000000Z"}}'],
    ['a timestamp with an offset', '{"time":"2025-03-14T10:26:53+01:00","flow":{"Type":"L7"}}'],
    ['a string where a message goes', '{"flow":{"IP":"10.0.0.1","Type":"L7"}}'],
    ['a literal <', '{"flow":{"Summary":"a<b"}}'],
    ['a literal &', '{"flow":{"Summary":"a&b"}}'],
    ['a literal U+2028', '{"flow":{"Summary":"a\u2028b"}}'],
    ['an escape the writer does not use', '{"flow":{"Summary":"\\u0041\\/"}}'],
    ['an escaped newline in long form', '{"flow":{"Summary":"a\\u000ab"}}'],
    ['an escaped surrogate pair', '{"flow":{"Summary":"\\ud83d\\ude00"}}'],
    ['upper-case hex', '{"flow":{"Summary":"\\u001B"}}'],
    ['spaces between tokens, as Python writes JSON', '{"flow": {"verdict": "FORWARDED", "source": {"labels": ["a", "b"]}}, "node_name": "n"}'],
    ['a space after each comma, as some protojson builds write', '{"flow":{"verdict":"FORWARDED", "Summary":"TCP Flags: ACK, FIN"}, "node_name":"n"}'],
    ['a space before a colon', '{"flow" :{"verdict":"FORWARDED"}}'],
    ['spaces inside braces', '{"flow":{ "verdict":"FORWARDED" }}'],
    ['a space after a number', '{"flow":{"l4":{"TCP":{"source_port":80 ,"destination_port":443}}}}'],
    ['a tab between tokens', '{"flow":\t{"verdict":"FORWARDED"}}'],
    ['trailing whitespace', '{"flow":{"verdict":"FORWARDED"}} '],
    ['leading whitespace', ' {"flow":{"verdict":"FORWARDED"}}'],
  ];
  for (const [what, line] of rewritten) {
    const resp = JSON.parse(line!) as GetFlowsResponse;
    t.equal(toJsonpbFromLine(resp, line), toJsonpb(resp), `written afresh: ${what}`);
  }
  // Spaces inside strings, even next to colons and commas, leave a line as it is.
  const spaced = '{"flow":{"l7":{"http":{"url":"http://x/?q=a: b, c","headers":[{"key":"k","value":"a , b :c"}]}},"Summary":"TCP Flags: ACK, FIN"}}';
  t.equal(toJsonpbFromLine(JSON.parse(spaced), spaced), spaced);
});

t.test('whatever the record, toJsonpbFromLine gives the JSON toJsonpb gives', async (t) => {
  // Seeded mutations of real-shaped records: changed values of every kind, unknown keys, reordered objects.
  let seed = 99;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const values: unknown[] = [
    0,
    1,
    -1,
    99,
    1.5,
    2 ** 32,
    '',
    '0',
    '007',
    '12',
    'x<y',
    'a\n"b"',
    '😀',
    true,
    false,
    null,
    [],
    ['a', 1],
    {},
    { value: true },
    'DROPPED',
    'VERDICT_UNKNOWN',
    'IPv4',
    '2025-03-14T09:26:53Z',
    '2025-03-14T09:26:53.100Z',
    '2025-03-14T09:26:53.100000Z',
  ];
  const keys = ['zzz', 'verdict', 'is_reply', 'socket_cookie', 'ipVersion', 'source_port', 'labels', 'latency_ns', 'code', 'time', 'Summary', 'cpu'];
  const mutate = (o: Record<string, unknown>, depth: number): void => {
    const own = Object.keys(o);
    const r = rnd();
    if (own.length > 0 && r < 0.6) {
      const k = pick(own);
      const v = o[k];
      if (typeof v === 'object' && v !== null && depth < 4 && rnd() < 0.7) mutate(v as Record<string, unknown>, depth + 1);
      else o[k] = pick(values);
    } else if (r < 0.8) {
      o[pick(keys)] = pick(values);
    } else {
      const entries = Object.entries(o).reverse();
      for (const k of own) delete o[k];
      for (const [k, v] of entries) o[k] = v;
    }
  };
  let reusedChanged = 0;
  let mismatches = 0;
  for (const line of synthJsonpbLines({ count: 1500, seed: 3 })) {
    const changed = JSON.parse(line) as Record<string, unknown>;
    mutate(changed, 0);
    const text = JSON.stringify(changed);
    const resp = JSON.parse(text) as GetFlowsResponse;
    const out = toJsonpbFromLine(resp, text);
    // Key order included: the same text once both are parsed and printed the same way.
    if (JSON.stringify(JSON.parse(out)) !== JSON.stringify(JSON.parse(toJsonpb(resp)))) mismatches++;
    if (out === text && text !== line) reusedChanged++;
  }
  t.equal(mismatches, 0, 'same JSON for every record');
  t.ok(reusedChanged > 100, `changed lines that stayed canonical are reused too (${reusedChanged})`);
});
