// One container instance's log: the last lines of its stdout and stderr with their timestamps, readable and followable.
import { StringDecoder } from 'node:string_decoder';
import type { LogOptions } from './types.ts';

export interface LogLine {
  /** RFC 3339 time the line was written, as `kubectl logs --timestamps` shows it. */
  time: string;
  text: string;
}

/** Lines kept per container instance; older lines are dropped, as a rotated container log would be. */
export const maxLogLines = 10_000;

export class ContainerLog {
  private lines: LogLine[] = [];
  /** Index in `lines` of the oldest kept line; the array is compacted when half of it is dropped. */
  private start = 0;
  /** How many lines were ever appended, so a follower can tell which ones it has not seen. */
  private total = 0;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  append(text: string): void {
    if (this.closed) return;
    this.lines.push({ time: new Date().toISOString(), text });
    this.total++;
    if (this.lines.length - this.start > maxLogLines) this.start++;
    if (this.start > maxLogLines) {
      this.lines = this.lines.slice(this.start);
      this.start = 0;
    }
    this.wake();
  }

  /** The instance ended: followers finish after the last line. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  get ended(): boolean {
    return this.closed;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private kept(): LogLine[] {
    return this.lines.slice(this.start);
  }

  /** Lines as the pods/log endpoint returns them (one per item, no newline), honouring tail, since and follow. */
  async *read(opts: Omit<LogOptions, 'container' | 'previous'> = {}): AsyncGenerator<string> {
    const format = (l: LogLine) => (opts.timestamps ? `${l.time} ${l.text}` : l.text);
    const since = opts.sinceTime ? Date.parse(opts.sinceTime) : opts.sinceSeconds !== undefined ? Date.now() - opts.sinceSeconds * 1000 : undefined;
    let initial = this.kept();
    if (since !== undefined) initial = initial.filter((l) => Date.parse(l.time) >= since);
    if (opts.tailLines !== undefined) initial = opts.tailLines > 0 ? initial.slice(-opts.tailLines) : [];
    let seen = this.total;
    for (const line of initial) yield format(line);
    if (!opts.follow) return;
    const signal = opts.signal;
    while (!signal?.aborted) {
      if (this.total > seen) {
        const fresh = this.kept().slice(-Math.min(this.total - seen, this.lines.length - this.start));
        seen = this.total;
        for (const line of fresh) yield format(line);
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }
}

/** Splits a byte stream into lines for the log; a last line without newline is kept when the stream ends. */
export function lineSplitter(onLine: (line: string) => void): { write(chunk: Buffer | string): void; end(): void } {
  let pending = '';
  const decoder = new StringDecoder('utf8');
  return {
    write(chunk) {
      pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, nl).replace(/\r$/, ''));
        pending = pending.slice(nl + 1);
      }
    },
    end() {
      pending += decoder.end();
      if (pending) onLine(pending);
      pending = '';
    },
  };
}
