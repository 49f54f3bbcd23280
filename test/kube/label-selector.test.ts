// metav1.LabelSelector requirements and matching, as policy evaluation and the sim's API server share them.
import t from 'tap';
import { plainLookup, satisfies, selectorRequirements, type LabelSelector } from '../../lib/kube/label-selector.ts';

const matches = (sel: LabelSelector, labels: Record<string, string> | undefined) => satisfies(selectorRequirements(sel)!, plainLookup(labels));

// Every operator over plain labels is covered through policy's labelSelectorMatches (test/policy/selectors.test.ts).
t.test('labels that are not there at all: only DoesNotExist and NotIn hold', async (t) => {
  t.equal(matches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, undefined), true);
  t.equal(matches({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['api'] }] }, undefined), true);
  t.equal(matches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, undefined), false);
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
