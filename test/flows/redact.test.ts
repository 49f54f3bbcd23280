// Secrets in URLs: values of credential-named parameters and userinfo passwords are replaced, the rest kept exactly.
import t from 'tap';
import { isSecretName, REDACTED, redactUrl } from '../../lib/flows/redact.ts';

t.test('credential parameter names, however they are spelled', async (t) => {
  for (const name of ['api_key', 'apiKey', 'API-KEY', 'apikey', 'key', 'password', 'passwd', 'pwd', 'token', 'access_token', 'refresh_token', 'id_token', 'client_secret', 'secret', 'X-Amz-Signature', 'X-Amz-Security-Token', 'x-api-key', 'db_password', 'sessionid', 'auth', 'api%5Fkey']) {
    t.ok(isSecretName(name), name);
  }
  for (const name of ['q', 'page', 'model', 'keyword', 'tokens_used', 'prompt', 'user', 'monkey', '']) t.notOk(isSecretName(name), name);
});

t.test('query and fragment values are replaced; names, order and other values stay as written', async (t) => {
  t.equal(redactUrl('http://llm-service.genai:8080/v1/chat?model=m1&api_key=sk-live-123&password=hunter2'), `http://llm-service.genai:8080/v1/chat?model=m1&api_key=${REDACTED}&password=${REDACTED}`);
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
