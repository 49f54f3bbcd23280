// `hubble-lab relay` end to end: a generated export served on 127.0.0.1, read back with our gRPC client.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../lib/cli.ts';
import { captureIO } from '../fixtures/cli-io.ts';
import { connectObserver } from '../../lib/hubble/client.ts';
import type { GetFlowsResponse } from '../../lib/flows/types.ts';
import { flowMix } from '../fixtures/flow-mix.ts';
import { fileTempDir } from '../fixtures/temp-dir.ts';

const dir = fileTempDir('relay-test-');

function exportFile(name: string, records: GetFlowsResponse[], extra = ''): string {
  const path = join(dir, name);
  writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n' + extra);
  return path;
}

/** Runs the command in-process; resolves once it printed where it listens. */
async function startRelay(args: string[], stdin: Readable = Readable.from([])) {
  const stop = new AbortController();
  const c = captureIO({ stdin, signal: stop.signal });
  const exit = main(['relay', ...args], c.io);
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = / on (127\.0\.0\.1:\d+) /.exec(c.out());
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
    }, 10);
    void exit.then((code) => {
      clearInterval(timer);
      reject(new Error(`relay exited ${code}: ${c.err()}`));
    });
  });
  return { address, stop: () => stop.abort(), exit, output: c.out, errors: c.err };
}

t.test('serves a file: history, filters, status, nodes, health; stops on the signal', async (t) => {
  const records = flowMix(500, { seed: 21, nodeStatusEvery: 120 });
  const file = exportFile('flows.jsonl', records, '{"flow": \n');
  const relay = await startRelay(['--input', file, '--listen', '127.0.0.1:0']);
  const client = await connectObserver(relay.address);
  t.teardown(() => client.close());

  // The file may still be loading: wait for the last record.
  const lastUuid = records.at(-1)!.flow!.uuid;
  for (let i = 0; i < 100; i++) {
    const last = (await collect(client.getFlows({ number: 1 }))).at(-1);
    if (last?.flow?.uuid === lastUuid) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const flows = records.filter((r) => r.flow);
  // As through Hubble Relay, --last/--first N count per node, merged in time order.
  const perNode = (pick: (fs: GetFlowsResponse[]) => GetFlowsResponse[]) => {
    const keep = new Set<GetFlowsResponse>();
    for (const node of new Set(flows.map((r) => r.flow!.node_name))) for (const r of pick(flows.filter((f) => f.flow!.node_name === node))) keep.add(r);
    return flows.filter((r) => keep.has(r)).map((r) => r.flow!.uuid);
  };
  const got = await collect(client.getFlows({ number: 10 }));
  t.same(
    got.filter((r) => r.flow).map((r) => r.flow!.uuid),
    perNode((fs) => fs.slice(-10)),
  );
  t.equal(got.filter((r) => r.flow).length, 30, '10 from each of the 3 nodes');
  const first = await collect(client.getFlows({ number: 3, first: true }));
  t.same(
    first.filter((r) => r.flow).map((r) => r.flow!.uuid),
    perNode((fs) => fs.slice(0, 3)),
  );
  const drops = await collect(client.getFlows({ whitelist: [{ verdict: ['DROPPED'] }] }));
  t.same(drops.filter((r) => r.flow).length, flows.filter((r) => r.flow!.verdict === 'DROPPED').length);
  const [opening, ...passed] = drops.filter((r) => r.node_status);
  t.match(
    opening,
    {
      node_name: 'hubble-relay',
      node_status: { state_change: 'NODE_CONNECTED', node_names: ['kind-kind/kind-control-plane', 'kind-kind/kind-worker', 'kind-kind/kind-worker2'] },
    },
    'as Relay, the stream opens by naming the nodes it reads from',
  );
  t.equal(drops[0], opening, 'before anything else');
  t.same(
    passed,
    records.filter((r) => r.node_status),
    'node_status records of the file are passed through',
  );

  const status = await client.serverStatus();
  t.match(status, { num_flows: String(flows.length), seen_flows: String(flows.length), max_flows: '65535', num_connected_nodes: 3 });
  const nodes = await client.getNodes();
  t.same(
    nodes.map((n) => [n.name, n.state]),
    [
      ['kind-kind/kind-control-plane', 'NODE_CONNECTED'],
      ['kind-kind/kind-worker', 'NODE_CONNECTED'],
      ['kind-kind/kind-worker2', 'NODE_CONNECTED'],
    ],
  );
  for (const n of nodes) {
    const ofNode = String(flows.filter((r) => r.flow!.node_name === n.name).length);
    t.match(n, { num_flows: ofNode, seen_flows: ofNode, max_flows: '65535', version: '1.19.0+hubble-lab' }, `${n.name}: its flow counts, as Relay lists them`);
    t.ok(Number(n.uptime_ns) > 0, 'and an uptime');
  }
  t.equal(await client.health(), 'SERVING');

  relay.stop();
  t.equal(await relay.exit, 0);
  t.match(relay.output(), /read 501 records|read 500 records/);
  t.match(relay.errors(), /1 malformed line in .*flows\.jsonl skipped/);
  t.match(relay.output(), /stopped/);
});

t.test('--pace 200/s: follow receives the file as it is played, then stays open', async (t) => {
  const records = flowMix(40, { seed: 22 });
  const file = exportFile('paced.jsonl', records);
  const started = Date.now();
  const relay = await startRelay(['--input', file, '--listen', '127.0.0.1:0', '--pace', '200/s']);
  t.teardown(() => relay.stop());
  const client = await connectObserver(relay.address);
  t.teardown(() => client.close());
  const stop = new AbortController();
  const seen: string[] = [];
  let lastAt = 0;
  // Follow from the oldest record: everything so far, then the rest as it is played.
  for await (const r of client.getFlows({ since: records[0]!.time!, follow: true }, { signal: stop.signal })) {
    if (r.node_status) continue;
    seen.push(r.flow!.uuid!);
    lastAt = Date.now();
    if (seen.length === 40) {
      // Still open after the end of the file: a short wait brings nothing and no end.
      setTimeout(() => stop.abort(), 100);
    }
  }
  t.same(
    seen,
    records.map((r) => r.flow!.uuid),
  );
  // The 40th record is due 39 × 5 ms after the relay started, however late we connected.
  t.ok(lastAt - started >= 190, `40 records at 200/s: the last after ${lastAt - started} ms`);
});

t.test('--pace realtime keeps the recorded gaps between records', async (t) => {
  const records = flowMix(20, { seed: 24, gapMicros: 10_000 });
  const span = Date.parse(records.at(-1)!.time!) - Date.parse(records[0]!.time!);
  const file = exportFile('realtime.jsonl', records);
  const started = Date.now();
  const relay = await startRelay(['--input', file, '--listen', '127.0.0.1:0', '--pace', 'realtime']);
  t.teardown(() => relay.stop());
  const client = await connectObserver(relay.address);
  t.teardown(() => client.close());
  const stop = new AbortController();
  const arrivals: number[] = [];
  for await (const _ of client.getFlows({ since: records[0]!.time!, follow: true }, { signal: stop.signal })) {
    arrivals.push(Date.now());
    if (arrivals.length === records.length) stop.abort();
  }
  // However late we connected, the last record cannot have been played before its recorded offset.
  const played = arrivals.at(-1)! - started;
  t.ok(played >= span - 5, `recorded span ${span} ms, last record after ${played} ms`);
  t.ok(played < span + 5000, 'and not absurdly later');
});

t.test('stdin, bad flags and an unreadable file', async (t) => {
  const records = flowMix(5, { seed: 23 });
  const stdin = Readable.from([records.map((r) => JSON.stringify(r)).join('\n') + '\n']);
  const relay = await startRelay(['--input', '-', '--listen', '127.0.0.1:0'], stdin);
  const client = await connectObserver(relay.address);
  const got = await collect(client.getFlows({}));
  t.ok(got.filter((r) => r.flow).length <= 5);
  client.close();
  relay.stop();
  t.equal(await relay.exit, 0);

  const run = async (args: string[]) => {
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await main(['relay', ...args], { stdin: Readable.from([]), stdout: new PassThrough(), stderr, env: {}, signal: new AbortController().signal });
    return { code, err };
  };
  t.match(await run(['--input', join(dir, 'missing.jsonl'), '--listen', '127.0.0.1:0']), { code: 2, err: /cannot read flows file .*missing\.jsonl/ });
  t.match(await run(['--input', 'x', '--pace', 'fast']), { code: 2, err: /--pace takes max, realtime or N\/s/ });
  t.match(await run(['--input', 'x', '--capacity', '4096']), { code: 2, err: /--capacity must be one less than a power of two/ });
  t.match(await run([]), { code: 2, err: /--input FILE is required/ });

  // A busy address is reported with the address and what to do.
  const busy = await startRelay(['--input', exportFile('one.jsonl', records), '--listen', '127.0.0.1:0']);
  t.teardown(() => busy.stop());
  t.match(await run(['--input', exportFile('two.jsonl', records), '--listen', busy.address]), {
    code: 2,
    err: new RegExp(`cannot start Hubble Relay on ${busy.address.replace(/\./g, '\\.')}: address already in use`),
  });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
