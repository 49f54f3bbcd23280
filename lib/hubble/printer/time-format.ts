// Timestamps as `hubble observe --time-format NAME` prints them: Go layouts, always in UTC (Timestamp.AsTime is UTC).
import { parseTimestamp, type TimestampParts } from '../grpc/timestamp.ts';

/** hubble's --time-format names; matching is case-insensitive and anything else means StampMilli, as in hubble. */
export const TIME_FORMAT_NAMES = [
  'StampMilli',
  'YearMonthDay',
  'YearMonthDayHour',
  'YearMonthDayHourMinute',
  'RFC3339',
  'RFC3339Milli',
  'RFC3339Micro',
  'RFC3339Nano',
  'RFC1123Z',
] as const;
export type TimeFormatName = (typeof TIME_FORMAT_NAMES)[number];

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
// google.protobuf.Timestamp's valid range: 0001-01-01T00:00:00Z … 9999-12-31T23:59:59Z.
const MIN_SECONDS = -62135596800;
const MAX_SECONDS = 253402300799;

export function timeFormatName(name: string | undefined): TimeFormatName {
  const lower = (name ?? '').toLowerCase();
  return TIME_FORMAT_NAMES.find((n) => n.toLowerCase() === lower) ?? 'StampMilli';
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Go's `.999…` layouts: the fraction cut (not rounded) to `digits`, trailing zeros and a bare dot dropped. */
function trimmedFraction(nanos: number, digits: number): string {
  const cut = pad(nanos, 9).slice(0, digits).replace(/0+$/, '');
  return cut ? `.${cut}` : '';
}

// Records of the same second print the same text up to the fraction: it is formatted once per second and layout.
let cachedSeconds = Number.NaN;
let cachedFormat: TimeFormatName | undefined;
let cachedText = '';

/** The layout's text up to (not including) the fraction, which is all there is in the layouts without one. */
function secondsText(seconds: number, format: TimeFormatName): string {
  const d = new Date(seconds * 1000);
  const Y = pad(d.getUTCFullYear(), 4);
  const M = pad(d.getUTCMonth() + 1, 2);
  const D = pad(d.getUTCDate(), 2);
  const h = pad(d.getUTCHours(), 2);
  const m = pad(d.getUTCMinutes(), 2);
  const s = pad(d.getUTCSeconds(), 2);
  switch (format) {
    case 'StampMilli':
      return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${h}:${m}:${s}`;
    case 'YearMonthDay':
      return `${Y}-${M}-${D}`;
    case 'YearMonthDayHour':
      return `${Y}-${M}-${D}T${h}Z`;
    case 'YearMonthDayHourMinute':
      return `${Y}-${M}-${D}T${h}:${m}Z`;
    case 'RFC3339':
      return `${Y}-${M}-${D}T${h}:${m}:${s}Z`;
    case 'RFC3339Milli':
    case 'RFC3339Micro':
    case 'RFC3339Nano':
      return `${Y}-${M}-${D}T${h}:${m}:${s}`;
    case 'RFC1123Z':
      return `${DAYS[d.getUTCDay()]}, ${D} ${MONTHS[d.getUTCMonth()]} ${Y} ${h}:${m}:${s} +0000`;
  }
}

/** A Timestamp in the named layout, or `N/A` when it is absent or invalid (as hubble prints it). */
export function formatTime(time: string | TimestampParts | undefined, format: TimeFormatName = 'StampMilli'): string {
  const ts = typeof time === 'string' ? parseTimestamp(time) : time;
  if (!ts || ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS || ts.nanos < 0 || ts.nanos >= 1e9) return 'N/A';
  if (ts.seconds !== cachedSeconds || format !== cachedFormat) {
    cachedText = secondsText(ts.seconds, format);
    cachedSeconds = ts.seconds;
    cachedFormat = format;
  }
  switch (format) {
    case 'StampMilli':
      return `${cachedText}.${pad(Math.floor(ts.nanos / 1e6), 3)}`;
    case 'RFC3339Milli':
      return `${cachedText}${trimmedFraction(ts.nanos, 3)}Z`;
    case 'RFC3339Micro':
      return `${cachedText}${trimmedFraction(ts.nanos, 6)}Z`;
    case 'RFC3339Nano':
      return `${cachedText}${trimmedFraction(ts.nanos, 9)}Z`;
    default:
      return cachedText;
  }
}
