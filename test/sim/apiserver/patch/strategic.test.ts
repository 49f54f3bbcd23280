// Strategic merge patch: lists merged by their Kubernetes merge keys, $patch directives, nulls deleting.
import t from 'tap';
import { strategicMergePatch } from '../../../../lib/sim/apiserver/patch/strategic.ts';

const live = {
  metadata: { labels: { a: '1', b: '2' }, finalizers: ['x'] },
  spec: {
    template: {
      spec: {
        containers: [
          {
            name: 'app',
            image: 'app:1',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            ports: [{ containerPort: 80 }],
          },
          { name: 'sidecar', image: 'side:1' },
        ],
        tolerations: [{ key: 'k', operator: 'Exists' }],
      },
    },
  },
};

t.test('merges containers, env and ports by key and keeps what the patch does not name', async (t) => {
  const out: any = strategicMergePatch(live, {
    metadata: { labels: { b: null, c: '3' }, finalizers: ['y'] },
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: 'app',
              image: 'app:2',
              env: [
                { name: 'B', value: 'two' },
                { name: 'C', value: '3' },
              ],
              ports: [{ containerPort: 8080 }],
            },
          ],
        },
      },
    },
  });
  t.same(out.metadata, { labels: { a: '1', c: '3' }, finalizers: ['x', 'y'] });
  const [app, side] = out.spec.template.spec.containers;
  t.same(app, {
    name: 'app',
    image: 'app:2',
    env: [
      { name: 'A', value: '1' },
      { name: 'B', value: 'two' },
      { name: 'C', value: '3' },
    ],
    ports: [{ containerPort: 80 }, { containerPort: 8080 }],
  });
  t.same(side, { name: 'sidecar', image: 'side:1' });
  t.same(live.spec.template.spec.containers[0]!.image, 'app:1', 'the input is not changed');
});

t.test('lists without a merge key are replaced; $patch delete and replace work', async (t) => {
  const out: any = strategicMergePatch(live, {
    spec: {
      template: {
        spec: {
          tolerations: [{ key: 'other', operator: 'Exists' }],
          containers: [{ name: 'sidecar', $patch: 'delete' }],
        },
      },
    },
    metadata: { labels: { $patch: 'replace', only: 'this' } },
  });
  t.same(out.spec.template.spec.tolerations, [{ key: 'other', operator: 'Exists' }]);
  t.same(
    out.spec.template.spec.containers.map((c: any) => c.name),
    ['app'],
  );
  t.same(out.metadata.labels, { only: 'this' });
  const replaced: any = strategicMergePatch(live, { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'new', image: 'n' }] } } } });
  t.same(replaced.spec.template.spec.containers, [{ name: 'new', image: 'n' }]);
  const directives: any = strategicMergePatch(live, {
    '$setElementOrder/containers': [{ name: 'app' }],
    metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] },
  });
  t.same(directives.metadata.finalizers, []);
});
