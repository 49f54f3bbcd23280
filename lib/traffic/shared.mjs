// Helpers shared by the demo agents and the traffic generator: env parsing, seeded randomness, HTTP calls, polling, percentiles.
// Plain ESM on Node 20 built-ins only: it is shipped next to agent.mjs and generator.mjs in their ConfigMaps.

const clusterDomain = 'genai-network-demo.svc.cluster.local';

/** Where each agent is reached, as the lab guide names the Services. */
export const defaultServiceUrls = {
  coordinator: `http://agent-coordinator-service.${clusterDomain}`,
  document: `http://document-agent-service.${clusterDomain}`,
  llm: `http://llm-service.${clusterDomain}`,
};

/** The Service URLs, each overridable by env (COORDINATOR_URL, DOCUMENT_URL, LLM_URL). */
export function serviceUrls(env = process.env) {
  return {
    coordinator: env.COORDINATOR_URL || defaultServiceUrls.coordinator,
    document: env.DOCUMENT_URL || defaultServiceUrls.document,
    llm: env.LLM_URL || defaultServiceUrls.llm,
  };
}

/** A bad setting: the program prints the message and exits 2 without doing anything. */
export class ConfigError extends Error {}

/** A non-negative number from env, or the fallback when unset; anything else is a ConfigError naming the variable. */
export function envNumber(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(`${name} must be a non-negative number, not "${raw}"`);
  return value;
}

/** "1000-3000" (or "500" for a fixed value) as [min, max] milliseconds. */
export function parseRange(name, raw) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*$/.exec(String(raw));
  if (!m) throw new ConfigError(`${name} must be "MIN-MAX" in milliseconds, not "${raw}"`);
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  if (max < min) throw new ConfigError(`${name}: ${max} is less than ${min}`);
  return [min, max];
}

/** "20s", "1m", "1500ms" or a bare number of seconds, as milliseconds. */
export function parseDuration(name, raw) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(String(raw));
  if (!m) throw new ConfigError(`${name} must be a duration such as 20s, 1m or 1500ms, not "${raw}"`);
  const scale = m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000;
  return Number(m[1]) * scale;
}

/** mulberry32: a small, fast PRNG so a seed reproduces a run's choices. Returns floats in [0, 1). */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function uniform(random, [min, max]) {
  return min + (max - min) * random();
}

/**
 * Log-normal sample with the given median: most values sit near the median, a few are several times larger —
 * the long tail of model inference. Capped so one request cannot outlive its callers' timeouts.
 */
export function logNormal(random, median, sigma, cap) {
  // Box-Muller; 1 - random() keeps the log argument in (0, 1].
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.min(cap, median * Math.exp(sigma * z));
}

/** Nearest-rank percentile of an ascending array (p in 0..100); undefined when empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

export function round(ms) {
  return Math.round(ms * 10) / 10;
}

export function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Why a call got no HTTP answer, in the words a reader of the summary wants: a policy drop looks like `timeout`
 * (packets vanish), a closed port like `refused`.
 */
export function failureKind(err) {
  if (err?.name === 'TimeoutError') return 'timeout';
  if (err?.name === 'AbortError') return 'aborted';
  const code = err?.cause?.code ?? err?.code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'reset';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'timeout';
  return 'error';
}

/**
 * One HTTP call with a JSON body and a deadline. Never throws: the result says the status (a number) or why
 * there was none (failureKind), how long it took, and the parsed JSON answer when there was one.
 * `fresh` closes the connection after the answer: a Service balances connections, not requests, so a caller that
 * must reach another replica next time cannot keep reusing the same kept-alive connection.
 */
export async function callJson(baseUrl, method, path, body, { timeoutMs, signal, userAgent, fresh } = {}) {
  const started = performance.now();
  const signals = [AbortSignal.timeout(timeoutMs ?? 10_000)];
  if (signal) signals.push(signal);
  const headers = { accept: 'application/json' };
  if (userAgent) headers['user-agent'] = userAgent;
  if (fresh) headers.connection = 'close';
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(new URL(path, baseUrl), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any(signals),
    });
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, ok: res.ok, ms: round(performance.now() - started), json };
  } catch (err) {
    const cause = err?.cause?.message ?? err?.message ?? String(err);
    return { status: failureKind(err), ok: false, ms: round(performance.now() - started), error: cause };
  }
}

/**
 * Asks `poll(n)` (the n-th poll, a callJson result) every `intervalMs` ([min, max], drawn with `random`) until
 * `isReady(result)`, a poll fails, `timeoutMs` has passed or `signal` aborts. Never throws. The outcome is ready,
 * error (the last poll got no 2xx answer), timeout or aborted; `last` is the last poll's result.
 */
export async function pollUntil(poll, isReady, { intervalMs, timeoutMs, random = Math.random, signal }) {
  const started = performance.now();
  let polls = 0;
  let last;
  const end = (outcome) => ({ outcome, polls, ms: round(performance.now() - started), last });
  for (;;) {
    // The first poll waits too: whatever was just accepted cannot be ready at once.
    await sleep(Math.min(uniform(random, intervalMs), timeoutMs - (performance.now() - started)), signal);
    if (signal?.aborted) return end('aborted');
    last = await poll(++polls);
    if (signal?.aborted) return end('aborted');
    if (!last.ok) return end('error');
    if (isReady(last)) return end('ready');
    if (performance.now() - started >= timeoutMs) return end('timeout');
  }
}

/** "MIN-MAX" poll interval from env; at least 1 ms, so a poll loop cannot spin. */
export function parsePollInterval(env, fallback) {
  const range = parseRange('POLL_INTERVAL_MS', env.POLL_INTERVAL_MS || fallback);
  if (range[0] < 1) throw new ConfigError(`POLL_INTERVAL_MS must be at least 1 ms, not "${env.POLL_INTERVAL_MS}"`);
  return range;
}
