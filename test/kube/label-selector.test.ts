// metav1.LabelSelector requirements and matching, as policy evaluation and the sim's API server share them.
import t from 'tap';
import { plainLookup, satisfies, selectorRequirements, type LabelSelector } from '../../lib/kube/label-selector.ts';

const matches = (sel: LabelSelector, labels: Record<string, string> | undefined) => satisfies(selectorRequirements(sel)!, plainLookup(labels));

t.test('matchLabels and every operator, ANDed; an empty selector matches everything', async (t) => {
  const labels = { app: 'api', tier: 'web' };
  const cases: [LabelSelector, boolean][] = [
    [{}, true],
    [{ matchLabels: { app: 'api' } }, true],
    [{ matchLabels: { app: 'api', tier: 'db' } }, false],
    [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['api', 'ui'] }] }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['api'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
    [{ matchLabels: { app: 'api' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
  ];
  for (const [sel, want] of cases) t.equal(matches(sel, labels), want, JSON.stringify(sel));
  t.equal(matches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, undefined), true, 'no labels at all');
  t.equal(matches({ matchLabels: { app: 'api' } }, undefined), false);
});

t.test('a key with several values (Cilium labels from several sources) satisfies In when any value is listed', async (t) => {
  const lookup = (key: string) => (key === 'app' ? ['api', 'web'] : []);
  t.ok(satisfies(selectorRequirements({ matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] })!, lookup));
  t.notOk(satisfies(selectorRequirements({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] })!, lookup));
});

t.test('an unknown operator gives no requirements to match with', async (t) => {
  t.equal(selectorRequirements({ matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }), undefined);
});
