// The demo's GenAI agents as one dependency-free HTTP server: coordinator, document or llm, chosen by AGENT_ROLE or argv.
//
// Call graph (what Hubble sees):  client → agent-coordinator → document-agent → llm-service
// Work is accepted at once (202) and done in the background, as agent systems do, so each hop answers in its own
// time and only the inference edge carries the inference latency:
//   coordinator POST /api/v1/tasks       202 {task_id, document_id}; in the background: document POST /api/v1/analyze,
//                                        then document GET /api/v1/results/{id} every POLL_INTERVAL_MS until ready
//   coordinator GET  /api/v1/tasks/{id}  200 {status: pending|done|failed, steps: every call the workflow made}
//   coordinator POST /api/v1/complete    marks a finished task complete (the workflow's last step, called by the client)
//   document    POST /api/v1/analyze     reads the document (DOCUMENT_INGEST_MS), 202; in the background asks llm
//                                        POST /api/v1/generate and keeps the outcome under the document id
//   document    GET  /api/v1/results/{id}  a store lookup (DOCUMENT_LOOKUP_MS); 200 {ready: false} until the outcome is in
//   llm         POST /api/v1/generate    answers after a log-normal inference latency (LLM_LATENCY_MS median, LLM_LATENCY_SIGMA)
// Every role: GET /healthz, /api/v1/invalid → 400, /api/v1/timeout → 504 after TIMEOUT_DELAY_MS, anything else → 404.
import http from 'node:http';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { ConfigError, callJson, envNumber, logNormal, parsePollInterval, parseRange, pollUntil, round, seededRandom, serviceUrls, uniform } from './shared.mjs';

const roles = {
  coordinator: { app: 'agent-coordinator', upstreamTimeoutMs: 8000 },
  document: { app: 'document-agent', upstreamTimeoutMs: 5000 },
  llm: { app: 'llm-service', upstreamTimeoutMs: 5000 },
};

const maxBodyBytes = 1024 * 1024;
/** Bounded so a long run cannot grow memory without limit; the oldest entries go first. */
const maxRemembered = 10_000;

function readConfig(argv, env) {
  let role = env.AGENT_ROLE;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--role') role = argv[++i];
    else if (arg.startsWith('--role=')) role = arg.slice('--role='.length);
    else if (!arg.startsWith('-')) role = arg;
    else throw new ConfigError(`unknown option ${arg} (usage: agent.mjs [--role] coordinator|document|llm)`);
  }
  if (!role || !Object.hasOwn(roles, role)) {
    throw new ConfigError(`AGENT_ROLE must be coordinator, document or llm, not ${role ? `"${role}"` : 'unset'}`);
  }
  const seed = env.LLM_SEED;
  if (seed !== undefined && seed !== '' && !/^\d+$/.test(seed)) throw new ConfigError(`LLM_SEED must be an integer, not "${seed}"`);
  return {
    role,
    app: roles[role].app,
    port: envNumber(env, 'PORT', 80),
    host: env.HOST || undefined,
    urls: serviceUrls(env),
    upstreamTimeoutMs: envNumber(env, 'UPSTREAM_TIMEOUT_MS', roles[role].upstreamTimeoutMs),
    timeoutDelayMs: envNumber(env, 'TIMEOUT_DELAY_MS', 5000),
    random: seed ? seededRandom(Number(seed)) : Math.random,
    // The pod name (a pod's hostname and its HOSTNAME env are both that); the env also tells apart replicas run on one machine.
    hostname: env.HOSTNAME || os.hostname(),
    // The coordinator's wait for a result: longer than the slowest inference (LLM_LATENCY_MAX_MS) plus
    // document-agent's own deadline for it, so an inference that failed is reported as such, not as a wait that ran out.
    pollIntervalMs: parsePollInterval(env, '100-200'),
    pollTimeoutMs: envNumber(env, 'POLL_TIMEOUT_MS', 8000),
    document: {
      ingestMs: parseRange('DOCUMENT_INGEST_MS', env.DOCUMENT_INGEST_MS || '20-40'),
      lookupMs: parseRange('DOCUMENT_LOOKUP_MS', env.DOCUMENT_LOOKUP_MS || '5-10'),
    },
    llm: {
      medianMs: envNumber(env, 'LLM_LATENCY_MS', 250),
      sigma: envNumber(env, 'LLM_LATENCY_SIGMA', 0.5),
      maxMs: envNumber(env, 'LLM_LATENCY_MAX_MS', 3000),
    },
    shutdownGraceMs: envNumber(env, 'SHUTDOWN_GRACE_MS', 5000),
  };
}

function log(fields) {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

class HttpError extends Error {
  constructor(status, code, message, extra = {}, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
    this.headers = headers;
  }
}

function sendJson(res, status, body, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > maxBodyBytes) throw new HttpError(413, 'payload_too_large', `request body exceeds ${maxBodyBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req) {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `request body is not JSON: ${err.message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'invalid_json', 'request body must be a JSON object');
  }
  return value;
}

function requireString(body, field) {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw new HttpError(400, 'missing_field', `"${field}" must be a non-empty string`);
  return value;
}

/** Waits ms unless the client goes away first; resolves false when it did. */
function waitWhileConnected(res, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      res.off('close', gone);
      resolve(true);
    }, ms);
    function gone() {
      clearTimeout(timer);
      resolve(false);
    }
    res.once('close', gone);
  });
}

function remember(map, key, value) {
  map.delete(key);
  map.set(key, value);
  if (map.size > maxRemembered) map.delete(map.keys().next().value);
}

/**
 * Starts accepted work once the answer is on its way: after the request's log line, so the time logged (what the
 * caller waited) holds none of the work's own start-up, such as the first outgoing call's set-up.
 */
function inBackground(work, onError) {
  setImmediate(() => work().catch(onError));
}

function shortId() {
  return randomUUID().slice(0, 8);
}

function coordinatorRoutes(cfg) {
  const tasks = new Map();
  const call = (method, path, body, opts) =>
    callJson(cfg.urls.document, method, path, body, { timeoutMs: cfg.upstreamTimeoutMs, userAgent: `${cfg.app}/1`, ...opts });

  /** The workflow behind a task; it records every call it makes on the task, which GET /api/v1/tasks/{id} shows. */
  async function runWorkflow(task) {
    const started = performance.now();
    const documentId = task.document_id;
    const analyze = await call('POST', '/api/v1/analyze', { document_id: documentId, task_id: task.task_id });
    task.steps.push(stepRecord('analyze', 'document-agent-service', 'POST', '/api/v1/analyze', analyze, cfg.app, analyze.json?.analyzed_by));
    let wait;
    if (analyze.ok) {
      const resultPath = `/api/v1/results/${encodeURIComponent(documentId)}`;
      // Through the Service, on a new connection each time: a replica that does not hold the result answers
      // ready:false like one still waiting for it, and the next poll may reach the other replica.
      wait = await pollUntil(
        async (poll) => {
          const result = await call('GET', resultPath, undefined, { fresh: true });
          const record = stepRecord('results', 'document-agent-service', 'GET', resultPath, result, cfg.app, result.json?.replica);
          task.steps.push({ ...record, poll, ready: result.json?.ready === true, found: result.json?.found === true });
          return result;
        },
        (result) => result.json?.ready === true,
        { intervalMs: cfg.pollIntervalMs, timeoutMs: cfg.pollTimeoutMs, random: cfg.random },
      );
      task.results_wait = { polls: wait.polls, outcome: wait.outcome, ms: wait.ms };
      // The inference call happens inside document-agent; its outcome travels back with the result.
      const generate = wait.outcome === 'ready' ? wait.last.json.generate : undefined;
      if (generate && typeof generate === 'object') {
        const record = {
          step: 'generate',
          service: 'llm-service',
          method: 'POST',
          path: '/api/v1/generate',
          status: generate.status,
          ms: generate.ms,
          by: 'document-agent',
        };
        if (generate.error) record.error = generate.error;
        task.steps.splice(task.steps.length - 1, 0, record);
      }
    }
    let failed = task.steps.find((s) => typeof s.status !== 'number' || s.status >= 400);
    if (!failed && wait?.outcome === 'timeout') {
      failed = { step: 'results', error: `the result of ${documentId} was not ready after ${wait.polls} polls in ${wait.ms} ms` };
    }
    task.ms = round(performance.now() - started);
    if (failed) {
      task.failed_step = failed.step;
      task.error = failed.error ?? `${failed.step} answered ${failed.status}`;
    }
    task.status = failed ? 'failed' : 'done';
  }

  return {
    'POST /api/v1/tasks': async (req, res) => {
      const body = await readJson(req);
      const taskId = `task_${shortId()}`;
      const documentId = typeof body.document_id === 'string' && body.document_id ? body.document_id : `doc_${shortId()}`;
      const task = {
        task_id: taskId,
        task: typeof body.task === 'string' ? body.task : 'process_document',
        document_id: documentId,
        status: 'pending',
        steps: [],
      };
      remember(tasks, taskId, task);
      const { steps: _, ...accepted } = task;
      sendJson(res, 202, accepted, { location: `/api/v1/tasks/${encodeURIComponent(taskId)}` });
      inBackground(
        () => runWorkflow(task),
        (err) => {
          log({ role: cfg.role, msg: 'workflow failed', task_id: taskId, error: String(err?.stack ?? err) });
          Object.assign(task, { status: 'failed', error: String(err?.message ?? err) });
        },
      );
    },
    'GET /api/v1/tasks/:id': async (_req, res, id) => {
      const task = tasks.get(id);
      if (!task) throw new HttpError(404, 'unknown_task', `no task ${id}`);
      sendJson(res, 200, task);
    },
    'POST /api/v1/complete': async (req, res) => {
      const body = await readJson(req);
      const taskId = requireString(body, 'task_id');
      const task = tasks.get(taskId);
      if (!task) throw new HttpError(404, 'unknown_task', `no task ${taskId}`);
      if (task.status === 'pending') {
        throw new HttpError(409, 'task_pending', `task ${taskId} is still pending; poll GET /api/v1/tasks/${taskId} until it is done`);
      }
      task.completed = true;
      sendJson(res, 200, { task_id: taskId, status: task.status === 'failed' ? 'failed' : 'completed' });
    },
  };
}

/** One call of a workflow as the task shows it; `replica` is the document-agent pod that answered, when it said. */
function stepRecord(step, service, method, path, result, by, replica) {
  const record = { step, service, method, path, status: result.status, ms: result.ms, by };
  if (typeof replica === 'string') record.replica = replica;
  if (result.error) record.error = result.error;
  return record;
}

function documentRoutes(cfg) {
  const results = new Map();

  /** The inference behind an accepted analysis; its outcome lands on `entry`, which results lookups read. */
  async function infer(entry) {
    const generate = await callJson(
      cfg.urls.llm,
      'POST',
      '/api/v1/generate',
      { prompt: `Analyze document content of ${entry.document_id}` },
      { timeoutMs: cfg.upstreamTimeoutMs, userAgent: `${cfg.app}/1` },
    );
    entry.generate = { status: generate.status, ms: generate.ms };
    if (generate.error) entry.generate.error = generate.error;
    if (generate.ok) {
      Object.assign(entry, { status: 'done', summary: generate.json?.text ?? '', tokens: generate.json?.tokens ?? 0 });
    } else {
      Object.assign(entry, { status: 'failed', error: `llm-service answered ${generate.status}${generate.error ? `: ${generate.error}` : ''}` });
    }
  }

  return {
    'POST /api/v1/analyze': async (req, res) => {
      const body = await readJson(req);
      const documentId = requireString(body, 'document_id');
      // Reading and chunking the document is done before accepting it; only the inference is left for later.
      if (!(await waitWhileConnected(res, uniform(cfg.random, cfg.document.ingestMs)))) return;
      const entry = { document_id: documentId, status: 'pending', analyzed_by: cfg.hostname };
      remember(results, documentId, entry);
      sendJson(res, 202, { document_id: documentId, result_id: documentId, status: 'pending', analyzed_by: cfg.hostname });
      inBackground(
        () => infer(entry),
        (err) => {
          log({ role: cfg.role, msg: 'inference failed', document_id: documentId, error: String(err?.stack ?? err) });
          Object.assign(entry, { status: 'failed', error: String(err?.message ?? err) });
        },
      );
    },
    'GET /api/v1/results/:id': async (_req, res, id) => {
      if (!(await waitWhileConnected(res, uniform(cfg.random, cfg.document.lookupMs)))) return;
      // The two replicas keep no shared store and the Service spreads requests between them, so a result kept by
      // the other replica is not an error either: 200, not ready, and found:false says this replica never had it.
      const entry = results.get(id);
      sendJson(
        res,
        200,
        entry
          ? { id, ready: entry.status !== 'pending', found: true, replica: cfg.hostname, ...entry }
          : { id, ready: false, found: false, replica: cfg.hostname },
      );
    },
  };
}

function llmRoutes(cfg) {
  return {
    'POST /api/v1/generate': async (req, res) => {
      const body = await readJson(req);
      const prompt = requireString(body, 'prompt');
      const inferenceMs = round(logNormal(cfg.random, cfg.llm.medianMs, cfg.llm.sigma, cfg.llm.maxMs));
      if (!(await waitWhileConnected(res, inferenceMs))) return;
      const words = prompt.split(/\s+/).filter(Boolean);
      sendJson(res, 200, { model: 'genai-demo-llm', text: `Summary: ${words.slice(-8).join(' ')}`, tokens: words.length * 3, inference_ms: inferenceMs });
    },
  };
}

function commonRoutes(cfg) {
  return {
    'GET /healthz': async (_req, res) => sendJson(res, 200, { status: 'ok', role: cfg.role }),
    '* /api/v1/invalid': async (req) => {
      await readBody(req);
      throw new HttpError(400, 'invalid_request', 'the request is not valid for this API');
    },
    '* /api/v1/timeout': async (req, res) => {
      await readBody(req);
      // Longer than any caller's patience in the lab (1 s), yet bounded so no connection lingers.
      if (!(await waitWhileConnected(res, cfg.timeoutDelayMs))) return;
      throw new HttpError(504, 'timeout', `no answer within ${cfg.timeoutDelayMs} ms`);
    },
  };
}

/** "METHOD /path" or "METHOD /prefix/:param" (one trailing segment) → handler(req, res, param). */
function makeRouter(table) {
  const entries = Object.entries(table).map(([key, handler]) => {
    const [method, pattern] = key.split(' ');
    const param = pattern.endsWith('/:id');
    return { method, prefix: param ? pattern.slice(0, -':id'.length) : pattern, param, handler };
  });
  return (method, path) => {
    const matches = [];
    for (const e of entries) {
      let arg;
      if (e.param) {
        if (!path.startsWith(e.prefix)) continue;
        const rest = path.slice(e.prefix.length);
        if (rest === '' || rest.includes('/')) continue;
        arg = decodeURIComponent(rest);
      } else if (path !== e.prefix) continue;
      matches.push({ ...e, arg });
    }
    if (matches.length === 0) return { status: 404 };
    const hit = matches.find((m) => m.method === '*' || m.method === method);
    if (!hit) return { status: 405, allow: matches.map((m) => m.method).join(', ') };
    return { handler: hit.handler, arg: hit.arg };
  };
}

function createAgentServer(cfg) {
  const byRole = { coordinator: coordinatorRoutes, document: documentRoutes, llm: llmRoutes };
  const route = makeRouter({ ...commonRoutes(cfg), ...byRole[cfg.role](cfg) });
  const active = new Set();
  const server = http.createServer(async (req, res) => {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    active.add(res);
    if (server.draining) res.setHeader('connection', 'close');
    res.once('close', () => {
      active.delete(res);
      const answered = res.writableFinished;
      // Status 0 for a request the client gave up on before any answer, as Envoy logs it.
      const entry = { role: cfg.role, method: req.method, path, status: res.headersSent ? res.statusCode : 0, ms: round(performance.now() - started) };
      if (!answered) entry.aborted = true;
      log(entry);
      if (server.draining && active.size === 0) server.closeAllConnections();
    });
    try {
      const found = route(req.method, path);
      if (found.status === 404) throw new HttpError(404, 'not_found', `no such endpoint: ${req.method} ${path}`);
      if (found.status === 405) throw new HttpError(405, 'method_not_allowed', `${path} does not accept ${req.method}`, {}, { allow: found.allow });
      await found.handler(req, res, found.arg);
    } catch (err) {
      if (err instanceof HttpError) {
        sendJson(res, err.status, { error: err.code, message: err.message, ...err.extra }, err.headers);
      } else {
        log({ role: cfg.role, msg: 'handler failed', path, error: String(err?.stack ?? err) });
        sendJson(res, 500, { error: 'internal', message: String(err?.message ?? err) });
      }
    }
  });
  server.draining = false;
  server.activeRequests = () => active.size;
  /** Stops accepting; each request in flight gets its answer on a connection that then closes. */
  server.drain = (done) => {
    server.draining = true;
    for (const res of active) if (!res.headersSent) res.setHeader('connection', 'close');
    server.close(done);
    // With nothing in flight every connection left is idle, including ones a client abandoned mid-request.
    if (active.size === 0) server.closeAllConnections();
    else server.closeIdleConnections();
  };
  return server;
}

function main() {
  let cfg;
  try {
    cfg = readConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`agent: ${err.message}\n`);
    process.exit(2);
  }
  const server = createAgentServer(cfg);
  server.on('error', (err) => {
    process.stderr.write(`agent ${cfg.role}: cannot listen on port ${cfg.port}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(cfg.port, cfg.host, () => {
    log({ role: cfg.role, msg: 'listening', port: server.address().port, urls: cfg.role === 'llm' ? undefined : cfg.urls });
  });

  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    log({ role: cfg.role, msg: 'shutting down', signal, active: server.activeRequests() });
    // Finish what is in flight (Kubernetes has already removed the pod from its Service), then go.
    server.drain(() => process.exit(0));
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(0);
    }, cfg.shutdownGraceMs).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main();
