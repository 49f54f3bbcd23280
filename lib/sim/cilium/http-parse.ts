// Just enough HTTP/1.1 parsing for the sim's L7 proxy: message heads and body framing, on raw bytes it forwards unchanged.

/** How a message body ends (RFC 9112 §6). */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'until-close' };

export interface RequestHead {
  method: string;
  /** The request target as sent (origin form: path and query). */
  target: string;
  host: string | undefined;
  framing: BodyFraming;
  /** The client asked to close after this exchange (Connection: close, or HTTP/1.0 without keep-alive). */
  close: boolean;
  /** Every header, names lower-cased; only filled when asked for (rules that look at headers). */
  headers?: Record<string, string | string[]>;
}

export interface ResponseHead {
  code: number;
  framing: BodyFraming;
  close: boolean;
}

export class HttpParseError extends Error {
  override name = 'HttpParseError';
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Index just past the blank line ending a message head that starts at `from`, or -1 while incomplete. */
export function headEnd(buf: Buffer, from = 0): number {
  const i = buf.indexOf(CRLFCRLF, from);
  return i < 0 ? -1 : i + 4;
}

const noBody: BodyFraming = { kind: 'none' };
const chunked: BodyFraming = { kind: 'chunked' };
const untilClose: BodyFraming = { kind: 'until-close' };

interface Fields {
  contentLength: string | undefined;
  transferEncoding: string | undefined;
  connection: string | undefined;
  host: string | undefined;
}

/**
 * Walks the header lines of `text` (after the start line), picking out the framing fields without building a map;
 * `all` receives every header when given.
 */
function readFields(text: string, start: number, all: Record<string, string | string[]> | undefined): Fields {
  const f: Fields = { contentLength: undefined, transferEncoding: undefined, connection: undefined, host: undefined };
  let pos = start;
  const end = text.length - 4;
  while (pos < end) {
    let eol = text.indexOf('\r\n', pos);
    if (eol < 0 || eol > end) eol = end;
    const colon = text.indexOf(':', pos);
    if (colon < 0 || colon > eol) throw new HttpParseError(`malformed header line ${JSON.stringify(text.slice(pos, eol))}`);
    const nameLength = colon - pos;
    const value = text.slice(colon + 1, eol).trim();
    // Only the framing headers matter here; compare by length first so most lines cost no string work.
    if (nameLength === 4 || nameLength === 10 || nameLength === 14 || nameLength === 17 || all) {
      const name = text.slice(pos, colon).toLowerCase();
      if (name === 'host') f.host = value;
      else if (name === 'content-length') {
        if (f.contentLength !== undefined && f.contentLength !== value) throw new HttpParseError('conflicting Content-Length headers');
        f.contentLength = value;
      } else if (name === 'transfer-encoding') f.transferEncoding = f.transferEncoding ? `${f.transferEncoding}, ${value}` : value;
      else if (name === 'connection') f.connection = f.connection ? `${f.connection}, ${value}` : value;
      if (all) {
        const known = all[name];
        all[name] = known === undefined ? value : Array.isArray(known) ? [...known, value] : [known, value];
      }
    }
    pos = eol + 2;
  }
  return f;
}

function hasToken(list: string | undefined, token: string): boolean {
  if (!list) return false;
  return list.split(',').some((t) => t.trim().toLowerCase() === token);
}

function contentLength(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new HttpParseError(`invalid Content-Length ${JSON.stringify(value)}`);
  return Number(value);
}

function isChunked(transferEncoding: string): boolean {
  const codings = transferEncoding.split(',');
  return codings[codings.length - 1]!.trim().toLowerCase() === 'chunked';
}

/** Parses a request head (the bytes up to and including the blank line, as latin1 text). */
export function parseRequestHead(text: string, withHeaders = false): RequestHead {
  const lineEnd = text.indexOf('\r\n');
  const line = text.slice(0, lineEnd);
  const sp1 = line.indexOf(' ');
  const sp2 = line.lastIndexOf(' ');
  if (sp1 <= 0 || sp2 <= sp1 + 1) throw new HttpParseError(`malformed request line ${JSON.stringify(line.slice(0, 200))}`);
  const version = line.slice(sp2 + 1);
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') throw new HttpParseError(`unsupported protocol ${JSON.stringify(version.slice(0, 20))}`);
  const headers = withHeaders ? {} : undefined;
  const f = readFields(text, lineEnd + 2, headers);
  let framing: BodyFraming = noBody;
  if (f.transferEncoding !== undefined) {
    // A request whose last coding is not chunked has no determinable length (RFC 9112 §6.3): refuse it.
    if (!isChunked(f.transferEncoding)) throw new HttpParseError(`unsupported Transfer-Encoding ${JSON.stringify(f.transferEncoding)}`);
    framing = chunked;
  } else if (f.contentLength !== undefined) {
    const length = contentLength(f.contentLength);
    framing = length > 0 ? { kind: 'length', length } : noBody;
  }
  const close = version === 'HTTP/1.0' ? !hasToken(f.connection, 'keep-alive') : hasToken(f.connection, 'close');
  return { method: line.slice(0, sp1), target: line.slice(sp1 + 1, sp2), host: f.host, framing, close, ...(headers ? { headers } : {}) };
}

/** Parses a response head; the request's method decides whether a body follows (HEAD never has one). */
export function parseResponseHead(text: string, requestMethod: string): ResponseHead {
  const lineEnd = text.indexOf('\r\n');
  if (!text.startsWith('HTTP/1.')) throw new HttpParseError(`malformed status line ${JSON.stringify(text.slice(0, Math.min(lineEnd, 200)))}`);
  const code = Number(text.slice(9, 12));
  if (!Number.isInteger(code) || code < 100 || code > 999)
    throw new HttpParseError(`malformed status line ${JSON.stringify(text.slice(0, Math.min(lineEnd, 200)))}`);
  const f = readFields(text, lineEnd + 2, undefined);
  const http10 = text.startsWith('HTTP/1.0');
  let close = http10 ? !hasToken(f.connection, 'keep-alive') : hasToken(f.connection, 'close');
  let framing: BodyFraming;
  if (requestMethod === 'HEAD' || code < 200 || code === 204 || code === 304) framing = noBody;
  else if (f.transferEncoding !== undefined) framing = isChunked(f.transferEncoding) ? chunked : untilClose;
  else if (f.contentLength !== undefined) {
    const length = contentLength(f.contentLength);
    framing = length > 0 ? { kind: 'length', length } : noBody;
  } else framing = untilClose;
  if (framing === untilClose) close = true;
  return { code, framing, close };
}

const enum Chunk {
  Size,
  Data,
  DataEnd,
  Trailer,
  Done,
}

/**
 * Finds where a body ends in the bytes that follow its head, chunk by chunk as they arrive, without copying:
 * `consume` says how many bytes of the buffer belong to the body.
 */
export class BodyReader {
  private remaining = 0;
  private state: Chunk = Chunk.Size;
  /** Part of a chunk-size or trailer line cut by a chunk boundary. */
  private line = '';
  done: boolean;

  constructor(private readonly framing: BodyFraming) {
    this.done = framing.kind === 'none';
    if (framing.kind === 'length') this.remaining = framing.length;
  }

  /** Bytes of buf from `start` on that belong to the body; sets `done` when the body ends inside them. */
  consume(buf: Buffer, start: number): number {
    if (this.done) return 0;
    const f = this.framing;
    if (f.kind === 'until-close') return buf.length - start;
    if (f.kind === 'length') {
      const n = Math.min(this.remaining, buf.length - start);
      this.remaining -= n;
      if (this.remaining === 0) this.done = true;
      return n;
    }
    let pos = start;
    while (pos < buf.length && this.state !== Chunk.Done) {
      switch (this.state) {
        case Chunk.Size:
        case Chunk.Trailer: {
          const lf = buf.indexOf(10, pos);
          if (lf < 0) {
            this.line += buf.toString('latin1', pos);
            if (this.line.length > 4096) throw new HttpParseError('chunk size line too long');
            pos = buf.length;
            break;
          }
          const text = (this.line + buf.toString('latin1', pos, lf)).replace(/\r$/, '');
          this.line = '';
          pos = lf + 1;
          if (this.state === Chunk.Trailer) {
            if (text === '') this.state = Chunk.Done;
            break;
          }
          const semi = text.indexOf(';');
          const hex = (semi < 0 ? text : text.slice(0, semi)).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new HttpParseError(`invalid chunk size ${JSON.stringify(hex.slice(0, 20))}`);
          this.remaining = parseInt(hex, 16);
          this.state = this.remaining === 0 ? Chunk.Trailer : Chunk.Data;
          break;
        }
        case Chunk.Data: {
          const n = Math.min(this.remaining, buf.length - pos);
          this.remaining -= n;
          pos += n;
          if (this.remaining === 0) {
            this.state = Chunk.DataEnd;
            this.remaining = 2;
          }
          break;
        }
        case Chunk.DataEnd: {
          const n = Math.min(this.remaining, buf.length - pos);
          this.remaining -= n;
          pos += n;
          if (this.remaining === 0) this.state = Chunk.Size;
          break;
        }
      }
    }
    if (this.state === Chunk.Done) this.done = true;
    return pos - start;
  }

  /** The peer closed: a body read until close ends here; any other unfinished body was cut short. */
  end(): boolean {
    if (this.framing.kind === 'until-close') this.done = true;
    return this.done;
  }
}
