// Label and field selectors as kubectl sends them: equality, set-based, existence, and the errors for bad ones.
import t from 'tap';
import { fieldMatcher, labelMatcher, selectorMatcher, selectorString } from '../../../lib/sim/apiserver/selectors.ts';

t.test('string label selectors', async (t) => {
  const labels = { app: 'web', tier: 'frontend', 'app.kubernetes.io/name': 'shop' };
  const cases: [string, boolean][] = [
    ['app=web', true],
    ['app==web,tier=frontend', true],
    ['app!=web', false],
    ['app!=db', true],
    ['tier in (frontend, backend)', true],
    ['tier notin (frontend)', false],
    ['missing notin (x)', true],
    ['app.kubernetes.io/name', true],
    ['!app', false],
    ['!missing,app in (web)', true],
    ['missing', false],
    ['', true],
  ];
  for (const [sel, want] of cases) t.equal(labelMatcher(sel)(labels), want, sel);
  t.throws(() => labelMatcher('app in web'), { message: /unable to parse requirement/ });
  t.throws(() => labelMatcher('tier in (a'), { message: /missing "\)"/ });
});

t.test('LabelSelector objects: an empty one selects everything, a missing one nothing', async (t) => {
  t.equal(selectorMatcher({})({ a: 'b' }), true);
  t.equal(selectorMatcher(undefined)({ a: 'b' }), false);
  const sel = {
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['a', 'b'] },
      { key: 'legacy', operator: 'DoesNotExist' },
    ],
  };
  t.equal(selectorMatcher(sel)({ app: 'web', tier: 'b' }), true);
  t.equal(selectorMatcher(sel)({ app: 'web', tier: 'b', legacy: '' }), false);
  t.equal(selectorString(sel), 'app=web,tier in (a,b),!legacy');
});

t.test('field selectors accept the fields the resource supports', async (t) => {
  const pod = { metadata: { name: 'p', namespace: 'n' }, spec: { nodeName: 'sim-worker' }, status: { phase: 'Running' } };
  t.equal(fieldMatcher('metadata.name=p,spec.nodeName=sim-worker', ['spec.nodeName'])(pod), true);
  t.equal(fieldMatcher('status.phase!=Running', ['status.phase'])(pod), false);
  t.equal(fieldMatcher('spec.nodeName=', ['spec.nodeName'])({ metadata: { name: 'x' } }), true, 'empty value matches an unset field');
  t.throws(() => fieldMatcher('spec.nodeName=x', []), { message: 'field label not supported: spec.nodeName' });
});
