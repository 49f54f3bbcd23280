// hubble --time-format layouts, in UTC, with Go's truncation and trailing-zero rules.
import t from 'tap';
import { TIME_FORMAT_NAMES, formatTime, timeFormatName } from '../../../lib/hubble/printer/time-format.ts';

t.test('every hubble layout for one instant', async (t) => {
  const ts = '2025-03-04T05:06:07.089123456Z';
  const want: Record<(typeof TIME_FORMAT_NAMES)[number], string> = {
    StampMilli: 'Mar  4 05:06:07.089',
    YearMonthDay: '2025-03-04',
    YearMonthDayHour: '2025-03-04T05Z',
    YearMonthDayHourMinute: '2025-03-04T05:06Z',
    RFC3339: '2025-03-04T05:06:07Z',
    RFC3339Milli: '2025-03-04T05:06:07.089Z',
    RFC3339Micro: '2025-03-04T05:06:07.089123Z',
    RFC3339Nano: '2025-03-04T05:06:07.089123456Z',
    RFC1123Z: 'Tue, 04 Mar 2025 05:06:07 +0000',
  };
  for (const name of TIME_FORMAT_NAMES) t.equal(formatTime(ts, name), want[name], name);
});

t.test('fractions are cut, not rounded; .999 layouts drop trailing zeros and a bare dot', async (t) => {
  t.equal(formatTime('2025-03-04T05:06:07.999999999Z', 'StampMilli'), 'Mar  4 05:06:07.999');
  t.equal(formatTime('2025-03-04T05:06:07.5Z', 'RFC3339Milli'), '2025-03-04T05:06:07.5Z');
  t.equal(formatTime('2025-03-04T05:06:07.000001Z', 'RFC3339Milli'), '2025-03-04T05:06:07Z');
  t.equal(formatTime('2025-03-04T05:06:07Z', 'RFC3339Nano'), '2025-03-04T05:06:07Z');
  t.equal(formatTime('2025-03-04T05:06:07Z', 'StampMilli'), 'Mar  4 05:06:07.000');
  t.equal(formatTime('2025-12-25T23:59:59.120Z', 'StampMilli'), 'Dec 25 23:59:59.120');
});

t.test('always printed in UTC, whatever offset the record was written with', async (t) => {
  t.equal(formatTime('2025-03-04T06:06:07+01:00', 'StampMilli'), 'Mar  4 05:06:07.000');
  t.equal(formatTime({ seconds: 1234, nanos: 567800000 }, 'StampMilli'), 'Jan  1 00:20:34.567');
});

t.test('absent or invalid timestamps print as N/A', async (t) => {
  t.equal(formatTime(undefined), 'N/A');
  t.equal(formatTime('yesterday'), 'N/A');
  t.equal(formatTime({ seconds: 0, nanos: 2e9 }), 'N/A');
});

t.test('format names match case-insensitively; anything else is StampMilli', async (t) => {
  t.equal(timeFormatName('rfc3339nano'), 'RFC3339Nano');
  t.equal(timeFormatName('RFC1123Z'), 'RFC1123Z');
  t.equal(timeFormatName('Kitchen'), 'StampMilli');
  t.equal(timeFormatName(undefined), 'StampMilli');
});
