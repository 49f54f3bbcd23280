// Go regular expressions: the same matches and refusals as Go's regexp, in time linear in the text.
import t from 'tap';
import { compileRe2, Re2Error } from '../../../lib/hubble/filter/re2.ts';

t.test('matches as Go does', async (t) => {
  const cases: [string, string, boolean][] = [
    ['/page/\\d+', '/page/12', true],
    ['^/api/v[12]/', '/api/v2/x', true],
    ['(?i)^/API', '/api', true],
    ['(?s)a.b', 'a\nb', true],
    ['a.b', 'a\nb', false],
    ['a.b', 'a\rb', true],
    ['(?P<id>\\d+)', 'x42', true],
    ['(?<id>\\d+)', 'x42', true],
    ['\\Aabc\\z', 'abc', true],
    ['\\Aabc\\z', 'abc\n', false],
    ['abc$', 'abc\n', false],
    ['[[:digit:]]{3}', 'a123', true],
    ['[[:alpha:]_]+$', 'snake_case', true],
    ['[[:^alpha:]]', 'abc', false],
    ['\\pL', 'é', true],
    ['a(?i)b', 'aB', true],
    ['(?U)a+', 'a', true],
    ['\\Qa.b\\E', 'axb', false],
    ['\\Qa.b\\E', 'a.b', true],
    ['\\x41\\x{42}', 'AB', true],
    ['\\101', 'A', true],
    ['\\s', '\u00a0', false],
    ['\\s', '\t', true],
    ['\\s', '\v', false],
    ['a{2}', 'aa', true],
    ['a{', 'a{', true],
    ['[]a]', ']', true],
    ['\\-\\:', '-:', true],
    // Literal patterns take the string-search path: the same answers.
    ['/api/v1/', '/x/api/v1/tasks', true],
    ['^/api/v1/', '/x/api/v1/tasks', false],
    ['^/healthz$', '/healthz', true],
    ['^/healthz$', '/healthz/', false],
    ['.*\\.svc\\.cluster\\.local', 'db.svc.cluster.local', true],
    ['.*\\.svc\\.cluster\\.local', 'dbxsvcxcluster.local', false],
    ['/api/v1/.*', '/api/v1', false],
    ['/api/v1/.*', '/api/v1/', true],
    ['^.*x', 'a\nx', false],
    ['x.*$', 'x\na', false],
    ['\\\\$', 'a\\', true],
    ['\\\\z', 'a\\z', true],
    ['', 'anything', true],
    ['^$', '', true],
  ];
  for (const [pattern, text, want] of cases) t.equal(compileRe2(pattern).test(text), want, `${pattern} ~ ${JSON.stringify(text)}`);
});

t.test('refuses what Go refuses, with Go’s message', async (t) => {
  for (const bad of ['(?=a)', '(?!a)', '(?<=a)', '(?<!a)', '(a)\\1', '\\8', '\\y', '\\C', 'a{1001}', '(', '[a', 'a**', '[[:nope:]]', '[z-a]']) {
    t.throws(() => compileRe2(bad), Re2Error, bad);
  }
  t.throws(() => compileRe2('a('), { message: 'missing closing ): `a(`' });
});

t.test('patterns that would cost a server dearly are refused, with a short message', async (t) => {
  t.throws(() => compileRe2('('.repeat(200_000)), { name: 'Re2Error', message: 'expression too long: 200000 characters, at most 1024' });
  t.throws(() => compileRe2('[a-z]{1,100}'.repeat(50)), { name: 'Re2Error', message: /^expression too large: \d+ instructions, at most 5000$/ });
  const err = t.throws(() => compileRe2(`${'('.repeat(1000)}[`)) as Error;
  t.ok(err.message.length < 400, `${err.message.length} characters`);
  t.doesNotThrow(() => compileRe2('^/api/v[0-9]+/(users|orders)/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'));
  t.doesNotThrow(() => compileRe2('x'.repeat(1024)));
});

t.test('a pattern that backtracks exponentially in JavaScript runs in linear time', async (t) => {
  const texts = ['a'.repeat(20_000), `http://x/${'ab'.repeat(10_000)}`, `/${'a'.repeat(5000)}!`];
  const start = performance.now();
  const hostile = compileRe2('(.|\\w)*!');
  const nested = compileRe2('(a+)+$b');
  const answers = texts.map((s) => [hostile.test(s), nested.test(s)]);
  const ms = performance.now() - start;
  t.same(answers, [
    [false, false],
    [false, false],
    [true, false],
  ]);
  // JavaScript's RegExp does not finish the first of these within minutes; the bound only catches a regression.
  t.ok(ms < 5000, `${ms.toFixed(0)} ms`);
});
