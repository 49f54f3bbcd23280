// Reading stays bounded: the line length cap, lines nested too deep, and gzip read as gzip -d reads it.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { constants as zlibConstants, crc32, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import { createReadStats, readResponses, type ReadInput, type ReadOptions, type ReadStats } from '../../../lib/hubble/codec/read.ts';
import { DEFAULT_MAX_LINE_BYTES } from '../../../lib/hubble/codec/lines.ts';
import { InputError } from '../../../lib/errors.ts';
import { main } from '../../../lib/cli.ts';
import { synthJsonpbLines, synthResponses } from '../../fixtures/synth.ts';
import type { GetFlowsResponse } from '../../../lib/flows/types.ts';
import { captureIO } from '../../fixtures/cli-io.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dir = t.testdir({});
const MiB = 1024 * 1024;

interface Read {
  records: GetFlowsResponse[];
  stats: ReadStats;
  error: unknown;
}

async function read(input: ReadInput, options?: ReadOptions): Promise<Read> {
  const stats = createReadStats();
  const records: GetFlowsResponse[] = [];
  try {
    for await (const r of readResponses(input, stats, options)) records.push(r);
  } catch (error) {
    return { records, stats, error };
  }
  return { records, stats, error: undefined };
}

/** Same records, same key order: compared as JSON text, far faster than a deep compare. */
function sameRecords(t: Test, got: GetFlowsResponse[], want: GetFlowsResponse[], msg = 'same records'): void {
  t.equal(got.length, want.length, `${msg}: count`);
  const firstDiff = got.findIndex((r, i) => JSON.stringify(r) !== JSON.stringify(want[i]));
  if (firstDiff === -1) t.pass(msg);
  else t.same(got[firstDiff], want[firstDiff], `${msg}: first difference at record ${firstDiff}`);
}

/** The bytes as a stream of chunks of the given size. */
function chunked(bytes: Buffer, size: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
    })(),
  );
}

const FLOWS = 2281;
const flowLines = [...synthJsonpbLines({ count: FLOWS, seed: 17 })];
const flowRecords = synthResponses({ count: FLOWS, seed: 17 });
const flowText = flowLines.join('\n') + '\n';
const GOOD = '{"flow":{"verdict":"FORWARDED","Summary":"ok"}}\n';

// --- the line cap ---

t.test('a line over the cap is passed over without being held, counted, and the lines after it are read', async (t) => {
  const longBytes = 200 * MiB;
  const piece = Buffer.alloc(64 * 1024, 'x');
  const before = process.memoryUsage.rss();
  let peak = before;
  const input = Readable.from(
    (function* () {
      yield Buffer.from(GOOD);
      for (let sent = 0; sent < longBytes; sent += piece.length) {
        peak = Math.max(peak, process.memoryUsage.rss());
        yield piece;
      }
      yield Buffer.from('\n' + flowText);
    })(),
  );
  const { records, stats, error } = await read(input);
  t.equal(error, undefined);
  t.equal(records.length, 1 + FLOWS, 'the line before and every line after are read');
  sameRecords(t, records.slice(1), flowRecords);
  t.equal(stats.malformed, 1);
  t.strictSame(stats.firstMalformed, [{ line: 2, reason: `longer than 8 MiB (${longBytes} bytes), skipped` }]);
  t.equal(stats.lines, 2 + FLOWS);
  t.ok(peak - before < 64 * MiB, `memory grew by ${Math.round((peak - before) / MiB)} MiB for a ${longBytes / MiB} MiB line`);
});

t.test('the cap counts UTF-8 bytes: a line of exactly the cap is read, one byte more is not, however it is chunked', async (t) => {
  const cap = 1000;
  // 'é' is two bytes: the lines are built to an exact byte length with characters that straddle chunk boundaries.
  const line = (bytes: number) => {
    const head = '{"flow":{"verdict":"FORWARDED","Summary":"';
    const tail = '"}}';
    const room = bytes - Buffer.byteLength(head + tail);
    const text = head + 'é'.repeat(Math.floor(room / 2)) + 'x'.repeat(room % 2) + tail;
    t.equal(Buffer.byteLength(text), bytes);
    return text;
  };
  const text = [line(cap), line(cap + 1), line(cap), line(3 * cap), line(cap + 1)].join('\n');
  for (const size of [1, 7, 64, 1001, text.length * 3]) {
    const { records, stats } = await read(chunked(Buffer.from(text), size), { maxLineBytes: cap });
    t.equal(records.length, 2, `chunks of ${size}: the two lines of ${cap} bytes are read`);
    t.strictSame(
      stats.firstMalformed,
      [
        { line: 2, reason: 'longer than 1000 bytes (1001 bytes), skipped' },
        { line: 4, reason: 'longer than 1000 bytes (3000 bytes), skipped' },
        { line: 5, reason: 'longer than 1000 bytes (1001 bytes), skipped' },
      ],
      `chunks of ${size}: the longer ones are reported with their size`,
    );
  }
});

t.test('one stream chunk holding many lines and a long one: each line is checked on its own', async (t) => {
  const text = GOOD + 'y'.repeat(5000) + '\n' + GOOD;
  const { records, stats } = await read(Readable.from([Buffer.from(text)]), { maxLineBytes: 4096 });
  t.equal(records.length, 2);
  t.strictSame(stats.firstMalformed, [{ line: 2, reason: 'longer than 4 KiB (5000 bytes), skipped' }]);
});

t.test('a gzip bomb: decompression streams and the cap applies to the decompressed lines', async (t) => {
  // 512 MiB of zero bytes, no newline: eight copies of one member, read back to back as gzip -d reads them.
  const zeros = gzipSync(Buffer.alloc(64 * MiB));
  const bomb = join(dir, 'bomb.gz');
  writeFileSync(bomb, Buffer.concat([...Array(8).fill(zeros), gzipSync('\n' + flowText)]));
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const { records, stats, error } = await read(bomb);
  clearInterval(timer);
  t.equal(error, undefined);
  sameRecords(t, records, flowRecords, 'every record after the bomb');
  t.strictSame(stats.firstMalformed, [{ line: 1, reason: `longer than 8 MiB (${512 * MiB} bytes), skipped` }]);
  t.ok(peak - before < 96 * MiB, `memory grew by ${Math.round((peak - before) / MiB)} MiB while 512 MiB were inflated`);
});

t.test(
  'observe --input-file /dev/zero: memory stays flat on endless input',
  { skip: existsSync('/proc/self/io') && existsSync('/dev/zero') ? false : 'needs /proc and /dev/zero' },
  async (t) => {
    const child = spawn(process.execPath, [join(root, 'bin/hubble-lab.mjs'), 'observe', '--input-file', '/dev/zero', '-o', 'jsonpb'], { stdio: 'ignore' });
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const proc = (name: string, field: string) => {
      const m = new RegExp(`^${field}:\\s*(\\d+)`, 'm').exec(readFileSync(`/proc/${child.pid}/${name}`, 'utf8'));
      return Number(m?.[1] ?? 0);
    };
    const deadline = Date.now() + 60_000;
    let readBytes = 0;
    while (Date.now() < deadline && child.exitCode === null && (readBytes = proc('io', 'rchar')) < 1024 * MiB) await new Promise((r) => setTimeout(r, 100));
    t.equal(child.exitCode, null, 'still reading');
    const peakKiB = proc('status', 'VmHWM');
    t.ok(readBytes >= 1024 * MiB, `read ${Math.round(readBytes / MiB)} MiB of zeros`);
    t.ok(peakKiB < 320 * 1024, `peak RSS ${Math.round(peakKiB / 1024)} MiB`);
    child.kill('SIGKILL');
  },
);

t.test('--max-line-bytes: observe and analyze take a higher (or lower) cap; a bad value is a usage error', async (t) => {
  const long = JSON.stringify({ flow: { verdict: 'FORWARDED', Summary: 'z'.repeat(9 * MiB) } });
  const file = join(dir, 'long-line.jsonl');
  writeFileSync(file, GOOD + long + '\n' + GOOD);
  const cli = async (args: string[]) => {
    const c = captureIO();
    const code = await main(args, c.io);
    return { code, out: c.out(), err: c.err() };
  };

  const capped = await cli(['observe', '--input-file', file, '-o', 'jsonpb']);
  t.equal(capped.code, 3, 'by default the 9 MiB line is skipped, and the exit says the input was incomplete');
  t.equal(capped.out.trimEnd().split('\n').length, 2);
  t.match(capped.err, `line 2: longer than 8 MiB (${Buffer.byteLength(long)} bytes), skipped`);
  const raised = await cli(['observe', '--input-file', file, '-o', 'jsonpb', '--max-line-bytes', '16MiB']);
  t.equal(raised.code, 0);
  t.equal(raised.out.trimEnd().split('\n').length, 3, 'with 16MiB it is read');
  const lowered = await cli(['observe', '--input-file', file, '-o', 'jsonpb', '--max-line-bytes=40']);
  t.equal(lowered.code, 3);
  t.equal(lowered.out, '');
  t.match(lowered.err, 'line 1: longer than 40 bytes (47 bytes), skipped');

  const out = join(dir, 'analyze');
  const analyzed = await cli(['analyze', '--input', file, '--out', out, '--format', 'json', '--max-line-bytes', '16777216']);
  t.equal(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).totals.flows, 3, `analyze reads the line with the cap raised (exit ${analyzed.code})`);
  const analyzedCapped = await cli(['analyze', '--input', file, '--out', join(dir, 'analyze-capped'), '--format', 'json']);
  t.equal(JSON.parse(readFileSync(join(dir, 'analyze-capped', 'report.json'), 'utf8')).totals.flows, 2, 'and skips it by default');
  t.match(analyzedCapped.err, 'longer than 8 MiB');

  for (const command of [
    ['observe', '--input-file', file],
    ['analyze', '--input', file, '--out', join(dir, 'never')],
    ['relay', '--input', file],
  ]) {
    for (const bad of ['lots', '0', '1TiB', '-5', '1.5MiB']) {
      const r = await cli([...command, '--max-line-bytes', bad]);
      t.equal(r.code, 2, `${command[0]} --max-line-bytes ${bad}`);
      t.match(r.err, `${command[0]}: --max-line-bytes needs a size from 1 byte to 256 MiB, not "${bad}"`);
    }
  }
  t.notOk(existsSync(join(dir, 'never')), 'no reports for a usage error');
  t.equal(DEFAULT_MAX_LINE_BYTES, 8 * MiB);
});

// --- nesting ---

/** A flow whose `time` is null (so its nulls are dropped) and whose field x nests `levels` objects, with a null at the bottom. */
function nested(levels: number): string {
  return `{"flow":{"verdict":"FORWARDED","time":null,"x":${'{"a":'.repeat(levels)}null${'}'.repeat(levels)}}}`;
}

t.test('a line nested thousands deep is malformed, and the read goes on', async (t) => {
  const text = GOOD + nested(5000) + '\n' + flowLines.slice(0, 2000).join('\n') + '\n';
  const { records, stats, error } = await read(Readable.from([text]));
  t.equal(error, undefined);
  t.equal(records.length, 2001, 'the line before and the 2,000 after');
  sameRecords(t, records.slice(1), flowRecords.slice(0, 2000));
  t.strictSame(stats.firstMalformed, [{ line: 2, reason: 'nested too deep (more than 100 levels)' }]);
});

t.test('a line nested thousands deep without a null, in objects or in lists, is malformed too, and the read goes on', async (t) => {
  const deepObject = `{"flow":{"verdict":"FORWARDED","x":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`;
  const deepList = `{"flow":{"source":{"labels":${'['.repeat(100_000)}${']'.repeat(100_000)}}}}`;
  const { records, stats, error } = await read(Readable.from([[GOOD.trimEnd(), deepObject, deepList, flowLines[0]!].join('\n') + '\n']));
  t.equal(error, undefined);
  t.equal(records.length, 2, 'the lines before and after');
  t.strictSame(stats.firstMalformed, [
    { line: 2, reason: 'nested too deep (more than 100 levels)' },
    { line: 3, reason: 'nested too deep (more than 100 levels)' },
  ]);
});

t.test('nesting up to 100 levels is read, nulls dropped at every depth; 101 is too deep', async (t) => {
  // The response is level 1, flow level 2, so x's objects take levels 3 to levels + 2.
  const { records, stats } = await read(Readable.from([nested(98) + '\n' + nested(99) + '\n']));
  t.equal(records.length, 1);
  let depth = 2;
  for (let v = (records[0]!.flow as Record<string, unknown>).x as Record<string, unknown>; v.a !== undefined; v = v.a as Record<string, unknown>) depth++;
  t.equal(depth + 1, 100, 'the deepest object is at level 100');
  t.notOk('time' in records[0]!.flow!, 'the null time is dropped');
  t.strictSame(stats.firstMalformed, [{ line: 2, reason: 'nested too deep (more than 100 levels)' }]);
});

// --- gzip ---

/** What gzip -dc writes for the bytes, and how it exits (undefined when there is no gzip here). */
function gzipDc(bytes: Buffer): { stdout: string; status: number | null; stderr: string } | undefined {
  const r = spawnSync('gzip', ['-dc'], { input: bytes, encoding: 'utf8', maxBuffer: 64 * MiB });
  return r.error ? undefined : { stdout: r.stdout, status: r.status, stderr: r.stderr };
}

t.test('trailing garbage after a gzip member: every record is read, and the garbage is reported', async (t) => {
  const bytes = Buffer.concat([gzipSync(flowText), Buffer.from('this is no gzip data\n')]);
  const file = join(dir, 'garbage.gz');
  writeFileSync(file, bytes);
  for (const input of [file, chunked(bytes, 997), chunked(bytes, bytes.length)]) {
    const { records, stats, error } = await read(input);
    t.equal(error, undefined);
    sameRecords(t, records, flowRecords);
    t.strictSame(stats.firstMalformed, [{ line: FLOWS + 1, reason: 'trailing garbage after gzip member 1, ignored (as gzip -d does)' }]);
    t.equal(stats.lines, FLOWS);
  }
  const gz = gzipDc(bytes);
  if (gz) {
    t.equal(gz.stdout, flowText, 'gzip -dc recovers the same lines');
    t.match(gz.stderr, 'trailing garbage ignored');
  }

  const padded = await read(Readable.from([gzipSync(flowText), Buffer.alloc(4096)]));
  t.equal(padded.records.length, FLOWS);
  t.equal(padded.stats.malformed, 0, 'zero bytes after the data are padding, as gzip takes them');
});

t.test('a truncated gzip yields every complete line before the cut, the same on every run, however it is chunked', async (t) => {
  const full = gzipSync(flowText);
  for (const cut of [5, 9000, Math.floor(full.length / 2), full.length - 4000, full.length - 8, full.length - 1]) {
    const bytes = full.subarray(0, cut);
    // Everything the cut data decodes to; its complete lines are what a reader can give.
    const decodable = cut < 10 ? '' : gunzipSync(bytes, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString('utf8');
    const complete = decodable.split('\n').length - 1;
    const file = join(dir, `cut-${cut}.gz`);
    writeFileSync(file, bytes);
    const inputs: [string, () => ReadInput][] = [
      ['file', () => file],
      ['file again', () => file],
      ['file a third time', () => file],
      ['997-byte chunks', () => chunked(bytes, 997)],
      ['16411-byte chunks', () => chunked(bytes, 16411)],
      ['one chunk', () => chunked(bytes, bytes.length)],
    ];
    for (const [how, input] of inputs) {
      const { records, stats, error } = await read(input());
      t.equal(records.length, complete, `cut at ${cut}, ${how}: ${complete} records`);
      t.type(error, InputError);
      const source = typeof input() === 'string' ? file : '<stream>';
      t.equal((error as Error).message, `${source}: unexpected end of gzip data after line ${complete}`);
      t.equal(stats.lines, complete);
    }
    sameRecords(t, (await read(file)).records, flowRecords.slice(0, complete), `cut at ${cut}: the records before it`);
  }
});

/** A gzip member with every optional header field (extra, name, comment, header CRC), as some tools write them. */
function fullHeaderMember(data: string): Buffer {
  const raw = Buffer.from(data);
  const extra = Buffer.from([0x41, 0x42, 2, 0, 7, 7]);
  const header = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 0x02 | 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 3]),
    Buffer.from([extra.length, 0]),
    extra,
    Buffer.from('flows.json\0comment\0'),
  ]);
  const hcrc = Buffer.alloc(2);
  hcrc.writeUInt16LE(crc32(header) & 0xffff);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(raw) >>> 0, 0);
  trailer.writeUInt32LE(raw.length, 4);
  return Buffer.concat([header, hcrc, deflateRawSync(raw), trailer]);
}

t.test('multi-member files read as gzip -d reads them: members joined, a line may span two', async (t) => {
  const cutAt = flowText.indexOf('\n', 1000) + 20; // inside a line
  const bytes = Buffer.concat([
    gzipSync(flowText.slice(0, cutAt)),
    gzipSync(''),
    fullHeaderMember(flowText.slice(cutAt, 300_000)),
    gzipSync(flowText.slice(300_000)),
  ]);
  const gz = gzipDc(bytes);
  if (gz) t.equal(gz.stdout, flowText, 'gzip -dc reads the members back to back');
  for (const size of [1 << 16, 4093, 31]) {
    const { records, stats, error } = await read(chunked(bytes, size));
    t.equal(error, undefined, `chunks of ${size}`);
    sameRecords(t, records, flowRecords, `chunks of ${size}`);
    t.equal(stats.malformed, 0);
  }
});

t.test('corrupt gzip data: the records before the damage, then an error naming the line', async (t) => {
  const full = gzipSync(flowText);
  const crcBad = Buffer.from(full);
  crcBad[full.length - 8]! ^= 0xff;
  const bad = await read(Readable.from([crcBad]));
  t.equal(bad.records.length, FLOWS, 'a CRC error is found at the end, after every line');
  t.equal((bad.error as Error).message, `<stream>: gzip data is corrupt after line ${FLOWS}: member 1: CRC mismatch`);

  const broken = Buffer.from(full);
  broken.fill(0xff, full.length >> 1, (full.length >> 1) + 64);
  const runs = await Promise.all([1, 2, 3].map(() => read(Readable.from([broken]))));
  for (const r of runs) {
    t.type(r.error, InputError);
    t.match((r.error as Error).message, /^<stream>: gzip data is corrupt after line \d+: member 1: /);
    // Damaged deflate data can decode to junk before zlib notices: those lines are malformed, not records.
    t.equal(r.records.length, runs[0]!.records.length, 'the same records on every run');
    t.equal(r.stats.lines, runs[0]!.stats.lines, 'the same lines on every run');
  }
  sameRecords(t, runs[0]!.records, flowRecords.slice(0, runs[0]!.records.length), 'the records before the damage are intact');

  const method = Buffer.from(full);
  method[2] = 7;
  t.equal((await read(Readable.from([method]))).error instanceof InputError, true);
  t.match(
    ((await read(Readable.from([method]))).error as Error).message,
    '<stream>: gzip data is corrupt after line 0: member 1: unknown compression method 7',
  );
});
