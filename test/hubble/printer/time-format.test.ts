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

t.test('records of one second in a row: each printed from its own fraction and offset, in every layout', async (t) => {
  // The second's text is reused between consecutive records: what changes after it must still be read each time.
  const second = '2025-03-04T05:06:07';
  const texts = [
    `${second}.1Z`,
    `${second}.123456789Z`,
    `${second}Z`,
    `${second}.000000001Z`,
    `${second}.5+01:00`,
    `${second}.25z`,
    `${second}.x1Z`,
    `${second}.1234567890Z`,
    `${second}.Z`,
    `${second}.999Z`,
  ];
  const want = [
    'Mar  4 05:06:07.100',
    'Mar  4 05:06:07.123',
    'Mar  4 05:06:07.000',
    'Mar  4 05:06:07.000',
    'Mar  4 04:06:07.500',
    'Mar  4 05:06:07.250',
    'N/A',
    'N/A',
    'N/A',
    'Mar  4 05:06:07.999',
  ];
  t.same(
    texts.map((s) => formatTime(s, 'StampMilli')),
    want,
  );
  t.same(
    texts.map((s) => formatTime(s, 'RFC3339Nano')),
    [
      '2025-03-04T05:06:07.1Z',
      '2025-03-04T05:06:07.123456789Z',
      '2025-03-04T05:06:07Z',
      '2025-03-04T05:06:07.000000001Z',
      '2025-03-04T04:06:07.5Z',
      '2025-03-04T05:06:07.25Z',
      'N/A',
      'N/A',
      'N/A',
      '2025-03-04T05:06:07.999Z',
    ],
  );
  // Alternating layouts and seconds.
  t.equal(formatTime(`${second}.1Z`, 'RFC1123Z'), 'Tue, 04 Mar 2025 05:06:07 +0000');
  t.equal(formatTime('2025-03-04T05:06:08.2Z', 'RFC1123Z'), 'Tue, 04 Mar 2025 05:06:08 +0000');
  t.equal(formatTime('2025-03-04T05:06:08.2Z', 'YearMonthDayHourMinute'), '2025-03-04T05:06Z');
  t.equal(formatTime(`${second}.3Z`, 'RFC3339Milli'), '2025-03-04T05:06:07.3Z');
});
