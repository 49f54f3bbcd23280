// GetFlows throughput: `hubble-lab relay` (its own process) → our gRPC client on loopback → Flow objects,
// against a stock @grpc/proto-loader client; plus the decoders alone on the same bytes.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { connectObserver } from '../lib/hubble/client.ts';
import { getFlowsResponseCodec } from '../lib/hubble/grpc/messages.ts';
import { protoDir } from '../lib/hubble/grpc/protos.ts';
import { flowMix } from '../test/fixtures/flow-mix.ts';
import type { GetFlowsResponse } from '../lib/flows/types.ts';
import { benchDir, fmtMs, median, scratchDir } from './lib.ts';

const RECORDS = 60_000;
const runs = 5;
let records: GetFlowsResponse[] | undefined = flowMix(RECORDS, { seed: 9, lostEvery: 5000, nodeStatusEvery: 7000 });
const flowCount = records.filter((r) => r.flow).length;
const file = join(scratchDir, 'grpc-flows.jsonl');
writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
let encoded: Buffer[] = records.map((r) => getFlowsResponseCodec.encode(r));
records = undefined;
const meanBytes = encoded.reduce((n, b) => n + b.length, 0) / encoded.length;

// A stock client, as most Node code would write one: proto-loader with jsonpb-like options.
const definition = protoLoader.loadSync('observer.proto', {
  includeDirs: [protoDir],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});
const stock = grpc.loadPackageDefinition(definition) as unknown as {
  observer: { Observer: new (address: string, creds: grpc.ChannelCredentials) => grpc.Client & { GetFlows(req: object): grpc.ClientReadableStream<unknown> } };
};
const stockDeserialize = (definition['observer.Observer'] as unknown as Record<string, { responseDeserialize(b: Buffer): unknown }>).GetFlows!
  .responseDeserialize;

/**
 * Runs `a` and `b` alternately (after one warm-up each), so both see the same machine load — these machines
 * are shared — and returns each one's median wall time and CPU time (this process) per run.
 */
async function interleaved(a: () => unknown, b: () => unknown) {
  await a();
  await b();
  const wall: [number[], number[]] = [[], []];
  const cpuUs: [number[], number[]] = [[], []];
  for (let i = 0; i < runs; i++) {
    for (const [k, fn] of (i % 2 === 0
      ? [
          [0, a],
          [1, b],
        ]
      : [
          [1, b],
          [0, a],
        ]) as [0 | 1, () => unknown][]) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      wall[k].push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpuUs[k].push(c.user + c.system);
    }
  }
  return [0, 1].map((k) => ({ medianMs: median(wall[k as 0 | 1]), cpuUs: median(cpuUs[k as 0 | 1]) })) as [Timing, Timing];
}
interface Timing {
  medianMs: number;
  cpuUs: number;
}

// Decoders alone, on the same bytes.
const [stockDecode, ourDecode] = await interleaved(
  () => {
    for (const b of encoded) stockDeserialize(b);
  },
  () => {
    for (const b of encoded) getFlowsResponseCodec.decode(b);
  },
);

// Let the streaming runs start from a small heap, as a real client would.
encoded = [];
(globalThis as { gc?: () => void }).gc?.();

// The relay in its own process, so server and client each get a core.
const relay = spawn(process.execPath, [join(benchDir, '..', 'bin', 'hubble-lab.mjs'), 'relay', '--input', file, '--listen', '127.0.0.1:0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let relayOut = '';
relay.stdout!.on('data', (b: Buffer) => (relayOut += b.toString()));
while (!/read \d+ records/.test(relayOut)) await once(relay.stdout!, 'data');
const address = / on (127\.0\.0\.1:\d+) /.exec(relayOut)![1]!;

/** CPU time (µs) the relay process has used so far, from /proc (Linux); NaN elsewhere. */
function relayCpuMicros(): number {
  const stat = `/proc/${relay.pid}/stat`;
  if (!existsSync(stat)) return NaN;
  const fields = readFileSync(stat, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6;
}

const client = await connectObserver(address);
async function ours(): Promise<number> {
  let n = 0;
  for await (const r of client.getFlows({ number: RECORDS })) if (r.flow) n++;
  if (n !== flowCount) throw new Error(`expected ${flowCount} flows, got ${n}`);
  return n;
}
// The first request makes the relay encode each record (then cached for every later reader).
const coldStart = performance.now();
await ours();
const coldMs = performance.now() - coldStart;

const stockClient = new stock.observer.Observer(address, grpc.credentials.createInsecure());
async function stockStream(): Promise<number> {
  let n = 0;
  for await (const r of stockClient.GetFlows({ number: String(RECORDS) })) if ((r as { flow?: unknown }).flow) n++;
  if (n !== flowCount) throw new Error(`expected ${flowCount} flows, got ${n}`);
  return n;
}
const relayBefore = relayCpuMicros();
const [stockRun, ourStream] = await interleaved(stockStream, ours);
// The relay serves both clients alike; its CPU per flow is shared out over every flow it sent here.
const relayPerFlow = (relayCpuMicros() - relayBefore) / (flowCount * 2 * (runs + 1));

client.close();
stockClient.close();
relay.kill('SIGINT');
await once(relay, 'exit');

const rate = (ms: number, n: number) => `${Math.round((n / ms) * 1000).toLocaleString('en')} flows/s`;
const cpu = (r: Timing) => `${(r.cpuUs / flowCount).toFixed(1)} µs / ${Number.isNaN(relayPerFlow) ? '?' : relayPerFlow.toFixed(1)} µs`;
process.stdout.write(
  [
    '## grpc: GetFlows from `hubble-lab relay` on loopback into Flow objects',
    '',
    `${RECORDS.toLocaleString('en')} records (${flowCount.toLocaleString('en')} flows: labelled pods, TCP, HTTP and DNS through the proxy, policy drops;`,
    `mean ${Math.round(meanBytes)} bytes on the wire), test/fixtures/flow-mix.ts. The relay runs in its own process; the client`,
    `consumes every response. Median of ${runs} runs after a warm-up, each case alternating with its anchor so both`,
    'see the same load. Target: ≥ 100,000 flows/s end to end. CPU per flow is the user+system time (all threads, GC',
    'included) of the client and of the relay process over the flows streamed: 1 / max(client, relay) is the rate',
    'the pair sustains when each has a core to itself.',
    '',
    '| what | median | rate | CPU per flow (client / relay) | ratio vs anchor |',
    '|---|---|---|---|---|',
    `| decode only: @grpc/proto-loader deserializer (anchor) | ${fmtMs(stockDecode.medianMs)} | ${rate(stockDecode.medianMs, RECORDS)} | | 1.00× |`,
    `| decode only: our one-pass jsonpb decoder | ${fmtMs(ourDecode.medianMs)} | ${rate(ourDecode.medianMs, RECORDS)} | | ${(ourDecode.medianMs / stockDecode.medianMs).toFixed(2)}× |`,
    `| GetFlows, stock proto-loader client (anchor) | ${fmtMs(stockRun.medianMs)} | ${rate(stockRun.medianMs, flowCount)} | ${cpu(stockRun)} | 1.00× |`,
    `| GetFlows, our client | ${fmtMs(ourStream.medianMs)} | ${rate(ourStream.medianMs, flowCount)} | ${cpu(ourStream)} | ${(ourStream.medianMs / stockRun.medianMs).toFixed(2)}× |`,
    `| GetFlows, our client, first request (relay encodes and caches each record) | ${fmtMs(coldMs)} | ${rate(coldMs, flowCount)} | | ${(coldMs / stockRun.medianMs).toFixed(2)}× |`,
    '',
  ].join('\n'),
);
