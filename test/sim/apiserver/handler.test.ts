// The sim API server over HTTPS: auth, discovery, Status errors, CRUD, patches, server-side apply, watch and stats.
import t from 'tap';
import { raw, testCluster, waitFor } from '../helpers.ts';
import { kubeConfigOf } from '../../fixtures/sim-kube.ts';

const cm = (name: string, data: Record<string, string> = { a: '1' }) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
const CM = '/api/v1/namespaces/default/configmaps';

t.test('every request needs the bearer token: 401 Status without it', async (t) => {
  const c = await testCluster(t);
  for (const path of ['/api', '/version', '/api/v1/pods', '/debug/sim/stats']) {
    const r = await raw(c, 'GET', path, { token: null });
    t.equal(r.status, 401, path);
    t.same(r.json, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  }
  t.equal((await raw(c, 'GET', '/api', { token: 'wrong' })).status, 401);
});

t.test('version and legacy discovery name the sim, its resources, kinds, verbs and short names', async (t) => {
  const c = await testCluster(t);
  const v = await raw(c, 'GET', '/version');
  t.match(v.json.gitVersion, /^v1\.\d+\.\d+-hubble-lab-sim$/);
  t.same((await raw(c, 'GET', '/api')).json.versions, ['v1']);
  const groups = (await raw(c, 'GET', '/apis')).json.groups.map((g: any) => g.preferredVersion.groupVersion);
  t.same(groups.sort(), ['apps/v1', 'authorization.k8s.io/v1', 'batch/v1', 'cilium.io/v2', 'coordination.k8s.io/v1', 'networking.k8s.io/v1']);
  const core = (await raw(c, 'GET', '/api/v1')).json;
  const pods = core.resources.find((r: any) => r.name === 'pods');
  t.match(pods, { singularName: 'pod', namespaced: true, kind: 'Pod', shortNames: ['po'], categories: ['all'] });
  t.ok(pods.verbs.includes('watch'));
  t.ok(core.resources.some((r: any) => r.name === 'pods/log'));
  t.ok(core.resources.some((r: any) => r.name === 'pods/portforward'));
  const cilium = (await raw(c, 'GET', '/apis/cilium.io/v2')).json;
  t.match(
    cilium.resources.find((r: any) => r.name === 'ciliumnetworkpolicies'),
    { kind: 'CiliumNetworkPolicy', shortNames: ['cnp', 'ciliumnp'] },
  );
  const deploy = (await raw(c, 'GET', '/apis/apps/v1')).json.resources.find((r: any) => r.name === 'deployments/scale');
  t.match(deploy, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  t.equal((await raw(c, 'GET', '/openapi/v2')).status, 404);
  t.equal((await raw(c, 'GET', '/apis/nope.io/v1')).status, 404);
});

t.test('errors are Kubernetes Status objects with real codes, reasons and messages', async (t) => {
  const c = await testCluster(t);
  const missing = await raw(c, 'GET', `${CM}/nope`);
  t.equal(missing.status, 404);
  t.match(missing.json, {
    kind: 'Status',
    reason: 'NotFound',
    message: 'configmaps "nope" not found',
    details: { name: 'nope', kind: 'configmaps' },
    code: 404,
  });
  const deploy = await raw(c, 'GET', '/apis/apps/v1/namespaces/default/deployments/web');
  t.match(deploy.json, { message: 'deployments.apps "web" not found', details: { group: 'apps', kind: 'deployments' } });

  t.equal((await raw(c, 'POST', CM, { body: cm('x') })).status, 201);
  const dup = await raw(c, 'POST', CM, { body: cm('x') });
  t.match(dup.json, { code: 409, reason: 'AlreadyExists', message: 'configmaps "x" already exists' });

  const live = (await raw(c, 'GET', `${CM}/x`)).json;
  t.equal((await raw(c, 'PUT', `${CM}/x`, { body: { ...live, data: { a: '2' } } })).status, 200);
  const stale = await raw(c, 'PUT', `${CM}/x`, { body: { ...live, data: { a: '3' } } });
  t.match(stale.json, {
    code: 409,
    reason: 'Conflict',
    message: 'Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your changes to the latest version and try again',
  });

  const bad = await raw(c, 'POST', '/apis/apps/v1/namespaces/default/deployments', {
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c' }] } } },
    },
  });
  t.equal(bad.status, 422);
  t.match(bad.json, { reason: 'Invalid', details: { name: 'web', group: 'apps', kind: 'Deployment' } });
  t.match(
    bad.json.message,
    /^Deployment\.apps "web" is invalid: \[spec\.selector: Required value, spec\.template\.spec\.containers\[0\]\.image: Required value\]$/,
  );
  t.same(
    bad.json.details.causes.map((x: any) => x.field),
    ['spec.selector', 'spec.template.spec.containers[0].image'],
  );

  const badName = await raw(c, 'POST', CM, { body: cm('Not_Valid') });
  t.match(badName.json, { code: 422, details: { causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name' }] } });
  t.match((await raw(c, 'POST', '/api/v1/namespaces/nowhere/configmaps', { body: cm('y') })).json, { code: 404, message: 'namespaces "nowhere" not found' });
  t.match((await raw(c, 'PATCH', `${CM}/x`, { body: {}, contentType: 'text/plain' })).json, { code: 415, reason: 'UnsupportedMediaType' });
  t.match((await raw(c, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x', { body: {} })).json, { code: 405, reason: 'MethodNotAllowed' });
  t.match((await raw(c, 'DELETE', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x')).json, { code: 405 });
  t.match((await raw(c, 'POST', CM, { body: '{not json' })).json, { code: 400, reason: 'BadRequest' });
  const noManager = await raw(c, 'PATCH', `${CM}/x`, { body: cm('x'), contentType: 'application/apply-patch+yaml' });
  t.match(noManager.json, { code: 422, message: /fieldManager: Required value/ });
});

t.test('create fills defaults; updates bump resourceVersion only on change and generation only on spec change', async (t) => {
  const c = await testCluster(t);
  const ns = (await raw(c, 'POST', '/api/v1/namespaces', { body: { metadata: { name: 'team' } } })).json;
  t.equal(ns.metadata.labels['kubernetes.io/metadata.name'], 'team');
  t.equal(ns.status.phase, 'Active');
  const ds = (
    await raw(c, 'POST', '/apis/apps/v1/namespaces/team/daemonsets', {
      body: {
        metadata: { name: 'agent' },
        spec: {
          selector: { matchLabels: { a: 'b' } },
          template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
        },
      },
    })
  ).json;
  t.match(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  t.equal(ds.spec.template.spec.containers[0].imagePullPolicy, 'Always');
  t.equal(ds.metadata.generation, 1);
  t.match(ds.metadata.uid, /^[0-9a-f-]{36}$/);
  const np = (
    await raw(c, 'POST', '/apis/networking.k8s.io/v1/namespaces/team/networkpolicies', {
      body: { metadata: { name: 'p' }, spec: { podSelector: {}, egress: [{}] } },
    })
  ).json;
  t.same(np.spec.policyTypes, ['Ingress', 'Egress']);
  const svc = (
    await raw(c, 'POST', '/api/v1/namespaces/team/services', { body: { metadata: { name: 'web' }, spec: { selector: { a: 'b' }, ports: [{ port: 80 }] } } })
  ).json;
  t.match(svc.spec.clusterIP, /^127\.96\.\d+\.\d+$/);
  t.same(svc.spec.clusterIPs, [svc.spec.clusterIP]);
  t.match(svc.spec.ports[0], { port: 80, targetPort: 80, protocol: 'TCP' });
  const job = (
    await raw(c, 'POST', '/apis/batch/v1/namespaces/team/jobs', {
      body: { metadata: { name: 'once' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } },
    })
  ).json;
  t.same(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': job.metadata.uid } });
  t.match(job.spec.template.metadata.labels, { 'batch.kubernetes.io/job-name': 'once', 'job-name': 'once', 'controller-uid': job.metadata.uid });
  t.equal(job.spec.backoffLimit, 6);

  const path = '/apis/apps/v1/namespaces/team/daemonsets/agent';
  const npPath = '/apis/networking.k8s.io/v1/namespaces/team/networkpolicies/p';
  const noop = await raw(c, 'PATCH', npPath, {
    body: { metadata: { labels: {} }, spec: { policyTypes: ['Ingress', 'Egress'] } },
    contentType: 'application/merge-patch+json',
  });
  t.equal(noop.json.metadata.resourceVersion, np.metadata.resourceVersion, 'a no-op patch keeps the resourceVersion');
  const same = await raw(c, 'GET', path);
  const labelled = await raw(c, 'PATCH', path, { body: { metadata: { labels: { x: 'y' } } }, contentType: 'application/merge-patch+json' });
  t.equal(labelled.json.metadata.generation, 1, 'metadata changes leave generation alone');
  t.not(labelled.json.metadata.resourceVersion, same.json.metadata.resourceVersion);
  const changed = await raw(c, 'PATCH', path, {
    body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'busybox:1' }],
    contentType: 'application/json-patch+json',
  });
  t.equal(changed.json.metadata.generation, 2);
  const status = await raw(c, 'PATCH', path, { body: { spec: { minReadySeconds: 5 } }, contentType: 'application/merge-patch+json' });
  t.equal(status.json.metadata.generation, 3);
  t.match((await raw(c, 'PATCH', path, { body: [{ op: 'test', path: '/spec/minReadySeconds', value: 9 }], contentType: 'application/json-patch+json' })).json, {
    code: 422,
  });
});

t.test('strategic merge patch merges containers and env by name, as kubectl rollout restart and set image rely on', async (t) => {
  const c = await testCluster(t);
  const path = '/apis/apps/v1/namespaces/kube-system/daemonsets/cilium';
  const before = (await raw(c, 'GET', path)).json;
  const r = await raw(c, 'PATCH', path, {
    contentType: 'application/strategic-merge-patch+json',
    body: {
      spec: {
        template: {
          metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-01-01T00:00:00Z' } },
          spec: { containers: [{ name: 'cilium-agent', env: [{ name: 'EXTRA', value: '1' }] }] },
        },
      },
    },
  });
  const c0 = r.json.spec.template.spec.containers[0];
  t.equal(c0.image, before.spec.template.spec.containers[0].image, 'other container fields stay');
  t.same(
    c0.env.map((e: any) => e.name),
    ['K8S_NODE_NAME', 'CILIUM_K8S_NAMESPACE', 'EXTRA'],
  );
  t.equal(r.json.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'], '2024-01-01T00:00:00Z');
  t.equal(r.json.metadata.generation, before.metadata.generation + 1);
  const cnp = await raw(c, 'POST', '/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies', {
    body: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'l7' }, spec: { endpointSelector: {} } },
  });
  t.equal(cnp.status, 201);
  t.match(
    (
      await raw(c, 'PATCH', '/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies/l7', {
        body: {},
        contentType: 'application/strategic-merge-patch+json',
      })
    ).json,
    { code: 415 },
  );
});

t.test('server-side apply creates, re-applies without change, records managers and reports conflicts', async (t) => {
  const c = await testCluster(t);
  const apply = (body: unknown, manager: string, force = false) =>
    raw(c, 'PATCH', `${CM}/cfg?fieldManager=${manager}${force ? '&force=true' : ''}`, { body, contentType: 'application/apply-patch+yaml' });
  const created = await apply('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: "1"\n  b: "2"\n', 'lab');
  t.equal(created.status, 201);
  t.match(created.json.metadata.managedFields, [{ manager: 'lab', operation: 'Apply', fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} } } }]);
  const again = await apply(cm('cfg', { a: '1', b: '2' }), 'lab');
  t.equal(again.status, 200);
  t.equal(again.json.metadata.resourceVersion, created.json.metadata.resourceVersion, 're-apply changes nothing');
  t.same(again.json.metadata.managedFields, created.json.metadata.managedFields);

  const other = await raw(c, 'PATCH', `${CM}/cfg?fieldManager=editor`, { body: { data: { a: 'edited' } }, contentType: 'application/merge-patch+json' });
  t.same(
    other.json.metadata.managedFields.map((m: any) => [m.manager, m.operation]),
    [
      ['lab', 'Apply'],
      ['editor', 'Update'],
    ],
  );
  const clash = await apply(cm('cfg', { a: '1', b: '2' }), 'lab');
  t.equal(clash.status, 409);
  t.equal(clash.json.message, 'Apply failed with 1 conflict: conflict with "editor" using v1: .data.a');
  t.match(clash.json.details.causes, [{ reason: 'FieldManagerConflict', field: '.data.a' }]);
  const forced = await apply(cm('cfg', { a: '1' }), 'lab', true);
  t.same(forced.json.data, { a: '1' }, 'forced: takes a back and drops b, which only lab owned');
  t.same(
    forced.json.metadata.managedFields.map((m: any) => m.manager),
    ['lab'],
  );
  // Defaults the server adds (policyTypes, port protocols) do not make a later re-apply a change.
  const np = '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/p?fieldManager=lab';
  const policy =
    'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\nspec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 80\n';
  const p1 = await raw(c, 'PATCH', np, { body: policy, contentType: 'application/apply-patch+yaml' });
  await new Promise((r) => setTimeout(r, 1100));
  const p2 = await raw(c, 'PATCH', np, { body: policy, contentType: 'application/apply-patch+yaml' });
  t.equal(p2.json.metadata.resourceVersion, p1.json.metadata.resourceVersion);
  t.match(
    (
      await raw(c, 'PATCH', `${CM}/other?fieldManager=lab`, {
        body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'other' } },
        contentType: 'application/apply-patch+yaml',
      })
    ).json,
    { code: 400 },
  );
});

t.test('lists filter by label and field selectors; watches replay from a resourceVersion, send bookmarks and 410 when too old', async (t) => {
  const c = await testCluster(t);
  for (const [name, tier] of [
    ['a', 'web'],
    ['b', 'db'],
    ['c', 'web'],
  ]) {
    await raw(c, 'POST', CM, { body: { ...cm(name!), metadata: { name, labels: { tier } } } });
  }
  const names = async (q: string) => (await raw(c, 'GET', `${CM}?${q}`)).json.items.map((i: any) => i.metadata.name);
  t.same(await names('labelSelector=tier%3Dweb'), ['a', 'c']);
  t.same(await names('labelSelector=tier%20in%20(db,cache)'), ['b']);
  t.same(await names('labelSelector=tier,tier!%3Dweb'), ['b']);
  t.same(await names('labelSelector=!tier'), ['kube-root-ca.crt']);
  t.same(await names('fieldSelector=metadata.name%3Dc'), ['c']);
  t.match((await raw(c, 'GET', `${CM}?fieldSelector=spec.nodeName%3Dx`)).json, { code: 400, message: 'field label not supported: spec.nodeName' });
  const pods = (await raw(c, 'GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dsim-worker,status.phase!%3DFailed')).json.items;
  t.ok(pods.length > 0 && pods.every((p: any) => p.spec.nodeName === 'sim-worker'));
  const page = (await raw(c, 'GET', `${CM}?limit=2`)).json;
  t.equal(page.items.length, 2);
  const rest = (await raw(c, 'GET', `${CM}?limit=2&continue=${page.metadata.continue}`)).json;
  t.same(
    [...page.items, ...rest.items].map((i: any) => i.metadata.name),
    ['a', 'b', 'c', 'kube-root-ca.crt'],
  );

  const rv = (await raw(c, 'GET', CM)).json.metadata.resourceVersion;
  await raw(c, 'PATCH', `${CM}/a`, { body: { metadata: { labels: { tier: 'db' } } }, contentType: 'application/merge-patch+json' });
  await raw(c, 'DELETE', `${CM}/b`);
  const replay = await raw(c, 'GET', `${CM}?watch=true&resourceVersion=${rv}&labelSelector=tier%3Dweb&timeoutSeconds=1`);
  const events = replay.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.same(
    events.map((e) => [e.type, e.object.metadata.name]),
    [['DELETED', 'a']],
    'a leaving the selection is a DELETED event',
  );
  const initial = await raw(c, 'GET', `${CM}?watch=1&labelSelector=tier%3Dweb&timeoutSeconds=1`);
  t.same(
    initial.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).type + ' ' + JSON.parse(l).object.metadata.name),
    ['ADDED c'],
  );
  const bookmarked = await raw(c, 'GET', `${CM}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1`);
  const last = JSON.parse(bookmarked.text.trim().split('\n').pop()!);
  t.match(last, { type: 'BOOKMARK', object: { kind: 'ConfigMap', metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
  const tooOld = await raw(c, 'GET', `${CM}?watch=1&resourceVersion=abc&timeoutSeconds=1`);
  t.match(JSON.parse(tooOld.text.trim()), { type: 'ERROR', object: { code: 410, reason: 'Expired', message: /^too old resource version: abc/ } });

  const { Watch } = await import('@kubernetes/client-node');
  const seen: string[] = [];
  const ctl = await new Watch(kubeConfigOf(c)).watch(
    '/api/v1/namespaces/default/configmaps',
    { resourceVersion: (await raw(c, 'GET', CM)).json.metadata.resourceVersion },
    (type, obj) => seen.push(`${type} ${obj.metadata.name}`),
    () => {},
  );
  await raw(c, 'POST', CM, { body: cm('live') });
  await waitFor('watch event', () => seen.length > 0);
  ctl.abort();
  t.same(seen, ['ADDED live']);
});

t.test('stats count requests, mutating ones and verbs; access reviews and dry runs are not mutating', async (t) => {
  const c = await testCluster(t);
  const before = c.stats() as any;
  await raw(c, 'GET', CM);
  await raw(c, 'POST', CM, { body: cm('s') });
  await raw(c, 'POST', `${CM}?dryRun=All`, { body: cm('dry') });
  const review = await raw(c, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'patch', resource: 'configmaps' } } },
  });
  t.equal(review.status, 201);
  t.equal(review.json.status.allowed, true);
  t.equal((await raw(c, 'GET', `${CM}/dry`)).status, 404, 'a dry run stores nothing');
  const stats = (await raw(c, 'GET', '/debug/sim/stats')).json;
  t.equal(stats.requests.total - before.requests.total, 6);
  t.equal(stats.requests.mutating - before.requests.mutating, 1);
  t.equal(stats.requests.byVerb.create - (before.requests.byVerb.create ?? 0), 3);
});
