// --since/--until values: Go durations back from now and hubble's date layouts.
import t from 'tap';
import { formatTimestamp } from '../../../lib/hubble/grpc/timestamp.ts';
import { parseGoDuration, parseHubbleTime } from '../../../lib/hubble/filter/time.ts';

const now = new Date('2019-07-01T14:00:00Z');
const at = (text: string) => {
  const ts = parseHubbleTime(text, now);
  return ts && formatTimestamp(ts.seconds, ts.nanos);
};

t.test('Go durations', async (t) => {
  t.equal(parseGoDuration('10s'), 10e9);
  t.equal(parseGoDuration('1h30m'), 5400e9);
  t.equal(parseGoDuration('1.5h'), 5400e9);
  t.equal(parseGoDuration('300ms'), 300e6);
  t.equal(parseGoDuration('2us'), 2000);
  t.equal(parseGoDuration('-5m'), -300e9);
  t.equal(parseGoDuration('0'), 0);
  for (const bad of ['2d', '5', '', 'm', '1h 30m', '.s', 'abc']) t.equal(parseGoDuration(bad), undefined, bad);
});

t.test('relative and absolute times as hubble reads them', async (t) => {
  const cases: [string, string][] = [
    ['10s', '2019-07-01T13:59:50Z'],
    ['5m', '2019-07-01T13:55:00Z'],
    ['20h', '2019-06-30T18:00:00Z'],
    ['1.5s', '2019-07-01T13:59:58.500Z'],
    ['2019-06-30T18:00:00Z', '2019-06-30T18:00:00Z'],
    ['2019-06-30', '2019-06-30T00:00:00Z'],
    ['2019-06-30T18Z', '2019-06-30T18:00:00Z'],
    ['2019-06-30T18:45Z', '2019-06-30T18:45:00Z'],
    ['2019-06-30T18+02:00', '2019-06-30T16:00:00Z'],
    ['2019-06-30T18:45+02:00', '2019-06-30T16:45:00Z'],
    ['2019-06-30T18:45:01.123456789-01:00', '2019-06-30T19:45:01.123456789Z'],
    ['Sun, 30 Jun 2019 18:45:00 +0200', '2019-06-30T16:45:00Z'],
  ];
  for (const [text, want] of cases) t.equal(at(text), want, text);
  for (const bad of ['2019-02-30', '2019-06-30 18:00', 'yesterday', '10000-01-01', '2d']) t.equal(at(bad), undefined, bad);
});
