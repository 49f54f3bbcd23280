import t from 'tap';
import { parseDuration } from '../../lib/lab/duration.ts';

t.test('reads Go durations as milliseconds', async (t) => {
  t.equal(parseDuration('20s', '--duration'), 20_000);
  t.equal(parseDuration('1m30s', '--duration'), 90_000);
  t.equal(parseDuration('500ms', '--duration'), 500);
  t.equal(parseDuration('1.5h', '--duration'), 5_400_000);
  t.equal(parseDuration('250us', '--duration'), 0.25);
});

t.test('a value that is not a duration, or is negative, names the flag', async (t) => {
  for (const text of ['', '20', '20d', '1m30', 's', '-5s', 'abc']) {
    t.throws(() => parseDuration(text, '--duration'), { message: `--duration: "${text}" is not a duration`, hint: 'use e.g. 20s, 1m30s, 500ms' }, text);
  }
});
