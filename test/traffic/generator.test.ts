// The traffic generator as a real process against real agents: its summary line, seeds, failures, the probe mode.
import net from 'node:net';
import t from 'tap';
import { readProbeResult, readTrafficSummary } from '../../lib/traffic/summary.ts';
import { generatorPath, runNode, startAgent, startWorkflow } from './processes.ts';

/** Short waits so a few seconds hold many batches; the agents' timeout scenario outlasts the 1 s client timeout. */
const quick = { BATCH_WAIT_MS: '100-300', STEP_WAIT_MS: '10-50', STAGGER_MS: '10-30' };

const patternsOf = (stdout: string) => [...stdout.matchAll(/traffic batch \d+: (\w+)/g)].map((m) => m[1]);

t.test('a 3 s run against the agents prints one summary of every step', async (t) => {
  const w = await startWorkflow({ TIMEOUT_DELAY_MS: '3000' });
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

  // Workflow steps: every call answered 200, the coordinator's and document-agent's calls included.
  t.equal(s.workflows.failed, 0);
  t.equal(s.workflows.completed, s.workflows.started);
  for (const step of ['tasks', 'analyze', 'generate', 'results', 'complete']) {
    const st = s.steps[step]!;
    t.same(st.byStatus, { 200: s.workflows.started }, `${step}: one 200 per workflow`);
    t.equal(st.unexpected, 0);
    t.ok(st.latencyMs!.p50 <= st.latencyMs!.p95 && st.latencyMs!.p95 <= st.latencyMs!.max, `${step}: p50 ≤ p95 ≤ max`);
  }
  t.same(
    Object.fromEntries(Object.entries(s.steps).map(([k, v]) => [k, [v.service, v.measuredBy]])),
    {
      tasks: ['agent-coordinator-service', 'traffic-generator'],
      analyze: ['document-agent-service', 'agent-coordinator'],
      generate: ['llm-service', 'document-agent'],
      results: ['document-agent-service', 'agent-coordinator'],
      complete: ['agent-coordinator-service', 'traffic-generator'],
      invalid: ['agent-coordinator-service', 'traffic-generator'],
      nonexistent: ['agent-coordinator-service', 'traffic-generator'],
      timeout: ['llm-service', 'traffic-generator'],
    },
  );
  t.ok(s.steps.tasks!.latencyMs!.p50 >= s.steps.generate!.latencyMs!.p50, 'a task takes at least its inference');

  // Error scenarios: each got exactly what its name promises, once per error batch.
  const n = s.batches.error;
  t.same([s.steps.invalid!.byStatus, s.steps.invalid!.expect], [{ 400: n }, 400]);
  t.same([s.steps.nonexistent!.byStatus, s.steps.nonexistent!.expect], [{ 404: n }, 404]);
  t.same([s.steps.timeout!.byStatus, s.steps.timeout!.expect], [{ timeout: n }, 'timeout']);
  t.ok(s.steps.timeout!.latencyMs!.p50 >= 950, 'the timeout scenario gave up after about 1 s');
  t.same(s.errors, { count: 0, top: [] });

  // What the agents logged agrees with the summary.
  const tasksLogged = w.coordinator.requests().filter((r) => r.path === '/api/v1/tasks').length;
  t.equal(tasksLogged, s.steps.tasks!.requests);
});

t.test('the same seed gives the same sequence of batches', async (t) => {
  const w = await startWorkflow();
  t.teardown(w.stop);
  const env = { ...w.urls, ...quick, ERROR_TIMEOUT_MS: '200', SEED: '5' };
  const [a, b, c] = await Promise.all([
    runNode(generatorPath, ['--duration', '1500ms'], env),
    runNode(generatorPath, [], { ...env, DURATION: '1.5' }),
    runNode(generatorPath, ['--duration', '1500ms', '--seed', '6'], env),
  ]);
  const [pa, pb, pc] = [patternsOf(a.stdout), patternsOf(b.stdout), patternsOf(c.stdout)];
  const common = Math.min(pa.length, pb.length);
  t.ok(common >= 2, `several batches each (${pa.length}, ${pb.length})`);
  t.same(pa.slice(0, common), pb.slice(0, common));
  t.not(pc.join(), pa.join(), 'another seed, another sequence');
  t.equal(readTrafficSummary(b.stdout, 'b').plannedDurationMs, 1500, 'DURATION without a unit is seconds');
});

t.test('a broken workflow is counted, explained and still ends with a summary', async (t) => {
  const noLlm = await startAgent('document', { LLM_URL: 'http://127.0.0.1:9', UPSTREAM_TIMEOUT_MS: '300' });
  const coordinator = await startAgent('coordinator', { DOCUMENT_URL: noLlm.url });
  t.teardown(() => Promise.all([coordinator.stop(), noLlm.stop()]));
  const run = await runNode(generatorPath, ['--duration', '1s', '--seed', '3'], {
    COORDINATOR_URL: coordinator.url,
    LLM_URL: 'http://127.0.0.1:9',
    ERROR_TIMEOUT_MS: '300',
    ...quick,
  });
  t.equal(run.code, 0);
  const s = readTrafficSummary(run.stdout, 'stdout');
  t.ok(s.workflows.started > 0);
  t.equal(s.workflows.failed, s.workflows.started);
  t.same(s.steps.tasks!.byStatus, { 502: s.workflows.started });
  t.equal(s.steps.analyze!.byStatus['502'], s.workflows.started);
  t.notOk(s.steps.results, 'no results step after a failed analyze');
  t.ok(s.errors.count >= 2 * s.workflows.started);
  t.match(s.errors.top.map((e) => e.message).join('\n'), /tasks: 502/);
});

t.test('the probe tells denied from answered', async (t) => {
  const doc = await startAgent('document');
  t.teardown(doc.stop);
  const answered = readProbeResult((await runNode(generatorPath, ['--probe'], { DOCUMENT_URL: doc.url })).stdout, 'open');
  t.match(answered, { mode: 'probe', target: doc.url, outcome: 'answered', status: 404 });

  // A closed port refuses; a port that accepts but never answers behaves like dropped packets.
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const refused = await runNode(generatorPath, ['--probe', '--target', `http://127.0.0.1:${closedPort}`], {});
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
    [[], { MODE: 'chaos' }, /MODE must be traffic or probe, not "chaos"/],
    [[], { BATCH_WAIT_MS: '5-1' }, /BATCH_WAIT_MS: 1 is less than 5/],
    [[], { ERROR_TIMEOUT_MS: 'x' }, /ERROR_TIMEOUT_MS must be a non-negative number, not "x"/],
  ];
  const runs = await Promise.all(cases.map(([args, env]) => runNode(generatorPath, args, env, 5000)));
  runs.forEach((run, i) => {
    t.equal(run.code, 2);
    t.match(run.stderr, cases[i]![2]);
    t.equal(run.stdout, '', 'nothing ran');
  });
});
