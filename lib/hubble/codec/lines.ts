// The byte and line layer of the flow readers: opens a path, stdin or stream, gunzips it when its magic bytes say
// so, and splits it into lines. What a line means is read.ts's concern.
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { InputError } from '../../errors.ts';

/** A path (`-` is stdin), a stream, or a stream with the name to use for it in messages. */
export type ReadInput = string | NodeJS.ReadableStream | { stream: NodeJS.ReadableStream; name: string };

/** Where the lines of an input go, as they are split. */
export interface LineSink {
  /** One line, without its newline; lineNo is 1-based in the (decompressed) input. */
  line(text: string, lineNo: number): void;
}

export interface OpenedLines {
  /** The path read, or `<stdin>` / `<stream>`. */
  source: string;
  /**
   * Hands every line to the sink, in order, and yields the number of lines so far after each input chunk: a
   * consumer collects what the lines of a chunk produced and passes it on at each step. A failure to read (a
   * truncated or corrupt gzip, an I/O error) throws InputError naming the input and the last line read, after
   * every line before it has been handed on.
   */
  read(sink: LineSink, linesBefore?: number): AsyncGenerator<number>;
}

/** Opens the input: a path that cannot be read throws InputError naming it. */
export async function openLines(input: ReadInput): Promise<OpenedLines> {
  const { stream, source, close } = await openInput(input);
  return { source, read: (sink, linesBefore = 0) => splitLines(stream, source, close, sink, linesBefore) };
}

async function* splitLines(stream: NodeJS.ReadableStream, source: string, close: () => Promise<void>, sink: LineSink, linesBefore: number): AsyncGenerator<number> {
  const decoder = new StringDecoder('utf8');
  // Text of the current unterminated line, kept as parts so a very long line is joined once.
  let pending: string[] = [];
  let lineNo = linesBefore;
  try {
    for await (const chunk of decompressed(stream)) {
      const text = decoder.write(chunk);
      let start = 0;
      let nl = text.indexOf('\n');
      if (nl !== -1 && pending.length > 0) {
        pending.push(text.slice(0, nl));
        sink.line(pending.join(''), ++lineNo);
        pending = [];
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
      while (nl !== -1) {
        sink.line(text.slice(start, nl), ++lineNo);
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
      if (start < text.length) pending.push(start === 0 ? text : text.slice(start));
      yield lineNo;
    }
    pending.push(decoder.end());
    const last = pending.join('');
    if (last.length > 0) {
      sink.line(last, ++lineNo);
      yield lineNo;
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    const what = err instanceof GzipError ? 'gzip data is truncated or corrupt' : 'reading failed';
    throw new InputError(`${source}: ${what} after line ${lineNo}: ${errorText(err)}`, {
      hint: 'the records before this point were read; re-export the flows, or decompress the file to check it',
      cause: err,
    });
  } finally {
    await close();
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// --- input: path, stdin or stream; gzip by magic bytes ---

interface OpenedInput {
  stream: NodeJS.ReadableStream;
  source: string;
  close: () => Promise<void>;
}

// 64 KiB: each chunk's text and the batch of records parsed from it die young, which V8 frees cheaply;
// megabyte chunks decode into large-object space, freed only by full collections, and cost more CPU.
const CHUNK_BYTES = 1 << 16;

async function openInput(input: ReadInput): Promise<OpenedInput> {
  if (typeof input !== 'string') {
    if ('name' in input && 'stream' in input && typeof input.name === 'string') return { stream: input.stream, source: input.name, close: async () => {} };
    const stream = input as NodeJS.ReadableStream;
    return { stream, source: stream === process.stdin ? '<stdin>' : '<stream>', close: async () => {} };
  }
  if (input === '-') return { stream: process.stdin, source: '<stdin>', close: async () => {} };
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
  const stream = handle.createReadStream({ highWaterMark: CHUNK_BYTES, autoClose: true });
  return {
    stream,
    source: input,
    close: async () => {
      stream.destroy();
      await handle.close().catch(() => {});
    },
  };
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

/** Yields the input's bytes, gunzipped when they start with the gzip magic number 1f 8b. */
async function* decompressed(stream: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  const it = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let head: Buffer = Buffer.alloc(0);
  while (head.length < 2) {
    const r = await it.next();
    if (r.done) break;
    head = head.length === 0 ? toBuffer(r.value) : Buffer.concat([head, toBuffer(r.value)]);
  }
  if (!(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)) {
    if (head.length > 0) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield toBuffer(r.value);
    }
  }
  const compressed = Readable.from(
    (async function* () {
      yield head;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield toBuffer(r.value);
      }
    })(),
    { objectMode: false },
  );
  const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
  compressed.on('error', (err) => gunzip.destroy(err));
  compressed.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    // A failure of the underlying read is passed on as is; only zlib's own errors mean bad gzip data.
    if ((err as NodeJS.ErrnoException).code?.startsWith('Z_') || /unexpected end of file/i.test(errorText(err))) {
      throw new GzipError(errorText(err), { cause: err });
    }
    throw err;
  } finally {
    compressed.destroy();
  }
}

class GzipError extends Error {}

function toBuffer(v: Buffer | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v;
}
