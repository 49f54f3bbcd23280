// Takes secrets out of URLs before they are written anywhere: the values of query (and fragment) parameters whose
// names say they hold a credential, and the password of user:password@. For flows from clusters whose agents did
// not redact them (hubble-redact-http-urlquery off); everything else in the URL is kept byte for byte.

/** What a secret value is replaced with. */
export const REDACTED = 'REDACTED';

/** Parameter names (normalized: lower case, letters and digits only) that hold a credential whatever their prefix. */
const EXACT = new Set(['key', 'apikey', 'auth', 'authorization', 'sig', 'jwt', 'pass', 'pwd', 'session', 'otp', 'sas']);
/** Endings that mark a credential: `access_token`, `client_secret`, `db_password`, `X-Amz-Signature`, `x-api-key`. */
const ENDINGS = ['token', 'secret', 'password', 'passwd', 'apikey', 'accesskey', 'privatekey', 'signature', 'credential', 'credentials', 'sessionid'];

function normalize(name: string): string {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    // A malformed escape: judge the name as written.
  }
  return decoded.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** True when a parameter of this name carries a secret (`api_key`, `apiKey`, `access-token`, `password` …). */
export function isSecretName(name: string): boolean {
  const n = normalize(name);
  return n !== '' && (EXACT.has(n) || ENDINGS.some((e) => n.endsWith(e)));
}

/** `a=1&api_key=x` → `a=1&api_key=REDACTED`; separators, order and other pairs unchanged. */
function redactPairs(text: string): string {
  return text
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0 || !isSecretName(pair.slice(0, eq)) || eq === pair.length - 1) return pair;
      return `${pair.slice(0, eq + 1)}${REDACTED}`;
    })
    .join('&');
}

const USERINFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#@]*)@/;

/**
 * The URL (absolute, or a path with a query as HTTP request targets are) with secret parameter values and the
 * userinfo password replaced by REDACTED.
 */
export function redactUrl(url: string): string {
  let out = url;
  const m = USERINFO.exec(out);
  if (m) {
    const colon = m[2]!.indexOf(':');
    if (colon >= 0 && colon < m[2]!.length - 1) out = `${m[1]}${m[2]!.slice(0, colon + 1)}${REDACTED}@${out.slice(m[0].length)}`;
  }
  const hash = out.indexOf('#');
  const fragment = hash >= 0 ? out.slice(hash + 1) : undefined;
  const beforeHash = hash >= 0 ? out.slice(0, hash) : out;
  const q = beforeHash.indexOf('?');
  let result = q >= 0 ? `${beforeHash.slice(0, q + 1)}${redactPairs(beforeHash.slice(q + 1))}` : beforeHash;
  // OAuth's implicit flow puts tokens in the fragment (`#access_token=…`).
  if (fragment !== undefined) result += `#${redactPairs(fragment)}`;
  return result;
}

// A URL inside free text (a flow's Summary: `HTTP/1.1 GET http://svc/api?api_key=…`): anything up to white space.
const URL_IN_TEXT = /[^\s]*[?#][^\s]*/g;

/**
 * Redacts the URL of an HTTP flow and any URL its Summary quotes, in place; true when something changed. Cheap
 * for the usual flow: only text holding `?`, `#` or `@` is looked at.
 */
export function redactFlowSecrets(flow: { l7?: { http?: { url?: string } }; Summary?: string }): boolean {
  let changed = false;
  const http = flow.l7?.http;
  if (http?.url && /[?#@]/.test(http.url)) {
    const url = redactUrl(http.url);
    if (url !== http.url) {
      http.url = url;
      changed = true;
    }
  }
  const summary = flow.Summary;
  if (summary && /[?#]/.test(summary)) {
    const text = summary.replace(URL_IN_TEXT, (u) => redactUrl(u));
    if (text !== summary) {
      flow.Summary = text;
      changed = true;
    }
  }
  return changed;
}
