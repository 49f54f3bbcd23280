// Durations on the command line: `20s`, `1m30s`, `500ms`, `2h` (Go's time.ParseDuration, as hubble takes them).
import { UsageError } from '../errors.ts';
import { parseGoDuration } from '../hubble/filter/time.ts';

/** A duration flag's value in milliseconds; a UsageError naming the flag when it is not a duration or negative. */
export function parseDuration(text: string, flag: string): number {
  const ns = parseGoDuration(text);
  if (ns === undefined || ns < 0) {
    throw new UsageError(`${flag}: "${text}" is not a duration`, { hint: 'use e.g. 20s, 1m30s, 500ms' });
  }
  return ns / 1e6;
}
