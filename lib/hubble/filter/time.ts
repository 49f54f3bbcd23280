// `--since`/`--until` values as hubble reads them: a Go duration back from now, or one of hubble's date layouts.
import { parseTimestamp, type TimestampParts } from '../grpc/timestamp.ts';

const NS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5
  μs: 1e3, // U+03BC
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const durationPart = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;

/** Go's time.ParseDuration, in nanoseconds; undefined when the text is not a duration. */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  durationPart.lastIndex = 0;
  while (durationPart.lastIndex < s.length) {
    const at = durationPart.lastIndex;
    const m = durationPart.exec(s);
    if (!m || m.index !== at) return undefined;
    const [, whole = '', frac, unit] = m;
    if (whole === '' && (frac === undefined || frac === '')) return undefined;
    const perUnit = NS_PER_UNIT[unit!]!;
    total += Number(whole || '0') * perUnit;
    if (frac) total += Number(`0.${frac}`) * perUnit;
  }
  return sign * total;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function utcSeconds(y: number, mo: number, d: number, h: number, mi: number, s: number): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
  date.setUTCFullYear(y);
  if (date.getUTCDate() !== d) return undefined;
  return date.getTime() / 1000;
}

function offsetSeconds(zone: string): number {
  if (zone === 'Z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
}

const dayOnly = /^(\d{4})-(\d{2})-(\d{2})$/;
const hourOrMinute = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})$/;
const rfc1123z = /^([A-Z][a-z]{2}), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

function parseLayouts(text: string): TimestampParts | undefined {
  let m = dayOnly.exec(text);
  if (m) {
    const s = utcSeconds(Number(m[1]), Number(m[2]), Number(m[3]), 0, 0, 0);
    return s === undefined ? undefined : { seconds: s, nanos: 0 };
  }
  m = hourOrMinute.exec(text);
  if (m) {
    const s = utcSeconds(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5] ?? 0), 0);
    return s === undefined ? undefined : { seconds: s - offsetSeconds(m[6]!), nanos: 0 };
  }
  const rfc3339 = parseTimestamp(text);
  if (rfc3339) return rfc3339;
  m = rfc1123z.exec(text);
  if (m && DAYS.includes(m[1]!) && MONTHS.includes(m[3]!)) {
    const s = utcSeconds(Number(m[4]), MONTHS.indexOf(m[3]!) + 1, Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7]));
    if (s === undefined) return undefined;
    const offset = (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10]) * 60);
    return { seconds: s - offset, nanos: 0 };
  }
  return undefined;
}

/**
 * A hubble time argument: first as a Go duration back from `now` (`30s`, `5m`, `1h30m`; Go has no `d` unit),
 * then as `2006-01-02`, `2006-01-02T15Z07:00`, `2006-01-02T15:04Z07:00`, RFC 3339 (any fraction) or RFC 1123Z.
 * Undefined when it is none of them, or outside the years protobuf Timestamps allow (0001–9999).
 */
export function parseHubbleTime(text: string, now: Date): TimestampParts | undefined {
  const ns = parseGoDuration(text);
  let t: TimestampParts | undefined;
  if (ns !== undefined) {
    const totalNs = BigInt(now.getTime()) * 1_000_000n - BigInt(Math.round(ns));
    let seconds = totalNs / 1_000_000_000n;
    let nanos = totalNs % 1_000_000_000n;
    if (nanos < 0n) {
      seconds -= 1n;
      nanos += 1_000_000_000n;
    }
    t = { seconds: Number(seconds), nanos: Number(nanos) };
  } else {
    t = parseLayouts(text);
  }
  if (!t) return undefined;
  // google.protobuf.Timestamp is valid from 0001-01-01 to 9999-12-31.
  if (t.seconds < -62135596800 || t.seconds > 253402300799) return undefined;
  return t;
}
