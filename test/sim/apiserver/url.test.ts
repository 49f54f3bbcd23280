// Malformed URLs are the client's error: bad percent-escapes and impossible selectors get a 400 Status, not a 500 or a 200.
import t from 'tap';
import { request } from 'node:https';
import { raw, testCluster } from '../helpers.ts';

t.test('a malformed percent-escape in a path is a 400 BadRequest Status', async (t) => {
  const c = await testCluster(t);
  for (const path of ['/api/v1/namespaces/%ZZ/pods', '/api/v1/namespaces/default/configmaps/a%', '/apis/apps/v1/namespaces/x%4/deployments']) {
    const r = await raw(c, 'GET', path);
    t.equal(r.status, 400, path);
    t.match(r.json, { kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400, message: /^invalid URL escape "%/ }, path);
  }
  // Escapes that are well formed still name objects.
  const ok = await raw(c, 'GET', '/api/v1/namespaces/%64efault');
  t.equal(ok.status, 200);
  t.equal(ok.json.metadata.name, 'default');
});

t.test('a malformed escape in the query, or a selector no label could match, is a 400', async (t) => {
  const c = await testCluster(t);
  const bad = await raw(c, 'GET', '/api/v1/pods?labelSelector=%ZZ');
  t.equal(bad.status, 400);
  t.match(bad.json, { reason: 'BadRequest', code: 400, message: 'invalid URL escape "%ZZ" in query parameter "labelSelector"' });
  t.equal((await raw(c, 'GET', '/api/v1/pods?fieldSelector=metadata.name%3D%G1')).status, 400);
  t.equal((await raw(c, 'GET', '/api/v1/pods?watch=1&labelSelector=a%')).status, 400, 'watches too');

  const key = await raw(c, 'GET', `/api/v1/pods?labelSelector=${encodeURIComponent('%ZZ')}`);
  t.equal(key.status, 400);
  t.match(key.json.message, /^unable to parse requirement: <nil>: Invalid value: "%ZZ": name part must consist of alphanumeric characters/);
  const value = await raw(c, 'GET', `/api/v1/pods?labelSelector=${encodeURIComponent('app=a$b')}`);
  t.equal(value.status, 400);
  t.match(value.json.message, /Invalid value: "a\$b": a valid label must be an empty string/);
  const prefix = await raw(c, 'GET', `/api/v1/pods?labelSelector=${encodeURIComponent('Example.com/app')}`);
  t.match(prefix.json.message, /Invalid value: "Example.com\/app": prefix part a lowercase RFC 1123 subdomain/);

  const good = await raw(c, 'GET', `/api/v1/pods?labelSelector=${encodeURIComponent('k8s-app=kube-dns,app.kubernetes.io/name notin (x)')}`);
  t.equal(good.status, 200);
  t.ok(good.json.items.length > 0, 'valid selectors still select');
});

t.test('a port-forward upgrade with a malformed path is refused with 400, not 500', async (t) => {
  const c = await testCluster(t);
  const ca = c.caPem;
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(new URL('/api/v1/namespaces/default/pods/%ZZ/portforward', c.apiServerUrl), {
      method: 'POST',
      ca,
      headers: { Authorization: `Bearer ${c.token}`, Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(status, 400);
});
