// The numbers the reports print: integers grouped as en-US writes them, without the locale machinery.
import t from 'tap';
import { fmtInt, plural } from '../../lib/report/format.ts';

t.test('fmtInt groups thousands with commas and rounds', async (t) => {
  const cases: [number, string][] = [
    [0, '0'],
    [7, '7'],
    [999, '999'],
    [1000, '1,000'],
    [12345, '12,345'],
    [1234567, '1,234,567'],
    [1234567.5, '1,234,568'],
    [999999.5, '1,000,000'],
    [-1000, '-1,000'],
    [-1234567.4, '-1,234,567'],
    [-0.4, '0'],
    [Number.MAX_SAFE_INTEGER, '9,007,199,254,740,991'],
  ];
  for (const [n, text] of cases) t.equal(fmtInt(n), text, String(n));
  // The same text as Intl's, on numbers where Intl writes no negative zero.
  for (const n of [1, 10, 100, 1e4, 1e5, 1e6, 98765432, -98765432, 3.49, 3.5]) t.equal(fmtInt(n), Math.round(n).toLocaleString('en-US'), `${n} as Intl`);
});

t.test('plural counts with the grouped number', async (t) => {
  t.equal(plural(1, 'flow'), '1 flow');
  t.equal(plural(2048, 'flow'), '2,048 flows');
});
