// Wire ↔ jsonpb conversion: round trips, protojson details (timestamps, wrappers, defaults) and wire numbers.
import t from 'tap';
import protobuf from 'protobufjs';
import { flowMix } from '../../fixtures/flow-mix.ts';
import { getFlowsRequestCodec, getFlowsResponseCodec, serverStatusResponseCodec } from '../../../lib/hubble/grpc/messages.ts';
import { messageType } from '../../../lib/hubble/grpc/protos.ts';
import { fromJsonpbConverter, JsonpbError } from '../../../lib/hubble/grpc/convert.ts';
import { formatTimestamp, parseTimestamp } from '../../../lib/hubble/grpc/timestamp.ts';

t.test('timestamps print like Go protojson: 0, 3, 6 or 9 fractional digits, UTC Z', async (t) => {
  const s = Date.UTC(2023, 7, 21, 12, 12, 18) / 1000;
  t.equal(formatTimestamp(s, 0), '2023-08-21T12:12:18Z');
  t.equal(formatTimestamp(s, 510_000_000), '2023-08-21T12:12:18.510Z');
  t.equal(formatTimestamp(s, 510_175_000), '2023-08-21T12:12:18.510175Z');
  t.equal(formatTimestamp(s, 510_175_415), '2023-08-21T12:12:18.510175415Z');
  t.equal(formatTimestamp(s, 5), '2023-08-21T12:12:18.000000005Z');
  t.equal(formatTimestamp(0, 0), '1970-01-01T00:00:00Z');
});

t.test('timestamps parse RFC 3339 with offsets and any fraction; garbage is rejected', async (t) => {
  const s = Date.UTC(2023, 7, 21, 12, 12, 18) / 1000;
  t.same(parseTimestamp('2023-08-21T12:12:18.510175415Z'), { seconds: s, nanos: 510_175_415 });
  t.same(parseTimestamp('2023-08-21T14:12:18.5+02:00'), { seconds: s, nanos: 500_000_000 });
  t.same(parseTimestamp('2023-08-21T07:12:18-05:00'), { seconds: s, nanos: 0 });
  for (const bad of ['', 'yesterday', '2023-08-21', '2023-13-01T00:00:00Z', '2023-02-30T00:00:00Z', '2023-08-21T12:12:18.1234567890Z']) {
    t.equal(parseTimestamp(bad), undefined, bad);
  }
});

t.test('a realistic flow mix survives encode → decode unchanged', async (t) => {
  const records = flowMix(400, { seed: 7, lostEvery: 97, nodeStatusEvery: 89 });
  let flows = 0;
  for (const r of records) {
    const back = getFlowsResponseCodec.decode(getFlowsResponseCodec.encode(r));
    if (JSON.stringify(sorted(back)) !== JSON.stringify(sorted(r))) {
      t.same(back, r, 'record round trip');
      return;
    }
    if (r.flow) flows++;
  }
  t.ok(flows > 300, `${flows} flows round-tripped`);
  t.ok(records.some((r) => r.lost_events) && records.some((r) => r.node_status), 'mix has lost_events and node_status');
});

t.test('is_reply: false survives, absent stays absent', async (t) => {
  const no = getFlowsResponseCodec.decode(getFlowsResponseCodec.encode({ flow: { is_reply: false, verdict: 'FORWARDED' } }));
  t.same(no, { flow: { is_reply: false, verdict: 'FORWARDED' } });
  t.equal(no.flow!.is_reply, false);
  const unknown = getFlowsResponseCodec.decode(getFlowsResponseCodec.encode({ flow: { verdict: 'DROPPED' } }));
  t.notOk('is_reply' in unknown.flow!, 'no is_reply key when it was not sent');
});

t.test('fields at their default value are omitted, set empty messages kept', async (t) => {
  // Encode explicit zero values directly with protobufjs, as a sender that writes defaults would.
  const type = messageType('observer.GetFlowsResponse');
  const bytes = type
    .encode({ flow: { verdict: 0, uuid: '', node_name: '', source_names: [], Type: 0, l4: { TCP: {} }, socket_cookie: 0 }, node_name: '' })
    .finish();
  t.same(getFlowsResponseCodec.decode(bytes), { flow: { l4: { TCP: {} } } });
});

t.test('64-bit integers are strings, wrappers bare, enums names', async (t) => {
  const status = serverStatusResponseCodec.decode(
    serverStatusResponseCodec.encode({
      num_flows: '4095',
      max_flows: '4095',
      seen_flows: '9007199254740993',
      uptime_ns: '1',
      num_connected_nodes: 0,
      version: 'v1',
    }),
  );
  t.same(status, { num_flows: '4095', max_flows: '4095', seen_flows: '9007199254740993', uptime_ns: '1', num_connected_nodes: 0, version: 'v1' });
  const r = getFlowsResponseCodec.decode(
    getFlowsResponseCodec.encode({ lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '18446744073709551615', cpu: 0 } }),
  );
  t.same(r, { lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '18446744073709551615', cpu: 0 } });
});

t.test('GetFlowsRequest keeps number as a JS number and since/until as RFC 3339', async (t) => {
  const req = {
    number: 20,
    follow: true,
    since: '2024-05-01T12:00:00.500Z',
    until: '2024-05-01T13:00:00Z',
    whitelist: [{ source_pod: ['genai/'], reply: [false], verdict: ['DROPPED' as const] }],
    blacklist: [{ source_identity: [102] }],
  };
  t.same(getFlowsRequestCodec.decode(getFlowsRequestCodec.encode(req)), req);
  // hubble observe --all sends number = 2^64−1.
  const all = messageType('observer.GetFlowsRequest').encode({ number: '18446744073709551615' }).finish();
  t.equal(getFlowsRequestCodec.decode(all).number, 18446744073709551615);
  t.same(getFlowsRequestCodec.decode(getFlowsRequestCodec.encode({})), {});
});

t.test('the one-pass encoder and protobufjs agree on every record of the mix', async (t) => {
  const type = messageType('observer.GetFlowsResponse');
  const general = fromJsonpbConverter(type);
  const records = flowMix(300, { seed: 8, lostEvery: 40, nodeStatusEvery: 55 });
  const differing = records.filter((r) => {
    const viaProtobufjs = getFlowsResponseCodec.decode(type.encode(general(r)).finish());
    return JSON.stringify(sorted(getFlowsResponseCodec.decode(getFlowsResponseCodec.encode(r)))) !== JSON.stringify(sorted(viaProtobufjs));
  });
  t.equal(differing.length, 0);
  // Looser protojson forms take the general path and still encode.
  t.same(getFlowsResponseCodec.decode(getFlowsResponseCodec.encode({ flow: { l4: { TCP: { source_port: '80' as never } }, verdict: 2 as never } })), {
    flow: { verdict: 'DROPPED', l4: { TCP: { source_port: 80 } } },
  });
});

t.test('bad jsonpb names the field', async (t) => {
  t.throws(() => getFlowsResponseCodec.encode({ flow: { verdict: 'DENIED' as never } }), new JsonpbError('flow.verdict', 'unknown Verdict value "DENIED"'));
  t.throws(() => getFlowsResponseCodec.encode({ flow: { time: 'yesterday' } }), { name: 'JsonpbError', path: 'flow.time' });
  t.throws(() => getFlowsResponseCodec.encode({ flow: { source: { labels: 'k8s:app=x' as never } } }), { name: 'JsonpbError', path: 'flow.source.labels' });
  // Fields newer than our protos are ignored, not fatal.
  t.same(getFlowsResponseCodec.decode(getFlowsResponseCodec.encode({ flow: { verdict: 'FORWARDED', brand_new: 1 } as never })), {
    flow: { verdict: 'FORWARDED' },
  });
});

t.test('wire field numbers match upstream (bytes built by hand, decoded by our protos)', async (t) => {
  const w = protobuf.Writer.create();
  const flow = protobuf.Writer.create();
  flow.uint32((2 << 3) | 0).uint32(2); // verdict = DROPPED
  flow.uint32((25 << 3) | 0).uint32(133); // drop_reason_desc = POLICY_DENIED
  flow.uint32((26 << 3) | 2).uint32(0); // is_reply = BoolValue{} (false)
  flow.uint32((10 << 3) | 0).uint32(1); // Type = L3_L4
  flow.uint32((11 << 3) | 2).string('n1'); // node_name
  const emitter = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string('Hubble')
    .finish();
  flow.uint32((41 << 3) | 2).bytes(emitter); // emitter
  const ip = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string('10.0.0.1')
    .uint32((3 << 3) | 0)
    .uint32(1)
    .finish();
  flow.uint32((5 << 3) | 2).bytes(ip); // IP{source, ipVersion=IPv4}
  flow.uint32((100000 << 3) | 2).string('TCP Flags: SYN'); // Summary
  const ts = protobuf.Writer.create()
    .uint32((1 << 3) | 0)
    .int64(1692619938)
    .uint32((2 << 3) | 0)
    .int32(510175415)
    .finish();
  flow.uint32((1 << 3) | 2).bytes(ts); // time
  w.uint32((1 << 3) | 2).bytes(flow.finish()); // GetFlowsResponse.flow
  w.uint32((1000 << 3) | 2).string('n1'); // node_name
  w.uint32((1001 << 3) | 2).bytes(ts); // time
  const decoded = getFlowsResponseCodec.decode(w.finish());
  t.same(decoded, {
    flow: {
      time: '2023-08-21T12:12:18.510175415Z',
      emitter: { name: 'Hubble' },
      verdict: 'DROPPED',
      IP: { source: '10.0.0.1', ipVersion: 'IPv4' },
      Type: 'L3_L4',
      node_name: 'n1',
      drop_reason_desc: 'POLICY_DENIED',
      is_reply: false,
      Summary: 'TCP Flags: SYN',
    },
    node_name: 'n1',
    time: '2023-08-21T12:12:18.510175415Z',
  });

  // And the other way: our encoder puts lost_events at 3 and node_status at 2 with relay numbers.
  const lost = protobuf.Reader.create(getFlowsResponseCodec.encode({ lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '5' } }));
  const tag = lost.uint32();
  t.equal(tag >>> 3, 3, 'lost_events is field 3');
  const status = protobuf.Reader.create(getFlowsResponseCodec.encode({ node_status: { state_change: 'NODE_UNAVAILABLE', node_names: ['a'] } }));
  t.equal(status.uint32() >>> 3, 2, 'node_status is field 2');
  const inner = protobuf.Reader.create(status.bytes());
  t.same([inner.uint32(), inner.uint32()], [(1 << 3) | 0, 2], 'state_change = NODE_UNAVAILABLE (2) at field 1');
});

/** Key order does not matter to JSON consumers; compare with keys sorted. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

t.test('timestamps of one second in a row parse as each one alone does', async (t) => {
  const second = '2023-08-21T12:12:18';
  const texts = [
    `${second}.5Z`,
    `${second}Z`,
    `${second}.000000001Z`,
    `${second}.5+02:00`,
    `${second}.5z`,
    `${second}.5xZ`,
    `${second}.1234567891Z`,
    `${second}.Z`,
    `${second}.12Z`,
  ];
  const alone = texts.map((text) => {
    parseTimestamp('1999-01-01T00:00:00Z'); // another second in between: nothing kept from the one before
    return parseTimestamp(text);
  });
  t.same(
    texts.map((text) => parseTimestamp(text)),
    alone,
  );
  t.same(alone.slice(0, 3), [
    { seconds: 1692619938, nanos: 500_000_000 },
    { seconds: 1692619938, nanos: 0 },
    { seconds: 1692619938, nanos: 1 },
  ]);
  t.same(alone[3], { seconds: 1692619938 - 7200, nanos: 500_000_000 });
  t.same(alone.slice(5, 8), [undefined, undefined, undefined]);
  t.same(alone[8], { seconds: 1692619938, nanos: 120_000_000 });
});
