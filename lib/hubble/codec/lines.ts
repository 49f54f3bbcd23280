// The byte and line layer of the flow readers: opens a path, stdin or stream, gunzips it when its magic bytes say
// so, and splits it into lines no longer than a cap. What a line means is read.ts's concern.
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { constants as zlibConstants, crc32, createInflateRaw, type InflateRaw } from 'node:zlib';
import type { OptionSpec } from '../../args.ts';
import { InputError, UsageError } from '../../errors.ts';

/**
 * A path (`-` is stdin), a stream, a stream with the name to use for it in messages, or a byte range of a plain
 * (not gzip) file that starts and ends at line boundaries: one part of a file read on several threads.
 */
export type ReadInput = string | NodeJS.ReadableStream | { stream: NodeJS.ReadableStream; name: string } | FileRange;

/** Bytes [start, end) of a plain file; the caller has checked that the file is not gzip. */
export interface FileRange {
  path: string;
  start: number;
  end: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Hubble refuses a gRPC message over 4 MiB, so no record it wrote is longer; 8 MiB leaves room for exports that
 * re-indent or re-encode a record, and still bounds what one line can cost.
 */
export const DEFAULT_MAX_LINE_BYTES = 8 * MiB;

/** A line is held as one string; V8 strings stop at about 512 Mi characters, and JSON.parse needs several times that. */
export const MAX_MAX_LINE_BYTES = 256 * MiB;

export interface LineOptions {
  /** Lines longer than this many bytes are skipped unread and reported (default DEFAULT_MAX_LINE_BYTES). */
  maxLineBytes?: number;
}

/** Where the lines of an input go, as they are split. */
export interface LineSink {
  /** One line, without its newline; lineNo is 1-based in the (decompressed) input. */
  line(text: string, lineNo: number): void;
  /** A line that is not handed on (longer than the cap), or what follows the last line (trailing garbage). */
  malformed(lineNo: number, reason: string): void;
}

export interface OpenedLines {
  /** The path read, or `<stdin>` / `<stream>`. */
  source: string;
  /**
   * Hands every line to the sink, in order, and yields the number of lines so far after each input chunk: a
   * consumer collects what the lines of a chunk produced and passes it on at each step. A failure to read (a
   * truncated or corrupt gzip, an I/O error) throws InputError naming the input and the last line read, after
   * every complete line before it has been handed on.
   */
  read(sink: LineSink, linesBefore?: number): AsyncGenerator<number>;
}

/** Opens the input: a path that cannot be read throws InputError naming it. */
export async function openLines(input: ReadInput, options: LineOptions = {}): Promise<OpenedLines> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!(Number.isSafeInteger(maxLineBytes) && maxLineBytes > 0)) throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
  const { stream, source, close, plain } = await openInput(input);
  return { source, read: (sink, linesBefore = 0) => splitLines(stream, source, close, sink, linesBefore, maxLineBytes, plain) };
}

/** The --max-line-bytes flag of the commands that read flow files. */
export const maxLineBytesOption: OptionSpec = {
  name: 'max-line-bytes',
  type: 'string',
  valueName: 'SIZE',
  group: 'Source',
  description: `skip input lines longer than this (default ${formatBytes(DEFAULT_MAX_LINE_BYTES)}; e.g. 64MiB, at most ${formatBytes(MAX_MAX_LINE_BYTES)})`,
};

/** The value of --max-line-bytes: bytes, or a number with KiB, MiB or GiB; undefined when the flag is absent. */
export function parseMaxLineBytes(value: string | undefined, command: string): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$/i.exec(value);
  const unit = m?.[2]?.toLowerCase();
  const bytes = m === null ? NaN : Number(m[1]) * (unit === 'kib' ? KiB : unit === 'mib' ? MiB : unit === 'gib' ? 1024 * MiB : 1);
  if (!(bytes > 0) || bytes > MAX_MAX_LINE_BYTES) {
    throw new UsageError(`${command}: --max-line-bytes needs a size from 1 byte to ${formatBytes(MAX_MAX_LINE_BYTES)}, not "${value}"`, {
      hint: `e.g. --max-line-bytes 64MiB (the default is ${formatBytes(DEFAULT_MAX_LINE_BYTES)})`,
    });
  }
  return bytes;
}

function formatBytes(n: number): string {
  if (n % MiB === 0) return `${n / MiB} MiB`;
  if (n % KiB === 0) return `${n / KiB} KiB`;
  return `${n} bytes`;
}

// Large stream chunks are split so that one chunk never decodes into more than this much text at once.
const SLICE_BYTES = 1 << 16;

async function* splitLines(
  stream: NodeJS.ReadableStream,
  source: string,
  close: () => Promise<void>,
  sink: LineSink,
  linesBefore: number,
  maxLineBytes: number,
  plain: boolean,
): AsyncGenerator<number> {
  const decoder = new StringDecoder('utf8');
  // A line of at most this many UTF-16 units is within the cap whatever its characters (at most 3 bytes each).
  const surelyShort = Math.floor(maxLineBytes / 3);
  const tooLong = (bytes: number) => `longer than ${formatBytes(maxLineBytes)} (${bytes} bytes), skipped`;
  const emit = (text: string) => {
    const bytes = text.length > surelyShort ? Buffer.byteLength(text) : 0;
    if (bytes > maxLineBytes) sink.malformed(++lineNo, tooLong(bytes));
    else sink.line(text, ++lineNo);
  };
  // The current unterminated line: its text as parts (so a long line is joined once), and its size in bytes.
  let pending: string[] = [];
  let pendingBytes = 0;
  // Bytes of a line already over the cap, counted while the rest of it is passed over; -1 when there is none.
  let skipping = -1;
  let lineNo = linesBefore;
  let trailing: string | undefined;
  try {
    for await (const chunk of plain ? plainChunks(stream) : decompressed(stream, (what) => (trailing = what))) {
      for (let offset = 0; offset < chunk.length; offset += SLICE_BYTES) {
        let bytes = chunk.length <= SLICE_BYTES ? chunk : chunk.subarray(offset, offset + SLICE_BYTES);
        if (skipping >= 0) {
          const nl = bytes.indexOf(0x0a);
          if (nl === -1) {
            skipping += bytes.length;
            continue;
          }
          sink.malformed(++lineNo, tooLong(skipping + nl));
          skipping = -1;
          bytes = bytes.subarray(nl + 1);
        }
        const text = decoder.write(bytes);
        let start = 0;
        let nl = text.indexOf('\n');
        if (nl !== -1) {
          if (pending.length > 0) {
            pending.push(text.slice(0, nl));
            emit(pending.join(''));
            pending = [];
            start = nl + 1;
            nl = text.indexOf('\n', start);
          }
          pendingBytes = 0;
        }
        while (nl !== -1) {
          emit(text.slice(start, nl));
          start = nl + 1;
          nl = text.indexOf('\n', start);
        }
        if (start < text.length) pending.push(start === 0 ? text : text.slice(start));
        // A newline byte is never part of a longer UTF-8 sequence, so the bytes after the last one are the tail's.
        const lastNl = start === 0 ? -1 : bytes.lastIndexOf(0x0a);
        pendingBytes += bytes.length - lastNl - 1;
        if (pendingBytes > maxLineBytes) {
          skipping = pendingBytes;
          pending = [];
          pendingBytes = 0;
          decoder.end();
        }
        yield lineNo;
      }
    }
    if (skipping >= 0) {
      sink.malformed(++lineNo, tooLong(skipping));
    } else {
      pending.push(decoder.end());
      const last = pending.join('');
      if (last.length > 0) emit(last);
    }
    if (trailing !== undefined) sink.malformed(lineNo + 1, trailing);
    yield lineNo;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${source}: ${readFailure(err, lineNo)}`, {
      hint: 'the records before this point were read; re-export the flows, or decompress the file to check it',
      cause: err,
    });
  } finally {
    await close();
  }
}

function readFailure(err: unknown, lineNo: number): string {
  if (!(err instanceof GzipError)) return `reading failed after line ${lineNo}: ${errorText(err)}`;
  return err.truncated ? `unexpected end of gzip data after line ${lineNo}` : `gzip data is corrupt after line ${lineNo}: ${err.message}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// --- input: path, stdin or stream ---

interface OpenedInput {
  stream: NodeJS.ReadableStream;
  source: string;
  close: () => Promise<void>;
  /** Read as it is, never gunzipped: a range of a file already known to be plain. */
  plain: boolean;
}

// Files are read 1 MiB at a time: each read through a stream costs about as much as parsing a few lines, so 64 KiB
// reads spent a tenth of the time on reading. The text is still decoded SLICE_BYTES at a time (see splitLines).
const READ_BYTES = 1 << 20;
// 64 KiB of decompressed data at a time: each chunk's text and the batch of records parsed from it die young, which
// V8 frees cheaply; megabyte chunks decode into large-object space, freed only by full collections.
const INFLATE_CHUNK_BYTES = 1 << 16;

async function openInput(input: ReadInput): Promise<OpenedInput> {
  if (typeof input !== 'string') {
    if (isFileRange(input)) return openFile(input.path, input);
    if ('name' in input && 'stream' in input && typeof input.name === 'string')
      return { stream: input.stream, source: input.name, close: async () => {}, plain: false };
    const stream = input as NodeJS.ReadableStream;
    return { stream, source: stream === process.stdin ? '<stdin>' : '<stream>', close: async () => {}, plain: false };
  }
  if (input === '-') return { stream: process.stdin, source: '<stdin>', close: async () => {}, plain: false };
  return openFile(input);
}

function isFileRange(input: ReadInput): input is FileRange {
  return typeof input === 'object' && 'path' in input && typeof (input as FileRange).start === 'number';
}

async function openFile(input: string, range?: FileRange): Promise<OpenedInput> {
  let handle;
  try {
    handle = await open(input, 'r');
    if ((await handle.stat()).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  } catch (err) {
    await handle?.close();
    throw new InputError(`cannot read flows file ${input}: ${describeFsError(err)}`, {
      hint: 'pass the path of a file written by `hubble observe -o jsonpb` (plain or gzip), or - for stdin',
      cause: err,
    });
  }
  // createReadStream's `end` is inclusive; ranges are never empty.
  const stream = handle.createReadStream({ highWaterMark: READ_BYTES, autoClose: true, ...(range ? { start: range.start, end: range.end - 1 } : {}) });
  return {
    stream,
    source: input,
    close: async () => {
      stream.destroy();
      await handle.close().catch(() => {});
    },
    plain: range !== undefined,
  };
}

async function* plainChunks(stream: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  for await (const b of stream as AsyncIterable<Buffer | string>) yield typeof b === 'string' ? Buffer.from(b) : b;
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return errorText(err);
  }
}

// --- gzip, read as gzip -d reads it ---

class GzipError extends Error {
  readonly truncated: boolean;
  constructor(message: string, truncated = false, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.truncated = truncated;
  }
}

/** The input's chunks, with bytes put back in front when a reader took more than it needed. */
class Bytes {
  private readonly it: AsyncIterator<Buffer | string>;
  private readonly front: Buffer[] = [];
  constructor(stream: NodeJS.ReadableStream) {
    this.it = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  }

  async next(): Promise<Buffer | undefined> {
    const b = this.front.pop();
    if (b !== undefined) return b;
    const r = await this.it.next();
    if (r.done) return undefined;
    return typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
  }

  /** Stops reading: the stream is released (destroyed, as a for-await loop left early does). */
  async close(): Promise<void> {
    await this.it.return?.();
  }

  putBack(b: Buffer): void {
    if (b.length > 0) this.front.push(b);
  }

  /** The next bytes, at least n of them unless the input ends first, left unread. */
  async peek(n: number): Promise<Buffer> {
    let head: Buffer = Buffer.alloc(0);
    while (head.length < n) {
      const b = await this.next();
      if (b === undefined) break;
      head = head.length === 0 ? b : Buffer.concat([head, b]);
    }
    this.putBack(head);
    return head;
  }
}

function isGzipMagic(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/**
 * Yields the input's bytes, gunzipped when they start with the gzip magic number 1f 8b. As gzip -d: members
 * follow one another; zero bytes after the last are padding; anything else there is trailing garbage, which is
 * reported through onTrailing and not read. Truncated data yields everything it decodes to, then throws.
 */
async function* decompressed(stream: NodeJS.ReadableStream, onTrailing: (what: string) => void): AsyncGenerator<Buffer> {
  const input = new Bytes(stream);
  try {
    if (!isGzipMagic(await input.peek(2))) {
      for (let b = await input.next(); b !== undefined; b = await input.next()) yield b;
      return;
    }
    for (let member = 1; ; member++) {
      yield* gunzipMember(input, member);
      const next = await input.peek(2);
      if (next.length === 0) return;
      if (isGzipMagic(next)) continue;
      if (!(await onlyZerosLeft(input))) onTrailing(`trailing garbage after gzip member ${member}, ignored (as gzip -d does)`);
      return;
    }
  } finally {
    await input.close();
  }
}

async function onlyZerosLeft(input: Bytes): Promise<boolean> {
  for (let b = await input.next(); b !== undefined; b = await input.next()) {
    for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  }
  return true;
}

// gzip header flags (RFC 1952 2.3.1).
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const MAX_HEADER_BYTES = 1 << 20;

/** The length of the gzip header at the start of b, or 0 when b holds only part of it. */
function headerLength(b: Buffer, member: number): number {
  if (b.length < 10) return 0;
  if (b[2] !== 8) throw new GzipError(`member ${member}: unknown compression method ${b[2]}`);
  const flags = b[3]!;
  if (flags & 0xe0) throw new GzipError(`member ${member}: reserved header flags 0x${flags.toString(16)}`);
  let at = 10;
  if (flags & FEXTRA) {
    if (b.length < at + 2) return 0;
    at += 2 + b.readUInt16LE(at);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const end = at < b.length ? b.indexOf(0, at) : -1;
    if (end === -1) return 0;
    at = end + 1;
  }
  if (flags & FHCRC) at += 2;
  return at <= b.length ? at : 0;
}

// At most this much compressed data is inflated before its output is handed on: deflate expands by at most
// about 1032 times, so what one step holds stays near 16 MiB even for a gzip bomb.
const INFLATE_STEP_BYTES = 1 << 14;

/** Inflates one gzip member from input, checks its trailer, and leaves input at the byte after it. */
async function* gunzipMember(input: Bytes, member: number): AsyncGenerator<Buffer> {
  let head: Buffer = Buffer.alloc(0);
  let size = 0;
  while ((size = headerLength(head, member)) === 0) {
    const b = await input.next();
    if (b === undefined) throw new GzipError(`member ${member}: header cut short`, true);
    head = head.length === 0 ? b : Buffer.concat([head, b]);
    if (head.length > MAX_HEADER_BYTES && headerLength(head, member) === 0) throw new GzipError(`member ${member}: header longer than 1 MiB`);
  }
  input.putBack(head.subarray(size));

  const inflater = new Inflater();
  let crc = 0;
  let length = 0;
  try {
    for (;;) {
      const b = await input.next();
      if (b === undefined) {
        // Flushed with Z_SYNC_FLUSH, so whatever the data decodes to comes out before the end is reported.
        for (const out of await inflater.finish()) yield out;
        inflater.check(member);
        throw new GzipError(`member ${member}: data cut short`, true);
      }
      for (let offset = 0; offset < b.length; offset += INFLATE_STEP_BYTES) {
        const step = b.length <= INFLATE_STEP_BYTES ? b : b.subarray(offset, offset + INFLATE_STEP_BYTES);
        for (const out of await inflater.write(step)) {
          crc = crc32(out, crc);
          length += out.length;
          yield out;
        }
        inflater.check(member);
        if (inflater.unused > 0) {
          // The deflate data ended within this step: the rest of it, and of the chunk, is the trailer and beyond.
          input.putBack(b.subarray(offset + step.length - inflater.unused));
          await checkTrailer(input, member, crc, length);
          return;
        }
      }
    }
  } finally {
    inflater.destroy();
  }
}

async function checkTrailer(input: Bytes, member: number, crc: number, length: number): Promise<void> {
  const trailer = await input.peek(8);
  if (trailer.length < 8) throw new GzipError(`member ${member}: trailer cut short`, true);
  input.putBack((await input.next())!.subarray(8));
  if (trailer.readUInt32LE(0) !== crc >>> 0) throw new GzipError(`member ${member}: CRC mismatch`);
  if (trailer.readUInt32LE(4) !== length % 2 ** 32) throw new GzipError(`member ${member}: length mismatch`);
}

/**
 * Raw inflate driven one step at a time: each write resolves with all the output of that step, so what a
 * damaged file yields does not depend on how its bytes were scheduled.
 */
class Inflater {
  private readonly z: InflateRaw;
  private out: Buffer[] = [];
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private fed = 0;

  constructor() {
    this.z = createInflateRaw({ chunkSize: INFLATE_CHUNK_BYTES, finishFlush: zlibConstants.Z_SYNC_FLUSH });
    // In flowing mode each output buffer is emitted as zlib produces it, before the write completes.
    this.z.on('data', (b: Buffer) => this.out.push(b));
    this.z.on('error', (err: Error) => {
      this.failure ??= err;
      this.wake?.();
    });
    this.z.on('end', () => this.wake?.());
  }

  /** Compressed bytes given but not used: non-zero once the deflate data has ended. */
  get unused(): number {
    return this.fed - this.z.bytesWritten;
  }

  async write(b: Buffer): Promise<Buffer[]> {
    this.fed += b.length;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      this.z.write(b, () => resolve());
    });
    return this.take();
  }

  /** Ends the input: the output of what was given, however the data ends. */
  async finish(): Promise<Buffer[]> {
    if (!this.z.readableEnded) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.z.end();
      });
    }
    return this.take();
  }

  destroy(): void {
    this.z.destroy();
  }

  /** Throws if zlib found the data bad; the output before that point has been taken already. */
  check(member: number): void {
    if (this.failure !== undefined) throw new GzipError(`member ${member}: ${this.failure.message}`, false, this.failure);
  }

  private take(): Buffer[] {
    const out = this.out;
    this.out = [];
    return out;
  }
}
