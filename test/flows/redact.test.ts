// Secrets in URLs: values of credential-named parameters and userinfo passwords are replaced, the rest kept exactly.
import t from 'tap';
import { isSecretName, REDACTED, redactUrl } from '../../lib/flows/redact.ts';

t.test('credential parameter names, however they are spelled', async (t) => {
  for (const name of [
    'api_key',
    'apiKey',
    'API-KEY',
    'apikey',
    'key',
    'password',
    'passwd',
    'pwd',
    'token',
    'access_token',
    'refresh_token',
    'id_token',
    'client_secret',
    'secret',
    'X-Amz-Signature',
    'X-Amz-Security-Token',
    'x-api-key',
    'db_password',
    'sessionid',
    'auth',
    'api%5Fkey',
  ]) {
    t.ok(isSecretName(name), name);
  }
  for (const name of ['q', 'page', 'model', 'keyword', 'tokens_used', 'prompt', 'user', 'monkey', '']) t.notOk(isSecretName(name), name);
});

t.test('query and fragment values are replaced; names, order and other values stay as written', async (t) => {
  t.equal(
    redactUrl('http://llm-service.genai:8080/v1/chat?model=m1&api_key=sk-live-123&password=hunter2'),
    `http://llm-service.genai:8080/v1/chat?model=m1&api_key=${REDACTED}&password=${REDACTED}`,
  );
  t.equal(redactUrl('/search?q=a%20b&Token=abc&page=2'), `/search?q=a%20b&Token=${REDACTED}&page=2`);
  t.equal(redactUrl('/cb#access_token=xyz&state=1'), `/cb#access_token=${REDACTED}&state=1`);
  t.equal(redactUrl('/p?api_key=&x=1'), '/p?api_key=&x=1', 'an empty value has nothing to hide');
  t.equal(redactUrl('/p?api_key'), '/p?api_key');
  t.equal(redactUrl('/p?a=%ZZ&secret=%ZZ'), `/p?a=%ZZ&secret=${REDACTED}`, 'malformed escapes do not stop it');
  t.equal(redactUrl('/plain/path'), '/plain/path');
  t.equal(redactUrl(''), '');
});

t.test('the password of user:password@ is replaced, the user kept', async (t) => {
  t.equal(redactUrl('https://bob:s3cret@example.com/x?token=1'), `https://bob:${REDACTED}@example.com/x?token=${REDACTED}`);
  t.equal(redactUrl('https://bob@example.com/x'), 'https://bob@example.com/x');
  t.equal(redactUrl('/a@b?x=1'), '/a@b?x=1', 'an @ in a path is not userinfo');
});

t.test('redactFlowSecrets: the HTTP URL and the URLs a Summary quotes, in place', async (t) => {
  const { redactFlowSecrets } = await import('../../lib/flows/redact.ts');
  const flow = {
    l7: { http: { url: 'http://llm-service/api/v1/generate?api_key=sk-123&model=x' } },
    Summary: 'HTTP/1.1 GET http://llm-service/api/v1/generate?api_key=sk-123&model=x => 200',
  };
  t.ok(redactFlowSecrets(flow));
  t.equal(flow.l7.http.url, 'http://llm-service/api/v1/generate?api_key=REDACTED&model=x');
  t.equal(flow.Summary, 'HTTP/1.1 GET http://llm-service/api/v1/generate?api_key=REDACTED&model=x => 200');
  const plain = { l7: { http: { url: 'http://svc/healthz' } }, Summary: 'TCP Flags: SYN' };
  t.notOk(redactFlowSecrets(plain), 'nothing to do');
  t.same(plain, { l7: { http: { url: 'http://svc/healthz' } }, Summary: 'TCP Flags: SYN' });
});

t.test('report examples never quote a URL secret, whatever the agents did', async (t) => {
  const { flowExample } = await import('../../lib/analysis/drops.ts');
  const ex = flowExample({ verdict: 'DROPPED', Summary: 'HTTP/1.1 POST http://svc/login?password=hunter2 => 403' }, 'POLICY_DENIED');
  t.equal(ex.summary, 'HTTP/1.1 POST http://svc/login?password=REDACTED => 403');
});
