// Writing jsonpb: Hubble's exact bytes (field order, defaults, wrappers, enums, 64-bit strings, timestamps, escapes).
import t, { type Test } from 'tap';
import { Readable } from 'node:stream';
import { toJson, toJsonpb, toLegacyJson } from '../../../lib/hubble/codec/write.ts';
import { createReadStats, readResponses } from '../../../lib/hubble/codec/read.ts';
import { synthJsonpbLines, synthResponses } from '../../../lib/flows/synth.ts';
import type { Flow, GetFlowsResponse } from '../../../lib/flows/types.ts';

// The flow of the hubble CLI's printer tests: a policy drop with is_reply=false.
const drop: Flow = {
  time: '1970-01-01T00:20:34.567800Z',
  Type: 'L3_L4',
  node_name: 'k8s1',
  verdict: 'DROPPED',
  IP: { source: '1.1.1.1', destination: '2.2.2.2' },
  source: { identity: 4 },
  destination: { identity: 12345 },
  l4: { TCP: { source_port: 31793, destination_port: 8080 } },
  event_type: { type: 1, sub_type: 133 },
  Summary: 'TCP Flags: SYN',
  is_reply: false,
};

const dropJson =
  '{"time":"1970-01-01T00:20:34.567800Z","verdict":"DROPPED","IP":{"source":"1.1.1.1","destination":"2.2.2.2"},' +
  '"l4":{"TCP":{"source_port":31793,"destination_port":8080}},"source":{"identity":4},"destination":{"identity":12345},' +
  '"Type":"L3_L4","node_name":"k8s1","event_type":{"type":1,"sub_type":133},"is_reply":false,"Summary":"TCP Flags: SYN"}';

t.test('writes fields in proto declaration order, whatever the object key order', async (t) => {
  t.equal(toJsonpb({ flow: drop }), `{"flow":${dropJson}}`);
  const shuffled = Object.fromEntries(Object.entries(drop).reverse()) as Flow;
  t.equal(toJsonpb({ time: '1970-01-01T00:20:34.567800Z', node_name: 'k8s1', flow: shuffled }), `{"flow":${dropJson},"node_name":"k8s1","time":"1970-01-01T00:20:34.567800Z"}`);
  t.equal(toJson({ flow: drop }), toJsonpb({ flow: drop }), '-o json is jsonpb');
  t.equal(toLegacyJson({ flow: drop }), dropJson, 'legacy -o json is the bare flow');
});

t.test('escapes control characters like protojson and <, >, & and U+2028/9 like Go json.Encoder', async (t) => {
  const flow: Flow = {
    Type: 'L7',
    l7: { type: 'REQUEST', latency_ns: '10', kafka: { api_key: '1234', correlation_id: 1, topic: 'my-topic\x1b[30mblack\x1b[0m\x1b\r' } },
    Summary: "a<b && c>d \u2028 \"q\" \\ \t\x01",
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
    flow: { verdict: 'FORWARDED', zzz: { a: 1 }, source: { identity: 5, new_thing: [1] }, drop_reason_desc: 'A_REASON_FROM_THE_FUTURE', l7: { http: { code: 200, grpc: 'x' } } },
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
  const status: GetFlowsResponse = { node_status: { state_change: 'NODE_UNAVAILABLE', node_names: ['kind-kind/kind-worker'], message: 'connection refused' }, time: '2025-03-14T09:26:53Z' };
  t.equal(toJsonpb(status), '{"node_status":{"state_change":"NODE_UNAVAILABLE","node_names":["kind-kind/kind-worker"],"message":"connection refused"},"time":"2025-03-14T09:26:53Z"}');
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
    t.equal(rewritten.findIndex((l, i) => l !== lines[i]), -1, 'every line identical');
    // Compared as JSON text: key order included, and far faster than a deep compare of 800 records.
    t.equal(JSON.stringify(await readLines(t, rewritten)), JSON.stringify(records), 're-read records equal the first read');
  });

  t.test(`a ${variant} export with unknown fields written back equals it minus those fields`, async (t) => {
    const withUnknown = [...synthJsonpbLines({ count: 500, seed: 17, variant, unknownFields: true })];
    const plain = [...synthJsonpbLines({ count: 500, seed: 17, variant })];
    t.not(withUnknown[3], plain[3], 'the input really carries extra fields');
    const rewritten = (await readLines(t, withUnknown)).map(toJsonpb);
    t.equal(rewritten.findIndex((l, i) => l !== plain[i]), -1, 'every line equals the export without unknown fields');
    t.equal(JSON.stringify(await readLines(t, rewritten)), JSON.stringify(synthResponses({ count: 500, seed: 17, variant })), 'records equal the generated ones');
  });
}
