// The traffic generator as a real process against real agents: its summary line, seeds, failures, the probe mode.
import net from 'node:net';
import t from 'tap';
import { readProbeResult, readTrafficSummary } from '../../lib/traffic/summary.ts';
import { closedPort, generatorPath, quickAgents, runNode, startAgent, startWorkflow } from './processes.ts';

/** Short waits so a few seconds hold many batches; the agents' timeout scenario outlasts the 1 s client timeout. */
const quick = { BATCH_WAIT_MS: '100-300', STEP_WAIT_MS: '10-50', STAGGER_MS: '10-30', POLL_INTERVAL_MS: '10-20' };

const patternsOf = (stdout: string) => [...stdout.matchAll(/traffic batch \d+: (\w+)/g)].map((m) => m[1]);

t.test('a 3 s run against the agents prints one summary of every step', async (t) => {
  const w = await startWorkflow({ llm: { TIMEOUT_DELAY_MS: '3000', LLM_LATENCY_MS: '60', LLM_LATENCY_SIGMA: '0' } });
  t.teardown(w.stop);
  const run = await runNode(generatorPath, ['--duration', '3s', '--seed', '7'], { ...w.urls, ...quick });
  t.equal(run.code, 0, run.stderr);
  const summaryLines = run.stdout.split('\n').filter((l) => l.startsWith('HUBBLE_LAB_SUMMARY '));
  t.equal(summaryLines.length, 1, 'exactly one summary line');
  t.ok(run.stdout.trimEnd().endsWith(summaryLines[0]!), 'and it is the last line');

  const s = readTrafficSummary(run.stdout, 'generator stdout');
  t.equal(s.seed, 7);
  t.equal(s.plannedDurationMs, 3000);
  t.ok(s.durationMs >= 3000 && s.durationMs < 8000, `stopped after its duration (${s.durationMs} ms)`);
  t.equal(s.interrupted, false);
  t.same(s.targets, { coordinator: w.coordinator.url, document: w.document.url, llm: w.llm.url });

  const batches = patternsOf(run.stdout);
  t.same(s.batches, {
    normal: batches.filter((b) => b === 'normal').length,
    burst: batches.filter((b) => b === 'burst').length,
    error: batches.filter((b) => b === 'error').length,
  });
  t.ok(s.batches.error >= 1 && s.batches.normal + s.batches.burst >= 1, `several kinds of batch: ${batches.join(', ')}`);

  // Workflow steps: accepted (202) and answered (200), the coordinator's and document-agent's calls included.
  const n = s.workflows.started;
  t.equal(s.workflows.failed, 0);
  t.equal(s.workflows.completed, n);
  const statuses = { tasks: 202, poll: 200, analyze: 202, results: 200, generate: 200, complete: 200 };
  for (const [step, status] of Object.entries(statuses)) {
    const st = s.steps[step]!;
    t.same(Object.keys(st.byStatus), [String(status)], `${step}: every call answered ${status}`);
    t.equal(st.unexpected, 0);
    t.ok(st.latencyMs!.p50 <= st.latencyMs!.p95 && st.latencyMs!.p95 <= st.latencyMs!.max, `${step}: p50 ≤ p95 ≤ max`);
  }
  for (const step of ['tasks', 'analyze', 'generate', 'complete']) t.equal(s.steps[step]!.requests, n, `${step}: once per workflow`);
  t.same(Object.fromEntries(Object.entries(s.steps).map(([k, v]) => [k, [v.service, v.measuredBy]])), {
    tasks: ['agent-coordinator-service', 'traffic-generator'],
    poll: ['agent-coordinator-service', 'traffic-generator'],
    analyze: ['document-agent-service', 'agent-coordinator'],
    generate: ['llm-service', 'document-agent'],
    results: ['document-agent-service', 'agent-coordinator'],
    complete: ['agent-coordinator-service', 'traffic-generator'],
    invalid: ['agent-coordinator-service', 'traffic-generator'],
    nonexistent: ['agent-coordinator-service', 'traffic-generator'],
    timeout: ['llm-service', 'traffic-generator'],
  });
  const latency = (step: string) => s.steps[step]!.latencyMs!.p50;
  t.ok(latency('tasks') < latency('generate'), `a task is accepted (${latency('tasks')} ms) without waiting for its inference (${latency('generate')} ms)`);

  // Polls: one wait per workflow on each side, every one ended with a final answer, each poll counted.
  for (const [kind, step] of [
    ['task', 'poll'],
    ['results', 'results'],
  ] as const) {
    const p = s.polls[kind];
    t.equal(p.workflows, n, `${kind}: one wait per workflow`);
    t.equal(p.polls, s.steps[step]!.requests, `${kind}: every poll is a ${step} request`);
    t.same(p.byOutcome, { ready: n });
    t.ok(p.perWorkflow!.p50 >= 1 && p.perWorkflow!.p50 <= p.perWorkflow!.p95 && p.perWorkflow!.p95 <= p.perWorkflow!.max, `${kind}: 1 ≤ p50 ≤ p95 ≤ max`);
  }
  // The generator polls until the coordinator has finished polling document-agent, which waits for the 60 ms inference.
  t.ok(s.polls.task.polls >= n, 'at least one task poll per workflow');

  // Error scenarios: each got exactly what its name promises, once per error batch.
  const e = s.batches.error;
  t.same([s.steps.invalid!.byStatus, s.steps.invalid!.expect], [{ 400: e }, 400]);
  t.same([s.steps.nonexistent!.byStatus, s.steps.nonexistent!.expect], [{ 404: e }, 404]);
  t.same([s.steps.timeout!.byStatus, s.steps.timeout!.expect], [{ timeout: e }, 'timeout']);
  t.ok(s.steps.timeout!.latencyMs!.p50 >= 950, 'the timeout scenario gave up after about 1 s');
  t.same(s.errors, { count: 0, top: [] });

  // What the agents logged agrees with the summary.
  const logged = (a: typeof w.llm, match: (r: { method: string; path: string }) => boolean) => a.requests().filter(match).length;
  t.equal(
    logged(w.coordinator, (r) => r.path === '/api/v1/tasks'),
    s.steps.tasks!.requests,
  );
  t.equal(
    logged(w.coordinator, (r) => r.method === 'GET' && r.path.startsWith('/api/v1/tasks/')),
    s.steps.poll!.requests,
  );
  t.equal(
    logged(w.document, (r) => r.path.startsWith('/api/v1/results/')),
    s.steps.results!.requests,
  );
});

t.test('a wait for a task is bounded by POLL_TIMEOUT_MS; an unfinished task is not completed', async (t) => {
  const w = await startWorkflow({ llm: { LLM_LATENCY_MS: '1500', LLM_LATENCY_SIGMA: '0' } });
  t.teardown(w.stop);
  // Seed 7 starts with a normal batch: three workflows.
  const run = await runNode(generatorPath, ['--duration', '500ms', '--seed', '7'], {
    ...w.urls,
    ...quick,
    POLL_INTERVAL_MS: '20-30',
    POLL_TIMEOUT_MS: '200',
    ERROR_TIMEOUT_MS: '200',
  });
  t.equal(run.code, 0, run.stderr);
  const s = readTrafficSummary(run.stdout, 'stdout');
  const n = s.workflows.started;
  t.ok(n > 0);
  t.equal(s.workflows.failed, n);
  t.same(s.polls.task.byOutcome, { timeout: n });
  // 200 ms at 20-30 ms a poll, plus the one poll made at the deadline.
  t.ok(s.polls.task.perWorkflow!.max <= 11, `at most ${s.polls.task.perWorkflow!.max} polls per wait`);
  t.same(s.steps.poll!.byStatus, { 200: s.polls.task.polls }, 'every poll answered: pending is not an error');
  t.equal(s.steps.poll!.unexpected, 0);
  t.notOk(s.steps.complete, 'a task still pending is not completed');
  t.same(s.errors.top, [{ message: 'poll: task still pending after 200 ms', count: n }]);
});

t.test('the same seed gives the same sequence of batches', async (t) => {
  const w = await startWorkflow();
  t.teardown(w.stop);
  const env = { ...w.urls, ...quick, ERROR_TIMEOUT_MS: '200', SEED: '5' };
  // A count of batches rather than a time, so the sequences compare whole however busy the machine is.
  const [a, b, c] = await Promise.all([
    runNode(generatorPath, ['--batches', '6'], env),
    runNode(generatorPath, [], { ...env, BATCHES: '6', DURATION: '1.5' }),
    runNode(generatorPath, ['--batches', '6', '--seed', '6'], env),
  ]);
  const [pa, pb, pc] = [patternsOf(a.stdout), patternsOf(b.stdout), patternsOf(c.stdout)];
  t.same([pa.length, pb.length, pc.length], [6, 6, 6], 'six batches each, as asked');
  t.same(pb, pa, 'the same seed, the same sequence');
  t.not(pc.join(), pa.join(), 'another seed, another sequence');
  t.same([pa[0], pb[0], pc[0]], ['normal', 'normal', 'normal'], 'every run starts with a normal batch of workflows');
  t.equal(readTrafficSummary(b.stdout, 'b').plannedDurationMs, 1500, 'DURATION without a unit is seconds');
});

t.test('every run plays every pattern of its mix, normal first, in a seeded order; --mix changes the mix', async (t) => {
  const w = await startWorkflow();
  t.teardown(w.stop);
  const env = { ...w.urls, ...quick, ERROR_TIMEOUT_MS: '200' };
  // Shorter than one batch of each: the plan still runs every pattern once before it stops.
  const seeds = [1, 2, 3, 4];
  const runs = await Promise.all(seeds.map((seed) => runNode(generatorPath, ['--duration', '300ms', '--seed', String(seed)], env)));
  const orders = new Set<string>();
  runs.forEach((run, i) => {
    t.equal(run.code, 0, run.stderr);
    const seen = patternsOf(run.stdout);
    t.equal(seen[0], 'normal', `seed ${seeds[i]}: normal first`);
    t.same([...seen.slice(0, 3)].sort(), ['burst', 'error', 'normal'], `seed ${seeds[i]}: each pattern before any repeats (${seen.join(', ')})`);
    const s = readTrafficSummary(run.stdout, `seed ${seeds[i]}`);
    t.ok(s.batches.normal >= 1 && s.batches.burst >= 1 && s.batches.error >= 1, `seed ${seeds[i]}: all three in the summary`);
    t.same(s.mix, { normal: 2, burst: 1, error: 1 });
    t.ok(s.steps.invalid && s.steps.nonexistent, 'the error batch ran its HTTP error scenarios');
    orders.add(seen.slice(0, 3).join());
  });
  t.equal(orders.size, 2, 'the seed decides which of burst and error comes second');

  const errorsOnly = await runNode(generatorPath, ['--duration', '500ms', '--seed', '3', '--mix', 'error=1'], env);
  t.equal(errorsOnly.code, 0, errorsOnly.stderr);
  const e = patternsOf(errorsOnly.stdout);
  t.ok(e.length >= 1 && e.every((p) => p === 'error'), `only error batches (${e.join(', ')})`);
  const weighted = await runNode(generatorPath, ['--batches', '6', '--seed', '3'], { ...env, MIX: 'normal=1,burst=0,error=2' });
  const wp = patternsOf(weighted.stdout);
  t.notOk(wp.includes('burst'), 'a pattern at 0 never runs');
  // Two cycles of the mix (the first one starting with normal): one normal and two errors each.
  t.same([wp.filter((p) => p === 'normal').length, wp.filter((p) => p === 'error').length], [2, 4], `twice as many error batches planned (${wp.join(', ')})`);
});

t.test('a broken workflow is counted, explained and still ends with a summary', async (t) => {
  const noLlm = await startAgent('document', { LLM_URL: `http://127.0.0.1:${await closedPort()}`, UPSTREAM_TIMEOUT_MS: '3000', ...quickAgents.document });
  const coordinator = await startAgent('coordinator', { DOCUMENT_URL: noLlm.url, ...quickAgents.coordinator });
  t.teardown(() => Promise.all([coordinator.stop(), noLlm.stop()]));
  const run = await runNode(generatorPath, ['--duration', '1s', '--seed', '3'], {
    COORDINATOR_URL: coordinator.url,
    LLM_URL: 'http://127.0.0.1:9',
    ERROR_TIMEOUT_MS: '300',
    ...quick,
  });
  t.equal(run.code, 0);
  const s = readTrafficSummary(run.stdout, 'stdout');
  const n = s.workflows.started;
  t.ok(n > 0);
  t.equal(s.workflows.failed, n);
  // Accepted, analyzed and looked up as usual: the failure is the inference's, and is reported at that step.
  t.same(s.steps.tasks!.byStatus, { 202: n });
  t.same(s.steps.analyze!.byStatus, { 202: n });
  t.same(s.steps.generate!.byStatus, { refused: n });
  t.same([s.steps.generate!.unexpected, s.steps.results!.unexpected, s.steps.poll!.unexpected], [n, 0, 0]);
  t.same(s.polls.results.byOutcome, { ready: n }, 'a failed inference still ends the wait for its result');
  t.same(s.steps.complete!.byStatus, { 200: n }, 'a failed task is completed as failed');
  t.ok(s.errors.count >= n);
  t.match(s.errors.top.map((e) => e.message).join('\n'), /generate: refused/);
});

t.test('the probe tells denied from answered', async (t) => {
  const doc = await startAgent('document');
  t.teardown(doc.stop);
  const answered = readProbeResult((await runNode(generatorPath, ['--probe'], { DOCUMENT_URL: doc.url })).stdout, 'open');
  t.match(answered, { mode: 'probe', target: doc.url, outcome: 'answered', status: 404 });

  // A closed port refuses; a port that accepts but never answers behaves like dropped packets.
  const refused = await runNode(generatorPath, ['--probe', '--target', `http://127.0.0.1:${await closedPort()}`], {});
  t.equal(refused.code, 0);
  t.match(readProbeResult(refused.stdout, 'closed'), { outcome: 'denied', reason: 'refused' });

  const held = new Set<net.Socket>();
  const silent = net.createServer((socket) => held.add(socket));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const socket of held) socket.destroy();
    silent.close();
  });
  const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
  const timedOut = await runNode(generatorPath, [], { MODE: 'probe', PROBE_URL: url, PROBE_TIMEOUT_MS: '300' });
  const result = readProbeResult(timedOut.stdout, 'silent');
  t.match(result, { outcome: 'denied', reason: 'timeout', target: url });
  t.ok(result.ms >= 290 && result.ms < 2000, `gave up after its timeout (${result.ms} ms)`);
});

t.test('SIGTERM ends a run early with the summary so far', async (t) => {
  const w = await startWorkflow();
  t.teardown(w.stop);
  const run = await runNode(generatorPath, ['--duration', '30s', '--seed', '1'], { ...w.urls, ...quick }, 10_000, (child) => {
    setTimeout(() => child.kill('SIGTERM'), 1200);
  });
  t.equal(run.code, 143);
  const s = readTrafficSummary(run.stdout, 'stdout');
  t.equal(s.interrupted, true);
  t.ok(s.durationMs < 5000, `stopped promptly (${s.durationMs} ms)`);
  t.ok(s.workflows.started > 0, 'kept what it had done');
});

t.test('bad options stop the generator with exit 2 and say which', async (t) => {
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['--duration', 'soon'], {}, /duration must be a duration such as 20s, 1m or 1500ms, not "soon"/],
    [['--seed', '-4'], {}, /seed must be a non-negative integer, not "-4"/],
    [['--verbose'], {}, /unknown option --verbose/],
    [['--duration'], {}, /--duration needs a value/],
    [['--batches', '0'], {}, /batches must be a positive integer, not "0"/],
    [[], { MODE: 'chaos' }, /MODE must be traffic or probe, not "chaos"/],
    [[], { BATCH_WAIT_MS: '5-1' }, /BATCH_WAIT_MS: 1 is less than 5/],
    [[], { ERROR_TIMEOUT_MS: 'x' }, /ERROR_TIMEOUT_MS must be a non-negative number, not "x"/],
    [[], { POLL_INTERVAL_MS: '0-5' }, /POLL_INTERVAL_MS must be at least 1 ms, not "0-5"/],
    [['--mix', 'normal=1,chaos=2'], {}, /mix: unknown pattern "chaos" \(patterns: normal, burst, error\)/],
    [['--mix', 'normal'], {}, /mix: "normal" is not pattern=count/],
    [[], { MIX: 'normal=0' }, /mix: no batches in "normal=0"/],
  ];
  const runs = await Promise.all(cases.map(([args, env]) => runNode(generatorPath, args, env, 5000)));
  runs.forEach((run, i) => {
    t.equal(run.code, 2);
    t.match(run.stderr, cases[i]![2]);
    t.equal(run.stdout, '', 'nothing ran');
  });
});
