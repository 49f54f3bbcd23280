// Durations on the command line: `20s`, `1m30s`, `500ms`, `2h` (Go's time.ParseDuration units, as hubble takes them).
import { UsageError } from '../errors.ts';

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string, flag: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * unitMs[m[2]!]!;
    matched = re.lastIndex;
  }
  if (!text || matched !== text.length) {
    throw new UsageError(`${flag}: "${text}" is not a duration`, { hint: 'use e.g. 20s, 1m30s, 500ms' });
  }
  return total;
}
