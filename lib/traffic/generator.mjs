// The lab's traffic generator: the guide's normal, burst and error patterns for a set duration, then one JSON summary line.
//
//   node generator.mjs [--duration 20s] [--seed N] [--mix normal=2,burst=1,error=1]
//                                                      traffic mode (env DURATION, SEED, MIX)
//   node generator.mjs --batches N [--seed N] […]      exactly N batches whatever the time they take (env BATCHES)
//   node generator.mjs --probe [--target URL]          one request that the policy should deny (env MODE=probe, PROBE_URL)
//
// Each workflow goes through the coordinator: POST /api/v1/tasks (202 at once; the coordinator drives document-agent
// and, through it, llm-service in the background), GET /api/v1/tasks/{id} every POLL_INTERVAL_MS until the task is
// done or failed (at most POLL_TIMEOUT_MS), then POST /api/v1/complete. The generator carries no tier label, and the
// guide's policy admits only tier=orchestration into document-agent, so it never calls document-agent itself: the
// guide's "GET /api/v1/nonexistent" error scenario goes to the coordinator, where it is the 404 its name promises
// rather than a policy drop. The summary is printed last, on one line starting with HUBBLE_LAB_SUMMARY.
//
// Batches are planned, not drawn one by one: the first is normal, every other pattern of the mix follows before any
// repeats (in a seeded order), then cycles of the mix, each shuffled by the seed. A pattern that has not run when
// the time is up still runs once, so every run exercises every pattern of its mix.
import { randomInt } from 'node:crypto';
import {
  ConfigError,
  callJson,
  envNumber,
  parseDuration,
  parsePollInterval,
  parseRange,
  percentile,
  pollUntil,
  seededRandom,
  serviceUrls,
  sleep,
  uniform,
} from './shared.mjs';

const summaryPrefix = 'HUBBLE_LAB_SUMMARY';
const probePrefix = 'HUBBLE_LAB_PROBE';
const userAgent = 'traffic-generator/1';

const patterns = {
  normal: { workflows: 3 },
  burst: { workflows: 10 },
  error: { workflows: 0 },
};

/** How many batches of each pattern a cycle of the plan holds. */
const defaultMix = 'normal=2,burst=1,error=1';

/** `normal=2,burst=1,error=1` → { normal: 2, burst: 1, error: 1 }; patterns left out or at 0 never run. */
function parseMix(raw) {
  const mix = { normal: 0, burst: 0, error: 0 };
  for (const part of String(raw)
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\w+)[=:](\d+)$/.exec(part);
    if (!m) throw new ConfigError(`mix: "${part}" is not pattern=count (e.g. ${defaultMix})`);
    if (!Object.hasOwn(patterns, m[1])) throw new ConfigError(`mix: unknown pattern "${m[1]}" (patterns: ${Object.keys(patterns).join(', ')})`);
    mix[m[1]] = Number(m[2]);
  }
  if (Object.values(mix).every((n) => n === 0)) throw new ConfigError(`mix: no batches in "${raw}" (e.g. ${defaultMix})`);
  return mix;
}

/** Fisher-Yates with the seeded stream. */
function shuffle(items, random) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * The batch sequence: normal first (when in the mix) so even a short run has workflows to observe, then each other
 * pattern once in a seeded order, then the mix's remaining batches of that cycle, then whole cycles shuffled.
 */
function* planBatches(mix, random) {
  const present = Object.keys(mix).filter((p) => mix[p] > 0);
  const first = present.includes('normal') ? ['normal'] : [];
  const introduced = [
    ...first,
    ...shuffle(
      present.filter((p) => p !== 'normal'),
      random,
    ),
  ];
  const cycle = present.flatMap((p) => Array(mix[p]).fill(p));
  const rest = [...cycle];
  for (const p of introduced) rest.splice(rest.indexOf(p), 1);
  yield* introduced;
  yield* shuffle(rest, random);
  for (;;) yield* shuffle(cycle, random);
}

/** The guide's error scenarios, with what each should produce when the agents behave. */
const errorScenarios = [
  { step: 'invalid', service: 'coordinator', method: 'POST', path: '/api/v1/invalid', body: {}, expect: 400 },
  { step: 'nonexistent', service: 'coordinator', method: 'GET', path: '/api/v1/nonexistent', body: undefined, expect: 404 },
  { step: 'timeout', service: 'llm', method: 'POST', path: '/api/v1/timeout', body: { large_payload: 'x'.repeat(10_000) }, expect: 'timeout' },
];

const stepServices = {
  tasks: 'agent-coordinator-service',
  poll: 'agent-coordinator-service',
  complete: 'agent-coordinator-service',
  analyze: 'document-agent-service',
  generate: 'llm-service',
  results: 'document-agent-service',
  invalid: 'agent-coordinator-service',
  nonexistent: 'agent-coordinator-service',
  timeout: 'llm-service',
};

function readConfig(argv, env) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new ConfigError(`${flag} needs a value`);
      return next;
    };
    if (flag === '--duration') opts.duration = value();
    else if (flag === '--seed') opts.seed = value();
    else if (flag === '--mix') opts.mix = value();
    else if (flag === '--batches') opts.batches = value();
    else if (flag === '--target') opts.target = value();
    else if (flag === '--probe') opts.mode = 'probe';
    else
      throw new ConfigError(
        `unknown option ${arg} (usage: generator.mjs [--duration 20s | --batches N] [--seed N] [--mix normal=2,burst=1,error=1] | --probe [--target URL])`,
      );
  }
  const mode = opts.mode ?? (env.MODE || 'traffic');
  if (mode !== 'traffic' && mode !== 'probe') throw new ConfigError(`MODE must be traffic or probe, not "${mode}"`);
  const seedRaw = opts.seed ?? env.SEED;
  if (seedRaw !== undefined && seedRaw !== '' && !/^\d+$/.test(seedRaw)) throw new ConfigError(`seed must be a non-negative integer, not "${seedRaw}"`);
  const batchesRaw = opts.batches ?? env.BATCHES;
  if (batchesRaw !== undefined && batchesRaw !== '' && !/^[1-9]\d*$/.test(batchesRaw))
    throw new ConfigError(`batches must be a positive integer, not "${batchesRaw}"`);
  const urls = serviceUrls(env);
  return {
    mode,
    mix: parseMix(opts.mix ?? (env.MIX || defaultMix)),
    urls,
    durationMs: parseDuration('duration', opts.duration ?? (env.DURATION || '20s')),
    // A fixed count of batches instead of the duration: the same seed then plays the same batches however loaded
    // the machine is (tests compare sequences).
    batches: batchesRaw ? Number(batchesRaw) : undefined,
    seed: seedRaw ? Number(seedRaw) % 2 ** 32 : randomInt(2 ** 31),
    requestTimeoutMs: envNumber(env, 'REQUEST_TIMEOUT_MS', 15_000),
    // Longer than the coordinator's own bounds (its analyze call and its wait for the result), so a task that
    // failed is seen failed rather than abandoned.
    pollIntervalMs: parsePollInterval(env, '100-200'),
    pollTimeoutMs: envNumber(env, 'POLL_TIMEOUT_MS', 20_000),
    errorTimeoutMs: envNumber(env, 'ERROR_TIMEOUT_MS', 1000),
    // The guide waits 5-15 s between batches, 0.1-0.5 s between steps and 0.1-0.3 s between agent starts; the
    // batch wait is scaled down so the default 20 s run still holds several batches.
    batchWaitMs: parseRange('BATCH_WAIT_MS', env.BATCH_WAIT_MS || '1000-3000'),
    stepWaitMs: parseRange('STEP_WAIT_MS', env.STEP_WAIT_MS || '100-500'),
    staggerMs: parseRange('STAGGER_MS', env.STAGGER_MS || '100-300'),
    probeUrl: opts.target ?? (env.PROBE_URL || urls.document),
    probeTimeoutMs: envNumber(env, 'PROBE_TIMEOUT_MS', 3000),
  };
}

/** Counts and latencies per step; latencies of calls that got no answer are kept apart from answered ones. */
class Tally {
  steps = new Map();
  errors = new Map();

  record(step, by, result, expect) {
    let s = this.steps.get(step);
    if (!s) {
      s = { service: stepServices[step], by, requests: 0, byStatus: {}, latencies: [], unexpected: 0 };
      if (expect !== undefined) s.expect = expect;
      this.steps.set(step, s);
    }
    s.requests++;
    const key = String(result.status);
    s.byStatus[key] = (s.byStatus[key] ?? 0) + 1;
    if (typeof result.ms === 'number') s.latencies.push(result.ms);
    const failed = expect === undefined ? !(typeof result.status === 'number' && result.status < 400) : result.status !== expect;
    if (failed) {
      s.unexpected++;
      const message = `${step}: ${result.status}${result.error ? ` (${result.error})` : ''}`;
      this.errors.set(message, (this.errors.get(message) ?? 0) + 1);
    }
  }

  toJSON() {
    const steps = {};
    for (const [name, s] of this.steps) {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      steps[name] = {
        service: s.service,
        measuredBy: s.by,
        requests: s.requests,
        byStatus: s.byStatus,
        ...(s.expect === undefined ? {} : { expect: s.expect }),
        unexpected: s.unexpected,
        latencyMs: sorted.length ? { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted[sorted.length - 1] } : null,
      };
    }
    const top = [...this.errors]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([message, count]) => ({ message, count }));
    return { steps, errors: { count: [...this.errors.values()].reduce((a, b) => a + b, 0), top } };
  }

  /** A failure that is no single call's, such as a wait that ran out. */
  note(message) {
    this.errors.set(message, (this.errors.get(message) ?? 0) + 1);
  }
}

/** How many polls each wait took and how the waits ended (ready, error, timeout, aborted). */
class PollTally {
  counts = [];
  byOutcome = {};

  record(wait) {
    if (typeof wait?.polls !== 'number') return;
    this.counts.push(wait.polls);
    const outcome = String(wait.outcome);
    this.byOutcome[outcome] = (this.byOutcome[outcome] ?? 0) + 1;
  }

  toJSON() {
    const sorted = [...this.counts].sort((a, b) => a - b);
    return {
      workflows: sorted.length,
      polls: sorted.reduce((a, b) => a + b, 0),
      perWorkflow: sorted.length ? { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted[sorted.length - 1] } : null,
      byOutcome: this.byOutcome,
    };
  }
}

async function runTraffic(cfg, signal) {
  // Two streams: the batch sequence must not depend on the order in which concurrent workflows draw their waits.
  const random = seededRandom(cfg.seed);
  const timing = seededRandom(cfg.seed ^ 0x9e3779b9);
  const tally = new Tally();
  const polls = { task: new PollTally(), results: new PollTally() };
  const started = Date.now();
  const deadline = cfg.batches === undefined ? started + cfg.durationMs : Infinity;
  const batches = { normal: 0, burst: 0, error: 0 };
  const workflows = { started: 0, completed: 0, failed: 0 };
  let documents = 0;
  const running = () => Date.now() < deadline && batch < (cfg.batches ?? Infinity) && !signal.aborted;

  async function workflow() {
    workflows.started++;
    const documentId = `doc_${++documents}`;
    const call = (method, path, body) => callJson(cfg.urls.coordinator, method, path, body, { timeoutMs: cfg.requestTimeoutMs, signal, userAgent });
    const submitted = await call('POST', '/api/v1/tasks', { task: 'process_document', document_id: documentId });
    tally.record('tasks', 'traffic-generator', submitted);
    const taskId = submitted.json?.task_id;
    let task;
    if (submitted.ok && typeof taskId === 'string') {
      const taskPath = `/api/v1/tasks/${encodeURIComponent(taskId)}`;
      const wait = await pollUntil(
        async () => {
          const answer = await call('GET', taskPath);
          tally.record('poll', 'traffic-generator', answer);
          return answer;
        },
        (answer) => answer.json?.status !== 'pending',
        { intervalMs: cfg.pollIntervalMs, timeoutMs: cfg.pollTimeoutMs, random: timing, signal },
      );
      polls.task.record(wait);
      if (wait.outcome === 'ready') task = wait.last.json;
      else if (wait.outcome === 'timeout') tally.note(`poll: task still pending after ${cfg.pollTimeoutMs} ms`);
    }
    // The coordinator reports the steps it drove (and document-agent's inference call) with its own timings.
    for (const step of Array.isArray(task?.steps) ? task.steps : []) {
      if (typeof step?.step === 'string' && Object.hasOwn(stepServices, step.step)) tally.record(step.step, step.by ?? 'agent-coordinator', step);
    }
    polls.results.record(task?.results_wait);
    let ok = task?.status === 'done';
    // Only a finished task can be completed: one still pending when the wait ended is left alone.
    if (task) {
      await sleep(uniform(timing, cfg.stepWaitMs), signal);
      const complete = await call('POST', '/api/v1/complete', { task_id: taskId });
      tally.record('complete', 'traffic-generator', complete);
      ok = ok && complete.ok;
    }
    if (ok) workflows.completed++;
    else workflows.failed++;
  }

  async function concurrentWorkflows(count) {
    const inFlight = [];
    // A batch that began runs whole, even past the deadline: its pattern then really ran.
    for (let i = 0; i < count && !signal.aborted; i++) {
      inFlight.push(workflow());
      await sleep(uniform(timing, cfg.staggerMs), signal);
    }
    await Promise.all(inFlight);
  }

  async function runErrorScenarios() {
    for (const s of errorScenarios) {
      if (signal.aborted) return;
      const result = await callJson(cfg.urls[s.service], s.method, s.path, s.body, { timeoutMs: cfg.errorTimeoutMs, signal, userAgent });
      tally.record(s.step, 'traffic-generator', result, s.expect);
    }
  }

  // The plan has a stream of its own, from a scrambled seed: the first draws of nearby seeds are close together.
  const plan = planBatches(cfg.mix, seededRandom(Math.imul(cfg.seed ^ 0x5bd1e995, 0x9e3779b1) >>> 0));
  const due = new Set(Object.keys(cfg.mix).filter((p) => cfg.mix[p] > 0));
  let batch = 0;
  // After the deadline, patterns of the mix that have not run yet still run once (with no wait before them).
  while (running() || (cfg.batches === undefined && due.size > 0 && !signal.aborted)) {
    let pattern = plan.next().value;
    // In overtime, the plan's next pattern still due (the plan introduces each one in its first cycle).
    while (!running() && !due.has(pattern)) pattern = plan.next().value;
    due.delete(pattern);
    batches[pattern]++;
    batch++;
    const size = pattern === 'error' ? `${errorScenarios.length} error scenarios` : `${patterns[pattern].workflows} workflows`;
    process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] traffic batch ${batch}: ${pattern} (${size})\n`);
    if (pattern === 'error') await runErrorScenarios();
    else await concurrentWorkflows(patterns[pattern].workflows);
    if (running()) await sleep(Math.min(uniform(random, cfg.batchWaitMs), deadline - Date.now()), signal);
  }
  return {
    mode: 'traffic',
    seed: cfg.seed,
    durationMs: Date.now() - started,
    plannedDurationMs: cfg.durationMs,
    interrupted: signal.aborted,
    targets: cfg.urls,
    mix: cfg.mix,
    batches,
    workflows,
    ...tally.toJSON(),
    polls,
  };
}

async function runProbe(cfg) {
  const result = await callJson(cfg.probeUrl, 'GET', '/', undefined, { timeoutMs: cfg.probeTimeoutMs, userAgent });
  // Packets dropped by policy look like silence (timeout); some datapaths refuse or reset instead.
  const denied = ['timeout', 'refused', 'reset'].includes(result.status);
  const out = { mode: 'probe', target: cfg.probeUrl, outcome: typeof result.status === 'number' ? 'answered' : denied ? 'denied' : 'error', ms: result.ms };
  if (typeof result.status === 'number') out.status = result.status;
  else out.reason = result.status;
  if (result.error) out.error = result.error;
  return out;
}

async function main() {
  let cfg;
  try {
    cfg = readConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`generator: ${err.message}\n`);
    process.exit(2);
  }
  if (cfg.mode === 'probe') {
    process.stdout.write(`${probePrefix} ${JSON.stringify(await runProbe(cfg))}\n`);
    return;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.stdout.write(`generating traffic for ${cfg.durationMs / 1000} s (seed ${cfg.seed})\n`);
  const summary = await runTraffic(cfg, stop.signal);
  process.stdout.write(`${summaryPrefix} ${JSON.stringify(summary)}\n`);
  if (summary.interrupted) process.exitCode = 143;
}

await main();
