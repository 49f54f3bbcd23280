// HTTP rules as Envoy matches them (full-match regexes) and DNS rules as Cilium's DNS proxy matches names.
import t from 'tap';
import { compileDnsRule, compileHttpRule, dnsPatternRegex, dnsRuleAllows, httpRuleAllows } from '../../lib/policy/l7.ts';
import type { HttpRule } from '../../lib/policy/types.ts';

t.test('http: method and path are full-match regexes; an empty rule allows everything', async (t) => {
  const rules: HttpRule[] = [
    { method: 'GET', path: '/public' },
    { method: 'POST|PUT', path: '/api/v[0-9]+/.*' },
  ];
  const cases: [string, string, boolean][] = [
    ['GET', '/public', true],
    ['GET', '/public/', false],
    ['GET', '/publicity', false],
    ['GET', '/public?page=2', false],
    ['get', '/public', false],
    ['HEAD', '/public', false],
    ['POST', '/api/v1/items', true],
    ['PUT', '/api/v12/', true],
    ['POST', '/api/vX/items', false],
    ['DELETE', '/api/v1/items', false],
    ['POSTX', '/api/v1/items', false],
  ];
  for (const [method, path, want] of cases) t.equal(httpRuleAllows(rules, method, path), want, `${method} ${path}`);
  t.equal(httpRuleAllows([{}], 'DELETE', '/anything?x=1'), true);
  t.equal(httpRuleAllows([], 'GET', '/'), false, 'no rules, no request');
});

t.test('http: host and headers', async (t) => {
  const rules: HttpRule[] = [{ host: '(www\\.)?example\\.com', headers: ['X-Token', 'X-Env: prod'] }];
  const base = { host: 'example.com', headers: { 'x-token': 'abc', 'X-Env': 'prod' } };
  t.equal(httpRuleAllows(rules, 'GET', '/', base), true);
  t.equal(httpRuleAllows(rules, 'GET', '/', { ...base, host: 'www.example.com' }), true);
  t.equal(httpRuleAllows(rules, 'GET', '/', { ...base, host: 'evil.example.com' }), false, 'host must match in full');
  t.equal(httpRuleAllows(rules, 'GET', '/', { ...base, headers: { 'X-Env': 'prod' } }), false, 'a required header is missing');
  t.equal(httpRuleAllows(rules, 'GET', '/', { ...base, headers: { 'x-token': '1', 'x-env': ['dev', 'prod'] } }), true, 'names are case-insensitive; any value');
  t.equal(httpRuleAllows(rules, 'GET', '/', { ...base, headers: { 'x-token': '1', 'x-env': 'dev' } }), false, 'value must equal');
  const logged: HttpRule[] = [{ headerMatches: [{ name: 'X-Audit', value: 'yes', mismatch: 'LOG' }, { name: 'X-Need' }] }];
  t.equal(httpRuleAllows(logged, 'GET', '/', { headers: { 'X-Need': '' } }), true, 'a LOG mismatch does not fail the rule');
  t.equal(httpRuleAllows(logged, 'GET', '/', {}), false);
});

t.test('http: rules are validated as RE2 patterns', async (t) => {
  t.same(compileHttpRule({ method: 'GET', path: '', host: null }, 'r'), { method: 'GET' }, 'empty fields mean "all"');
  t.same(compileHttpRule({ path: '(?i)/Admin' }, 'r'), { path: '(?i)/Admin' });
  t.equal(httpRuleAllows([{ path: '(?i)/Admin' }], 'GET', '/ADMIN'), true, 'RE2 (?i) flag');
  t.equal(httpRuleAllows([{ path: '/(?P<id>[0-9]+)' }], 'GET', '/42'), true, 'RE2 named groups');
  t.throws(() => compileHttpRule({ path: '/a(' }, 'spec.ingress[0].toPorts[0].rules.http[0]'), {
    message: /^spec\.ingress\[0\]\.toPorts\[0\]\.rules\.http\[0\]\.path: invalid regular expression "\/a\("/,
  });
  t.throws(() => compileHttpRule({ method: '(?=G)GET' }, 'r'), { message: /not RE2 syntax/ });
  t.throws(() => compileHttpRule({ headers: 'X-A' }, 'r'), { message: 'r.headers: must be a list of strings' });
  t.throws(() => compileHttpRule({ headerMatches: [{ name: 'a', mismatch: 'DROP' }] }, 'r'), { message: /invalid header action: DROP/ });
});

t.test('dns: matchName is exact, case-insensitive, with or without the trailing dot', async (t) => {
  const rules = [{ matchName: 'api.GitHub.com' }];
  t.same(
    ['api.github.com', 'API.GITHUB.COM.', 'x.api.github.com', 'github.com'].map((n) => dnsRuleAllows(rules, n)),
    [true, true, false, false],
  );
});

t.test('dns: matchPattern wildcards as Cilium defines them', async (t) => {
  const cases: [string, string, boolean][] = [
    ['*.cilium.io', 'sub.cilium.io', true],
    ['*.cilium.io', 'cilium.io', false],
    ['*.cilium.io', 'sub.sub.cilium.io', false],
    ['*.cilium.io', 'SUB.Cilium.IO.', true],
    ['part*ial.com', 'partial.com', true],
    ['part*ial.com', 'part-extra-ial.com', true],
    ['part*ial.com', 'part.x.ial.com', false],
    ['**.cilium.io', 'app.cilium.io', true],
    ['**.cilium.io', 'test.app.cilium.io', true],
    ['**.cilium.io', 'cilium.io', false],
    ['*', 'anything.at.all', true],
    ['*', 'x', true],
    ['*.svc.cluster.local', 'web.svc.cluster.local', true],
    ['web.*.svc.cluster.local', 'web.demo.svc.cluster.local', true],
    ['web.*.svc.cluster.local', 'api.demo.svc.cluster.local', false],
  ];
  for (const [pattern, name, want] of cases) t.equal(dnsRuleAllows([{ matchPattern: pattern }], name), want, `${pattern} ~ ${name}`);
  t.equal(String(dnsPatternRegex('*.cilium.io')), '/^[-a-zA-Z0-9_]*[.]cilium[.]io[.]$/', 'the regex Cilium builds');
});

t.test('dns: rules are validated', async (t) => {
  t.throws(() => compileDnsRule({}, 'r'), { message: 'r: needs exactly one of matchName and matchPattern' });
  t.throws(() => compileDnsRule({ matchName: 'a', matchPattern: '*' }, 'r'), { message: 'r: needs exactly one of matchName and matchPattern' });
  t.throws(() => compileDnsRule({ matchName: 'a*.com' }, 'r'), { message: /r\.matchName: invalid name "a\*\.com"/ });
  t.throws(() => compileDnsRule({ matchPattern: '[a].com' }, 'r'), { message: /r\.matchPattern: invalid pattern/ });
});
