// google.protobuf.Timestamp ↔ RFC 3339 strings exactly as Go's protojson prints and parses them.

/** Seconds and nanos since the Unix epoch, as in google.protobuf.Timestamp. */
export interface TimestampParts {
  seconds: number;
  nanos: number;
}

// Flows arrive many per second: the date-and-time part is reused while the second does not change.
let cachedSeconds = NaN;
let cachedPrefix = '';
// A GetFlowsResponse carries its flow's time twice (flow.time and time): the second is the same string.
let lastSeconds = NaN;
let lastNanos = NaN;
let lastText = '';

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * Go protojson: UTC, `Z`, and the fraction trimmed to 0, 3, 6 or 9 digits
 * (e.g. `…:18Z`, `…:18.510Z`, `…:18.510175Z`, `…:18.510175415Z`).
 */
export function formatTimestamp(seconds: number, nanos: number): string {
  if (seconds === lastSeconds && nanos === lastNanos) return lastText;
  lastText = formatUncached(seconds, nanos);
  lastSeconds = seconds;
  lastNanos = nanos;
  return lastText;
}

function formatUncached(seconds: number, nanos: number): string {
  if (seconds !== cachedSeconds) {
    const d = new Date(seconds * 1000);
    cachedPrefix =
      `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
      `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
    cachedSeconds = seconds;
  }
  if (nanos === 0) return cachedPrefix + 'Z';
  if (nanos % 1_000_000 === 0) return `${cachedPrefix}.${pad(nanos / 1_000_000, 3)}Z`;
  if (nanos % 1_000 === 0) return `${cachedPrefix}.${pad(nanos / 1_000, 6)}Z`;
  return `${cachedPrefix}.${pad(nanos, 9)}Z`;
}

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

// Records of the same second share `YYYY-MM-DDTHH:MM:SS`: in the common UTC shape it is parsed once, the fraction per record.
let parsedSecondText = '';
let parsedSecond = 0;

/** Parses RFC 3339 (any offset, 0–9 fractional digits); undefined when the text is not a timestamp. */
export function parseTimestamp(text: string): TimestampParts | undefined {
  const n = text.length;
  // `…:SSZ` or `…:SS.` + 1–9 digits + `Z`, after the same 19 characters as the last one parsed.
  if (
    (n === 20 || (n >= 22 && n <= 30 && text.charCodeAt(19) === 0x2e)) &&
    text.charCodeAt(n - 1) === 0x5a &&
    parsedSecondText !== '' &&
    text.startsWith(parsedSecondText)
  ) {
    let nanos = 0;
    for (let i = 20; i < n - 1; i++) {
      const d = text.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return parseUncached(text);
      nanos = nanos * 10 + d;
    }
    for (let digits = n === 20 ? 9 : n - 21; digits < 9; digits++) nanos *= 10;
    return { seconds: parsedSecond, nanos };
  }
  const ts = parseUncached(text);
  // Remembered only from a UTC time (`Z`), whose seconds are the 19 characters' own.
  if (ts !== undefined && n >= 20 && (text.charCodeAt(n - 1) | 0x20) === 0x7a) {
    parsedSecondText = text.slice(0, 19);
    parsedSecond = ts.seconds;
  }
  return ts;
}

function parseUncached(text: string): TimestampParts | undefined {
  const m = rfc3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return undefined;
  }
  let ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s));
  // Date.UTC maps years 0–99 to 1900–1999.
  if (Number(y) < 100) ms = new Date(ms).setUTCFullYear(Number(y));
  if (new Date(ms).getUTCDate() !== day) return undefined;
  let seconds = ms / 1000;
  if (sign) seconds -= (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60);
  const nanos = frac ? Number(frac.padEnd(9, '0')) : 0;
  return { seconds, nanos };
}

/** Timestamp of a JS millisecond time (Date.now()). */
export function timestampFromMillis(ms: number): TimestampParts {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Nanoseconds since the epoch as a bigint, for ordering and arithmetic without losing precision. */
export function timestampToNanos(t: TimestampParts): bigint {
  return BigInt(t.seconds) * 1_000_000_000n + BigInt(t.nanos);
}
