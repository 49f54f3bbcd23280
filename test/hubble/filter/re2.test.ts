// Go regular expressions in JavaScript: the same matches, and RE2's refusals.
import t from 'tap';
import { compileRe2, Re2Error } from '../../../lib/hubble/filter/re2.ts';

t.test('translates RE2 syntax', async (t) => {
  const cases: [string, string, boolean][] = [
    ['/page/\\d+', '/page/12', true],
    ['^/api/v[12]/', '/api/v2/x', true],
    ['(?i)^/API', '/api', true],
    ['(?s)a.b', 'a\nb', true],
    ['a.b', 'a\nb', false],
    ['(?P<id>\\d+)', 'x42', true],
    ['\\Aabc\\z', 'abc', true],
    ['\\Aabc\\z', 'abc\n', false],
    ['[[:digit:]]{3}', 'a123', true],
    ['[[:alpha:]_]+$', 'snake_case', true],
    ['\\Qa.b\\E', 'axb', false],
    ['\\Qa.b\\E', 'a.b', true],
    ['\\x41\\x{42}', 'AB', true],
    ['\\101', 'A', true],
    ['\\s', '\u00a0', false],
    ['\\s', '\t', true],
    ['a{2}', 'aa', true],
    ['a{', 'a{', true],
    ['[]a]', ']', true],
    ['\\-\\:', '-:', true],
  ];
  for (const [pattern, text, want] of cases) t.equal(compileRe2(pattern).test(text), want, `${pattern} ~ ${JSON.stringify(text)}`);
});

t.test('refuses what RE2 refuses', async (t) => {
  for (const bad of ['(?=a)', '(?!a)', '(?<=a)', '(?<!a)', '(a)\\1', '\\8', '\\y', '\\C', 'a{1001}', '(', '[a', 'a**', '(?U)a', 'a(?i)b', '\\pL', '[[:^alpha:]]', '[[:nope:]]']) {
    t.throws(() => compileRe2(bad), Re2Error, bad);
  }
});
