// Our Observer server, driven over real gRPC on 127.0.0.1 by our client: GetFlows selection semantics, follow,
// lost_events for a slow follower, passthrough records, ServerStatus/GetNodes/GetNamespaces/health, cancellation.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { once } from 'node:events';
import type { GetFlowsRequest, GetFlowsResponse } from '../../../lib/flows/types.ts';
import { connectObserver, type ObserverClient } from '../../../lib/hubble/client.ts';
import { startObserverServer, type RunningServer } from '../../../lib/hubble/server/observer-server.ts';
import { FlowRing } from '../../../lib/hubble/server/ring.ts';
import { RingObserverSource } from '../../../lib/hubble/server/ring-source.ts';
import { observerService } from '../../../lib/hubble/grpc/services.ts';
import { flowMix } from '../../fixtures/flow-mix.ts';

async function serve(
  capacity: number,
  records: GetFlowsResponse[],
  perNode = false,
): Promise<{ ring: FlowRing; server: RunningServer; client: ObserverClient }> {
  const ring = new FlowRing(capacity);
  for (const r of records) ring.write(r);
  const server = await startObserverServer('127.0.0.1:0', new RingObserverSource(ring, { nodeName: 'test-node', version: '1.19.0', perNode }));
  const client = await connectObserver(server.address, { what: 'test observer' });
  t.teardown(async () => {
    client.close();
    await server.close();
  });
  return { ring, server, client };
}

async function collect(client: ObserverClient, req: GetFlowsRequest): Promise<GetFlowsResponse[]> {
  const out: GetFlowsResponse[] = [];
  for await (const r of client.getFlows(req)) out.push(r);
  return out;
}

const uuids = (rs: GetFlowsResponse[]) => rs.filter((r) => r.flow).map((r) => r.flow!.uuid);

t.test('number / first / since / until select like Hubble', async (t) => {
  const records = flowMix(300, { seed: 11 });
  const { client } = await serve(1023, records);
  const all = uuids(records);

  t.same(uuids(await collect(client, {})), all, 'no number: everything in the ring, oldest first');
  t.same(uuids(await collect(client, { number: 20 })), all.slice(-20), 'last 20, in time order');
  t.same(uuids(await collect(client, { number: 20, first: true })), all.slice(0, 20), 'first 20');

  const since = records[100]!.time!;
  const until = records[199]!.time!;
  t.same(uuids(await collect(client, { since })), all.slice(100), 'since is inclusive');
  t.same(uuids(await collect(client, { since, until })), all.slice(100, 200), 'until is inclusive and ends the stream');

  const err = await collect(client, { first: true, follow: true }).catch((e: Error) => e);
  t.match(String(err), /rejected GetFlows: first cannot be specified with follow/);
});

t.test('whitelist − blacklist, with number counting matching flows only', async (t) => {
  const records = flowMix(400, { seed: 12 });
  const { client } = await serve(1023, records);
  const dropped = records.filter((r) => r.flow?.verdict === 'DROPPED');
  t.ok(dropped.length > 10, 'the mix has drops');
  t.same(uuids(await collect(client, { whitelist: [{ verdict: ['DROPPED'] }] })), uuids(dropped));
  t.same(uuids(await collect(client, { number: 5, whitelist: [{ verdict: ['DROPPED'] }] })), uuids(dropped).slice(-5));
  const notDns = records.filter((r) => r.flow && r.flow.verdict === 'DROPPED' && r.flow.drop_reason_desc !== 'POLICY_DENY');
  t.same(
    uuids(await collect(client, { whitelist: [{ verdict: ['DROPPED'] }], blacklist: [{ drop_reason_desc: ['POLICY_DENY'] }] })),
    uuids(notDns),
    'blacklist removes from the whitelist',
  );
});

t.test('perNode: number counts per node, as through Relay; follow adds everything new', async (t) => {
  const records = flowMix(300, { seed: 18 });
  const { client, ring } = await serve(1023, records.slice(0, 200), true);
  const history = records.slice(0, 200);
  const pick = (take: (fs: GetFlowsResponse[]) => GetFlowsResponse[], filter = (_r: GetFlowsResponse) => true) => {
    const keep = new Set<GetFlowsResponse>();
    const fs = history.filter((r) => r.flow && filter(r));
    for (const node of new Set(fs.map((r) => r.flow!.node_name))) for (const r of take(fs.filter((f) => f.flow!.node_name === node))) keep.add(r);
    return uuids(history.filter((r) => keep.has(r)));
  };
  t.same(
    uuids(await collect(client, { number: 4 })),
    pick((fs) => fs.slice(-4)),
  );
  t.same(
    uuids(await collect(client, { number: 4, first: true })),
    pick((fs) => fs.slice(0, 4)),
  );
  const drops = (r: GetFlowsResponse) => r.flow!.verdict === 'DROPPED';
  t.same(
    uuids(await collect(client, { number: 2, whitelist: [{ verdict: ['DROPPED'] }] })),
    pick((fs) => fs.slice(-2), drops),
  );

  const stop = new AbortController();
  const seen: string[] = [];
  const expected = [...pick((fs) => fs.slice(-3)), ...uuids(records.slice(200))];
  for await (const r of client.getFlows({ number: 3, follow: true }, { signal: stop.signal })) {
    seen.push(r.flow!.uuid!);
    if (seen.length === 1) for (const r2 of records.slice(200)) ring.write(r2);
    if (seen.length === expected.length) stop.abort();
  }
  t.same(seen, expected, 'last 3 per node, then all 100 new records');
});

t.test("perNode: lost_events follow their node's stream, as each node's own GetFlows through Relay", async (t) => {
  // Node a: 6 flows, a lost_events record before its last 2 and one between them; node b: 1 flow and a lost_events record.
  const base = flowMix(7, { seed: 20 }).filter((r) => r.flow);
  const flow = (i: number, node: string): GetFlowsResponse => ({
    ...base[i]!,
    node_name: node,
    flow: { ...base[i]!.flow!, node_name: node, uuid: `${node}-${i}` },
  });
  const lost = (node: string, n: number): GetFlowsResponse => ({
    lost_events: { source: 'PERF_EVENT_RING_BUFFER', num_events_lost: String(n) },
    node_name: node,
  });
  const records = [lost('b', 1), flow(0, 'a'), flow(1, 'a'), lost('a', 2), flow(2, 'a'), flow(3, 'b'), flow(4, 'a'), flow(5, 'a'), lost('a', 3), flow(6, 'a')];
  const { client } = await serve(1023, records, true);
  const shown = (rs: GetFlowsResponse[]) => rs.map((r) => r.flow?.uuid ?? `lost ${r.node_name} ${r.lost_events!.num_events_lost}`);
  t.same(
    shown(await collect(client, { number: 2 })),
    ['lost b 1', 'b-3', 'a-5', 'lost a 3', 'a-6'],
    "--last 2: a's stream starts at its 2nd-last flow; b has fewer, so its stream starts at its oldest record",
  );
  t.same(
    shown(await collect(client, { number: 2, first: true })),
    ['lost b 1', 'a-0', 'a-1', 'b-3'],
    "--first 2: a's stream ends after its 2 flows, so its later lost events are not sent",
  );
});

t.test('lost_events and node_status records pass through unfiltered and uncounted', async (t) => {
  const records = flowMix(200, { seed: 13, lostEvery: 50, nodeStatusEvery: 45 });
  const { client } = await serve(1023, records);
  const got = await collect(client, { whitelist: [{ verdict: ['DROPPED'] }] });
  t.same(
    got.filter((r) => !r.flow),
    records.filter((r) => !r.flow),
    'every lost_events and node_status record arrives, as written',
  );
  t.ok(got.filter((r) => r.flow).every((r) => r.flow!.verdict === 'DROPPED'));
});

t.test('follow streams new records after the history and honours cancellation', async (t) => {
  const records = flowMix(50, { seed: 14 });
  const { ring, client, server } = await serve(1023, records.slice(0, 30));
  const stop = new AbortController();
  const seen: string[] = [];
  const reading = (async () => {
    for await (const r of client.getFlows({ number: 5, follow: true }, { signal: stop.signal })) {
      seen.push(r.flow!.uuid!);
      if (seen.length === 5) for (const r2 of records.slice(30)) ring.write(r2);
      if (seen.length === 25) stop.abort();
    }
  })();
  await reading;
  t.same(seen, uuids(records).slice(25, 50), 'last 5 of history, then the 20 written later');
  // The server side of the cancelled call is gone: a new call is answered at once.
  t.equal((await collect(client, { number: 1 })).length, 1);
  t.equal(await client.health(), 'SERVING');
  void server;
});

t.test('a follower that falls more than the capacity behind gets lost_events with the count', async (t) => {
  const capacity = 255;
  const { ring, client } = await serve(capacity, []);
  const total = 12_000;
  const records = flowMix(total, { seed: 15 });
  ring.write(records[0]!);
  const it = client.getFlows({ number: 1, follow: true })[Symbol.asyncIterator]();
  const first = await it.next();
  t.equal(first.value.flow.uuid, records[0]!.flow!.uuid);
  // The client is not reading: HTTP/2 flow control stalls the server while the ring laps it many times.
  // Yield now and then so the server really streams (and blocks) while the writer runs.
  for (let i = 1; i < total; i++) {
    ring.write(records[i]!);
    if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  let flows = 1;
  let lost = 0;
  let lostRecords = 0;
  while (flows + lost < total) {
    const { value } = await it.next();
    if (value.flow) flows++;
    else {
      t.equal(value.lost_events.source, 'HUBBLE_RING_BUFFER');
      t.equal(value.node_name, 'test-node');
      lost += Number(value.lost_events.num_events_lost);
      lostRecords++;
    }
  }
  await it.return!(undefined);
  t.ok(lostRecords >= 1, `${lostRecords} lost_events record(s)`);
  t.equal(flows + lost, total, 'every record is either delivered or counted as lost');
  t.ok(flows >= capacity, `at least the last ring's worth arrived (${flows})`);
});

t.test('field_mask: only the named flow fields arrive; filters still see the whole flow; bad paths are rejected', async (t) => {
  const records = flowMix(200, { seed: 19 });
  const { client } = await serve(1023, records);
  const dropped = records.filter((r) => r.flow?.verdict === 'DROPPED');
  const got = await collect(client, {
    whitelist: [{ verdict: ['DROPPED'] }],
    field_mask: 'time,verdict,source.podName,IP,l4.TCP.flags',
  });
  t.equal(got.length, dropped.length, 'the filter chose on fields the mask leaves out');
  for (const [i, r] of got.entries()) {
    const f = dropped[i]!.flow!;
    const want: Record<string, unknown> = { time: f.time, verdict: 'DROPPED', IP: f.IP };
    if (f.source?.pod_name) want.source = { pod_name: f.source.pod_name };
    if (f.l4?.TCP?.flags) want.l4 = { TCP: { flags: f.l4.TCP.flags } };
    t.same(r.flow, want, `flow ${i}: exactly the masked fields`);
    t.equal(r.node_name, dropped[i]!.node_name, 'the response keeps its own node_name');
  }
  const older = await collect(client, { number: 1, experimental: { field_mask: 'uuid' } });
  t.same(
    older.map((r) => r.flow),
    [{ uuid: records.at(-1)!.flow!.uuid }],
    'the older experimental.field_mask too',
  );
  const err = await collect(client, { field_mask: 'source.podname' }).catch((e: Error) => e);
  t.match(String(err), /rejected GetFlows: invalid fieldmask: source\.podname does not name a field of flow\.Flow/);
});

t.test('ServerStatus, GetNodes, GetNamespaces and health', async (t) => {
  const records = flowMix(100, { seed: 16, lostEvery: 40 });
  const { client } = await serve(63, records);
  const flows = records.filter((r) => r.flow).length;
  const status = await client.serverStatus();
  t.match(status, {
    num_flows: String(records.slice(-63).filter((r) => r.flow).length),
    max_flows: '63',
    seen_flows: String(flows),
    version: '1.19.0',
    num_connected_nodes: 1,
  });
  t.ok(Number(status.uptime_ns) >= 0);
  const nodes = await client.getNodes();
  t.match(nodes, [{ name: 'test-node', state: 'NODE_CONNECTED', max_flows: '63' }]);
  t.same(await client.getNamespaces(), [
    { cluster: 'kind-kind', namespace: 'genai' },
    { cluster: 'kind-kind', namespace: 'kube-system' },
  ]);
  t.equal(await client.health(), 'SERVING');
  t.equal(await client.health('observer.Observer'), 'SERVING');
  t.equal(await client.health('hubble.server.Observer'), 'SERVING', 'the service `hubble status` checks');
  await t.rejects(client.health('nope'), /rejected Check: unknown service nope/);
});

t.test('health Watch sends the status and stays open until the client leaves', async (t) => {
  const { server } = await serve(3, []);
  const { healthService } = await import('../../../lib/hubble/grpc/services.ts');
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  const health = new Health(server.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Watch(req: { service?: string }): grpc.ClientReadableStream<{ status?: string }>;
  };
  t.teardown(() => health.close());
  const call = health.Watch({ service: '' });
  const [first] = (await once(call, 'data')) as [{ status?: string }];
  t.equal(first.status, 'SERVING');
  call.cancel();
  const err = (await once(call, 'error').catch((e: unknown) => [e])) as [grpc.ServiceError];
  t.equal(err[0].code, grpc.status.CANCELLED);
});

t.test('a raw grpc-js client sees the same bytes as protobuf messages', async (t) => {
  const records = flowMix(20, { seed: 17 });
  const { server } = await serve(63, records);
  // Bypass our client: read GetFlows responses as raw bytes and decode them with protobufjs alone.
  const raw = new grpc.Client(server.address, grpc.credentials.createInsecure());
  t.teardown(() => raw.close());
  const call = raw.makeServerStreamRequest(observerService.GetFlows.path, observerService.GetFlows.requestSerialize, (b: Buffer) => b, { number: 3 });
  const chunks: Buffer[] = [];
  for await (const b of call) chunks.push(b as Buffer);
  t.equal(chunks.length, 3);
  const { messageType } = await import('../../../lib/hubble/grpc/protos.ts');
  const Response = messageType('observer.GetFlowsResponse');
  const m = Response.toObject(Response.decode(chunks[2]!), { longs: String, enums: String }) as { flow: { uuid: string; verdict: string }; node_name: string };
  t.equal(m.flow.uuid, records[19]!.flow!.uuid);
  t.equal(m.flow.verdict, records[19]!.flow!.verdict);
  t.equal(m.node_name, records[19]!.node_name);
  // And by raw tags: GetFlowsResponse.flow = 1, node_name = 1000, time = 1001; Flow.uuid = 34.
  const reader = protobuf.Reader.create(chunks[2]!);
  const fields: number[] = [];
  let uuid: string | undefined;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    fields.push(tag >>> 3);
    if (tag >>> 3 === 1) {
      const flow = protobuf.Reader.create(reader.bytes());
      while (flow.pos < flow.len) {
        const ft = flow.uint32();
        if (ft >>> 3 === 34) uuid = flow.string();
        else flow.skipType(ft & 7);
      }
    } else reader.skipType(tag & 7);
  }
  t.same(
    fields.sort((a, b) => a - b),
    [1, 1000, 1001],
  );
  t.equal(uuid, records[19]!.flow!.uuid);
});
