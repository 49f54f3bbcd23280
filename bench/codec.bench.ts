// jsonpb codec speed: reading a ~150 MB export into Flow objects against a bare JSON.parse-per-line loop, and writing.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { createReadStats, readResponseBatches, readResponses } from '../lib/hubble/codec/read.ts';
import { toJsonpb, toJsonpbFromLine } from '../lib/hubble/codec/write.ts';
import type { GetFlowsResponse } from '../lib/flows/types.ts';
import { synthResponses, writeSynthFile } from '../test/fixtures/synth.ts';
import { fmtMs, machine, median, scratchDir } from './lib.ts';

const RECORDS = 90_000;
const path = join(scratchDir, `codec-${RECORDS}.jsonl`);
if (!existsSync(path)) {
  process.stderr.write(`codec bench: generating ${path}\n`);
  await writeSynthFile(path + '.tmp', { count: RECORDS, seed: 2024 });
  const { renameSync } = await import('node:fs');
  renameSync(path + '.tmp', path);
}
const bytes = statSync(path).size;

/**
 * The anchor: the least a line reader can do — read 1 MiB chunks, decode, split on newlines (a line cut by a chunk
 * boundary joined once), JSON.parse each line. No checks, no records, no async iteration per line.
 */
async function bareParseLoop(): Promise<number> {
  const decoder = new StringDecoder('utf8');
  let pending: string[] = [];
  let n = 0;
  const parse = (line: string) => {
    if (line.length > 0 && JSON.parse(line).flow) n++;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const text = decoder.write(chunk as Buffer);
    let start = 0;
    let nl = text.indexOf('\n');
    if (nl !== -1 && pending.length > 0) {
      pending.push(text.slice(0, nl));
      parse(pending.join(''));
      pending = [];
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    while (nl !== -1) {
      parse(text.slice(start, nl));
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    if (start < text.length) pending.push(text.slice(start));
  }
  parse(pending.join('') + decoder.end());
  return n;
}

async function perRecord(): Promise<number> {
  let n = 0;
  for await (const r of readResponses(path)) if (r.flow) n++;
  return n;
}

async function batched(): Promise<number> {
  let n = 0;
  for await (const batch of readResponseBatches(path)) for (const r of batch) if (r.flow) n++;
  return n;
}

const expectFlows = await bareParseLoop();
const stats = createReadStats();
for await (const _ of readResponses(path, stats)) void _;
if (stats.flows !== expectFlows || stats.malformed !== 0)
  throw new Error(`codec bench: reader saw ${stats.flows} flows / ${stats.malformed} malformed, expected ${expectFlows} / 0`);

const runs = 7;

/**
 * Runs the variants in turns (a, b, c, a, b, c, …) after one warm-up turn, so that load from other processes on a
 * shared machine falls on all of them alike; returns median wall and CPU (user + system) milliseconds.
 */
async function interleaved(fns: Record<string, () => unknown>, n: number): Promise<Record<string, { wall: number; cpu: number }>> {
  const samples: Record<string, { wall: number[]; cpu: number[] }> = {};
  for (let round = -1; round < n; round++) {
    for (const [name, fn] of Object.entries(fns)) {
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await fn();
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      const cpu = process.cpuUsage(cpu0);
      if (round < 0) continue;
      const s = (samples[name] ??= { wall: [], cpu: [] });
      s.wall.push(wall);
      s.cpu.push((cpu.user + cpu.system) / 1000);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { wall: median(v.wall), cpu: median(v.cpu) }]));
}

const read = await interleaved({ anchor: bareParseLoop, iter: perRecord, batch: batched }, runs);

// Writer: the same records in memory, jsonpb vs JSON.stringify (which knows nothing of field order or defaults).
const records = synthResponses({ count: 20_000, seed: 7 });
const written = await interleaved(
  {
    anchor: () => records.reduce((sum, r) => sum + JSON.stringify(r).length, 0),
    jsonpb: () => records.reduce((sum, r) => sum + toJsonpb(r).length, 0),
  },
  runs,
);
const outBytes = records.reduce((sum, r) => sum + toJsonpb(r).length + 1, 0);

// The same records as a reader hands them out: parsed from their jsonpb lines, which are canonical, so
// toJsonpbFromLine only checks each record and gives back its line.
const jsonpbLines = records.map(toJsonpb);
const parsed = jsonpbLines.map((l) => JSON.parse(l) as GetFlowsResponse);
const writtenParsed = await interleaved(
  {
    anchor: () => parsed.reduce((sum, r) => sum + JSON.stringify(r).length, 0),
    jsonpb: () => parsed.reduce((sum, r) => sum + toJsonpb(r).length, 0),
    fromLine: () => parsed.reduce((sum, r, i) => sum + toJsonpbFromLine(r, jsonpbLines[i]).length, 0),
  },
  runs,
);

const mbps = (b: number, ms: number) => `${(b / 2 ** 20 / (ms / 1000)).toFixed(0)} MiB/s`;
const rps = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString('en-US')} records/s`;
const ratio = (ms: number, anchorMs: number) => `${(anchorMs / ms).toFixed(2)}×`;
const row = (what: string, m: { wall: number; cpu: number }, a: { wall: number; cpu: number }, throughput: string) =>
  `| ${what} | ${fmtMs(m.wall)} | ${ratio(m.wall, a.wall)} | ${fmtMs(m.cpu)} | ${ratio(m.cpu, a.cpu)} | ${throughput} |`;

const lines = [
  '## jsonpb codec (lib/hubble/codec)',
  '',
  `Read: ${(bytes / 2 ** 20).toFixed(0)} MiB, ${RECORDS.toLocaleString('en-US')} synthetic records (test/fixtures/synth.ts) into Flow objects, from a`,
  `file in bench/out/. Ratio = anchor time / time, i.e. speed relative to the anchor measured in the same run (the`,
  `target for reading is ≥ 0.80×). Variants run in turns; medians of ${runs} turns after a warm-up; CPU = user + system`,
  `time of the process, which shows the cost when the machine is shared. Write: 20,000 records in memory to jsonpb,`,
  `as the generator builds them and as JSON.parse gives them back from their jsonpb lines.`,
  `${machine()}.`,
  '',
  '| what | median wall | ratio vs anchor | median CPU | CPU ratio | throughput (wall) |',
  '| --- | ---: | ---: | ---: | ---: | --- |',
  row('read: chunk split + JSON.parse per line (anchor)', read.anchor!, read.anchor!, mbps(bytes, read.anchor!.wall)),
  row(
    'read: readResponses (per-record async iterator, checked)',
    read.iter!,
    read.anchor!,
    `${mbps(bytes, read.iter!.wall)}, ${rps(RECORDS, read.iter!.wall)}`,
  ),
  row(
    'read: readResponseBatches (one array per chunk, checked)',
    read.batch!,
    read.anchor!,
    `${mbps(bytes, read.batch!.wall)}, ${rps(RECORDS, read.batch!.wall)}`,
  ),
  row('write: JSON.stringify per record (anchor)', written.anchor!, written.anchor!, rps(records.length, written.anchor!.wall)),
  row('write: toJsonpb per record', written.jsonpb!, written.anchor!, `${rps(records.length, written.jsonpb!.wall)}, ${mbps(outBytes, written.jsonpb!.wall)}`),
  row('write: JSON.stringify per parsed record (anchor)', writtenParsed.anchor!, writtenParsed.anchor!, rps(parsed.length, writtenParsed.anchor!.wall)),
  row('write: toJsonpb per parsed record', writtenParsed.jsonpb!, writtenParsed.anchor!, rps(parsed.length, writtenParsed.jsonpb!.wall)),
  row(
    'write: toJsonpbFromLine per parsed record (checked, line reused)',
    writtenParsed.fromLine!,
    writtenParsed.anchor!,
    rps(parsed.length, writtenParsed.fromLine!.wall),
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
