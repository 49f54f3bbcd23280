// spec.replicas is decoded and validated as the API server does: wrong types are refused (400 or 422), negatives are 422.
import t from 'tap';
import { raw, testCluster } from '../helpers.ts';

const DEPLOY = '/apis/apps/v1/namespaces/default/deployments';
const deployment = (replicas: unknown) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] } },
  },
});

t.test('a negative replica count is 422 Invalid on spec.replicas', async (t) => {
  const c = await testCluster(t);
  const r = await raw(c, 'POST', DEPLOY, { body: deployment(-3) });
  t.equal(r.status, 422);
  t.equal(r.json.message, 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -3: must be greater than or equal to 0');
  t.same(r.json.details.causes, [{ reason: 'FieldValueInvalid', message: 'Invalid value: -3: must be greater than or equal to 0', field: 'spec.replicas' }]);
  const rs = await raw(c, 'POST', '/apis/apps/v1/namespaces/default/replicasets', { body: { ...deployment(-1), kind: 'ReplicaSet' } });
  t.equal(rs.status, 422);
  t.match(rs.json.message, /^ReplicaSet\.apps "web" is invalid: spec\.replicas: Invalid value: -1/);
});

t.test('a replica count of the wrong type is refused when the body is decoded', async (t) => {
  const c = await testCluster(t);
  for (const [value, what] of [
    ['three', 'string'],
    [1.5, 'number 1.5'],
    [2 ** 31, 'number 2147483648'],
    [true, 'bool'],
    [{}, 'object'],
  ] as const) {
    const r = await raw(c, 'POST', DEPLOY, { body: deployment(value) });
    t.equal(r.status, 400, what);
    t.equal(
      r.json.message,
      `Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal ${what} into Go struct field DeploymentSpec.spec.replicas of type int32`,
    );
  }
  t.equal((await raw(c, 'POST', DEPLOY, { body: deployment(2) })).status, 201);
  const put = await raw(c, 'PUT', `${DEPLOY}/web`, { body: deployment('3') });
  t.equal(put.status, 400);

  const merge = await raw(c, 'PATCH', `${DEPLOY}/web`, { body: { spec: { replicas: 'three' } }, contentType: 'application/merge-patch+json' });
  t.equal(merge.status, 422);
  t.match(
    merge.json.message,
    /^ "" is invalid: patch: Invalid value: ".*": json: cannot unmarshal string into Go struct field DeploymentSpec\.spec\.replicas of type int32$/,
  );
  const strategic = await raw(c, 'PATCH', `${DEPLOY}/web`, { body: { spec: { replicas: 'three' } }, contentType: 'application/strategic-merge-patch+json' });
  t.equal(strategic.status, 422);
  t.equal(strategic.json.message, ' "" is invalid: patch: Invalid value: "map[spec:map[replicas:three]]": unrecognized type: int32');
  const negative = await raw(c, 'PATCH', `${DEPLOY}/web`, { body: { spec: { replicas: -1 } }, contentType: 'application/merge-patch+json' });
  t.equal(negative.status, 422);
  t.match(negative.json.details.causes, [{ field: 'spec.replicas' }]);

  const scale = await raw(c, 'PUT', `${DEPLOY}/web/scale`, {
    body: { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'web' }, spec: { replicas: 'x' } },
  });
  t.equal(scale.status, 400);
  t.match(scale.json.message, /Go struct field ScaleSpec\.spec\.replicas of type int32/);

  const negativeScale = await raw(c, 'PATCH', `${DEPLOY}/web/scale`, { body: { spec: { replicas: -2 } }, contentType: 'application/merge-patch+json' });
  t.equal(negativeScale.status, 422);
  t.equal(negativeScale.json.message, 'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -2: must be greater than or equal to 0');

  const applied = await raw(c, 'PATCH', `${DEPLOY}/web?fieldManager=test`, {
    body: JSON.stringify(deployment('three')),
    contentType: 'application/apply-patch+yaml',
  });
  t.equal(applied.status, 500);
  t.equal(
    applied.json.message,
    'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string',
  );
  t.equal((await raw(c, 'GET', `${DEPLOY}/web`)).json.spec.replicas, 2, 'nothing was stored');
});
