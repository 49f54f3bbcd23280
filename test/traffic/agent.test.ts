// The demo agents as real processes: the asynchronous workflow across three agents, per-hop latency, replicas, error scenarios, shutdown.
import t from 'tap';
import {
  agentPath,
  closedPort,
  loggedRequests,
  medianServerMs,
  quickAgents,
  request,
  runNode,
  startAgent,
  startBalancer,
  startWorkflow,
  waitForTask,
} from './processes.ts';

const stepsOf = (task: any) => task.steps.map((s: any) => `${s.step} ${s.status}`);
/** The most polls a wait of `ms` can hold when polls are at least `minIntervalMs` apart (the first one too). */
const pollBound = (ms: number, minIntervalMs: number) => Math.floor(ms / minIntervalMs) + 1;

t.test('a task is accepted at once, runs coordinator → document → llm in the background, and is completed', async (t) => {
  const w = await startWorkflow({ llm: { LLM_LATENCY_MS: '100', LLM_LATENCY_SIGMA: '0' } });
  t.teardown(w.stop);

  const accepted = await request(`${w.coordinator.url}/api/v1/tasks`, 'POST', { task: 'process_document', document_id: 'doc_123' });
  t.equal(accepted.status, 202);
  t.match(accepted.json, { task: 'process_document', document_id: 'doc_123', status: 'pending', task_id: /^task_/ });
  const taskId: string = accepted.json.task_id;
  t.equal(accepted.headers.get('location'), `/api/v1/tasks/${taskId}`);

  // Inference takes 100 ms: the task cannot be complete yet, and the coordinator says so rather than pretending.
  const early = await request(`${w.coordinator.url}/api/v1/complete`, 'POST', { task_id: taskId });
  t.same([early.status, early.json.error], [409, 'task_pending']);
  const pending = await request(`${w.coordinator.url}/api/v1/tasks/${taskId}`, 'GET');
  t.same([pending.status, pending.json.status], [200, 'pending']);

  const task = (await waitForTask(w.coordinator.url, taskId)).json;
  t.equal(task.status, 'done');
  t.notOk(task.failed_step);
  // analyze (202), results polled until ready, and the inference document-agent made in between.
  const steps: string[] = stepsOf(task);
  t.equal(steps[0], 'analyze 202');
  t.same(steps.slice(-2), ['generate 200', 'results 200']);
  t.same(new Set(steps.slice(1, -2)), new Set(steps.length > 3 ? ['results 200'] : []), 'not-ready polls in between');
  const [analyze] = task.steps;
  t.match(analyze, { service: 'document-agent-service', method: 'POST', path: '/api/v1/analyze', by: 'agent-coordinator' });
  const generate = task.steps.at(-2);
  t.match(generate, { service: 'llm-service', method: 'POST', path: '/api/v1/generate', by: 'document-agent' });
  t.ok(generate.ms >= 100, `the inference took its 100 ms (${generate.ms})`);
  const polls = task.steps.filter((s: any) => s.step === 'results');
  t.match(polls.at(-1), { path: '/api/v1/results/doc_123', ready: true, found: true, poll: polls.length });
  t.ok(
    polls.slice(0, -1).every((p: any) => p.ready === false),
    'every earlier poll was answered not ready',
  );
  t.same(task.results_wait.outcome, 'ready');
  t.equal(task.results_wait.polls, polls.length);
  t.ok(polls.length <= pollBound(task.results_wait.ms, 5), `${polls.length} polls in ${task.results_wait.ms} ms, at least 5 ms apart`);

  const done = await request(`${w.coordinator.url}/api/v1/complete`, 'POST', { task_id: taskId });
  t.same([done.status, done.json], [200, { task_id: taskId, status: 'completed' }]);
  t.equal((await request(`${w.coordinator.url}/api/v1/tasks/${taskId}`, 'GET')).json.completed, true);

  // Who called whom, from each agent's own request log: the coordinator never calls llm-service itself
  // (its LLM_URL is the unreachable in-cluster default), document-agent does.
  const log = async (a: typeof w.llm, n: number) => [...new Set((await loggedRequests(a, n)).map((r) => `${r.method} ${r.path} ${r.status}`))];
  t.same(await log(w.llm, 1), ['POST /api/v1/generate 200']);
  const served = (a: typeof w.llm, path: string) => a.requests().find((r) => r.path === path)!.ms;
  t.ok(served(w.document, '/api/v1/analyze') < served(w.llm, '/api/v1/generate'), 'analyze is answered without waiting for the inference');
  t.same(await log(w.document, 1 + polls.length), ['POST /api/v1/analyze 202', 'GET /api/v1/results/doc_123 200']);
  t.same(
    (await log(w.coordinator, 5)).filter((l) => !l.startsWith('GET')),
    ['POST /api/v1/tasks 202', 'POST /api/v1/complete 409', 'POST /api/v1/complete 200'],
  );
  t.ok(w.coordinator.requests().some((r) => r.method === 'GET' && r.path === `/api/v1/tasks/${taskId}` && r.status === 200));

  // A replica that did not run the analysis answers, not ready, and says it does not hold the result.
  const other = await startAgent('document', { LLM_URL: w.llm.url });
  t.teardown(other.stop);
  const miss = await request(`${other.url}/api/v1/results/doc_123`, 'GET');
  t.same([miss.status, miss.json.ready, miss.json.found], [200, false, false]);
  const hit = await request(`${w.document.url}/api/v1/results/doc_123`, 'GET');
  t.match([hit.status, hit.json], [200, { ready: true, found: true, status: 'done', document_id: 'doc_123', generate: { status: 200 } }]);
  const unknown = await request(`${w.coordinator.url}/api/v1/tasks/task_456`, 'GET');
  t.same([unknown.status, unknown.json.error], [404, 'unknown_task']);
});

t.test('each hop answers in its own time: llm-service slowest, then document-agent, then the coordinator', async (t) => {
  // Server-side time per request, from the agents' request logs: what Hubble measures at each server's ingress proxy.
  const w = await startWorkflow({
    llm: { LLM_LATENCY_MS: '150', LLM_LATENCY_SIGMA: '0.1' },
    document: { DOCUMENT_INGEST_MS: '30-40', DOCUMENT_LOOKUP_MS: '10-15' },
    coordinator: { POLL_INTERVAL_MS: '30-40' },
  });
  t.teardown(w.stop);
  // One task first, so each process has made its first outgoing call (a one-time set-up) before anything is measured.
  const warmUp = await request(`${w.coordinator.url}/api/v1/tasks`, 'POST', { document_id: 'doc_warm_up' });
  t.equal((await waitForTask(w.coordinator.url, warmUp.json.task_id, 100, 20)).json.status, 'done');
  const [llmSkip, documentSkip, coordinatorSkip] = await Promise.all([w.llm, w.document, w.coordinator].map(async (a) => (await loggedRequests(a, 1)).length));
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const batch = await Promise.all([1, 2].map((n) => request(`${w.coordinator.url}/api/v1/tasks`, 'POST', { document_id: `doc_${i}_${n}` })));
    for (const a of batch) ids.push(a.json.task_id);
  }
  const tasks = await Promise.all(ids.map(async (id) => (await waitForTask(w.coordinator.url, id, 100, 20)).json));
  t.same(
    tasks.map((task) => task.status),
    ids.map(() => 'done'),
  );
  const llmGenerate = medianServerMs(w.llm, (r) => r.path === '/api/v1/generate', llmSkip);
  const analyze = medianServerMs(w.document, (r) => r.path === '/api/v1/analyze', documentSkip);
  const results = medianServerMs(w.document, (r) => r.path.startsWith('/api/v1/results/'), documentSkip);
  const document = medianServerMs(w.document, () => true, documentSkip);
  const tasksPost = medianServerMs(w.coordinator, (r) => r.method === 'POST' && r.path === '/api/v1/tasks', coordinatorSkip);
  const coordinator = medianServerMs(w.coordinator, () => true, coordinatorSkip);
  const medians = `generate ${llmGenerate}, analyze ${analyze}, results ${results}, document ${document}, tasks ${tasksPost}, coordinator ${coordinator} ms`;
  t.ok(llmGenerate > Math.max(analyze, results), `llm-service is the slowest: ${medians}`);
  t.ok(Math.min(analyze, results) > tasksPost, `document-agent is slower than the coordinator's accept: ${medians}`);
  t.ok(llmGenerate > document && document > coordinator, `per edge: llm > document > coordinator: ${medians}`);
});

t.test('with two document-agent replicas behind one address, the coordinator polls until the holder answers', async (t) => {
  // Inference long enough for several polls each, so some of them reach the replica without the result.
  const llm = await startAgent('llm', { ...quickAgents.llm, LLM_LATENCY_MS: '40', LLM_LATENCY_SIGMA: '0' });
  const replicas = await Promise.all(
    ['document-a', 'document-b'].map((name) => startAgent('document', { LLM_URL: llm.url, HOSTNAME: name, ...quickAgents.document })),
  );
  const service = await startBalancer(replicas);
  const coordinator = await startAgent('coordinator', { DOCUMENT_URL: service.url, ...quickAgents.coordinator });
  t.teardown(async () => {
    await coordinator.stop();
    await service.stop();
    await Promise.all([...replicas.map((r) => r.stop()), llm.stop()]);
  });

  // Which replica a poll reaches depends on which pooled connection the coordinator reuses, and how many polls a task
  // takes on how busy the machine is: tasks go in rounds of four until a poll has reached the other replica (at most
  // five rounds), each task checked as it completes.
  let misses = 0;
  for (let round = 0; round < 5 && misses === 0; round++) {
    const accepted = await Promise.all([1, 2, 3, 4].map((n) => request(`${coordinator.url}/api/v1/tasks`, 'POST', { document_id: `doc_${round * 4 + n}` })));
    const tasks = await Promise.all(accepted.map(async (a) => (await waitForTask(coordinator.url, a.json.task_id)).json));
    t.same(
      tasks.map((task) => task.status),
      ['done', 'done', 'done', 'done'],
    );
    for (const task of tasks) {
      const holder = task.steps[0].replica;
      t.ok(['document-a', 'document-b'].includes(holder), `analyze names the replica that took it (${holder})`);
      const polls = task.steps.filter((s: any) => s.step === 'results');
      t.match(polls.at(-1), { ready: true, found: true, replica: holder }, 'the ready answer comes from the holder');
      for (const p of polls.slice(0, -1)) {
        t.equal(p.ready, false);
        t.equal(p.found, p.replica === holder, 'found is true only on the holder');
        if (p.replica !== holder) misses++;
      }
      t.ok(polls.length <= pollBound(task.results_wait.ms, 5), `${polls.length} polls in ${task.results_wait.ms} ms, at least 5 ms apart`);
    }
  }
  t.ok(misses > 0, `some polls reached the other replica (${misses}) and the tasks still completed`);
  t.ok(
    service.connections.every((n) => n > 0),
    `both replicas served connections: ${service.connections.join(', ')}`,
  );
});

t.test('complete and analyze reject what they cannot act on', async (t) => {
  const w = await startWorkflow();
  t.teardown(w.stop);
  const unknown = await request(`${w.coordinator.url}/api/v1/complete`, 'POST', { task_id: 'task_456' });
  t.same([unknown.status, unknown.json.error], [404, 'unknown_task']);
  const missing = await request(`${w.coordinator.url}/api/v1/complete`, 'POST', {});
  t.same([missing.status, missing.json.error], [400, 'missing_field']);
  const badJson = await request(`${w.coordinator.url}/api/v1/tasks`, 'POST', '{"task": ');
  t.same([badJson.status, badJson.json.error], [400, 'invalid_json']);
  const noDoc = await request(`${w.document.url}/api/v1/analyze`, 'POST', { prompt: 'x' });
  t.same([noDoc.status, noDoc.json.error], [400, 'missing_field']);
  const wrongMethod = await request(`${w.coordinator.url}/api/v1/tasks`, 'GET');
  t.same([wrongMethod.status, wrongMethod.headers.get('allow')], [405, 'POST']);
  const tooBig = await request(`${w.llm.url}/api/v1/generate`, 'POST', { prompt: 'x'.repeat(1024 * 1024 + 1) });
  t.equal(tooBig.status, 413);
});

t.test('a workflow whose inference is unreachable fails at generate with the reason', async (t) => {
  const port = await closedPort();
  const document = await startAgent('document', { LLM_URL: `http://127.0.0.1:${port}`, ...quickAgents.document });
  const coordinator = await startAgent('coordinator', { DOCUMENT_URL: document.url, ...quickAgents.coordinator });
  t.teardown(() => Promise.all([coordinator.stop(), document.stop()]));
  const accepted = await request(`${coordinator.url}/api/v1/tasks`, 'POST', { task: 'process_document' });
  t.equal(accepted.status, 202, 'accepted before anything is tried');
  const task = (await waitForTask(coordinator.url, accepted.json.task_id)).json;
  t.equal(task.status, 'failed');
  t.equal(task.failed_step, 'generate');
  t.match(task.error, /refused|ECONNREFUSED/);
  t.same(stepsOf(task).at(0), 'analyze 202');
  t.same(stepsOf(task).slice(-2), ['generate refused', 'results 200']);
  t.match(task.steps.at(-1), { ready: true, found: true });
  t.equal(task.results_wait.outcome, 'ready', 'a failed inference is a result too: the wait ends');
  const done = await request(`${coordinator.url}/api/v1/complete`, 'POST', { task_id: task.task_id });
  t.same([done.status, done.json.status], [200, 'failed']);
});

t.test('the coordinator stops polling at POLL_TIMEOUT_MS and says how long it waited', async (t) => {
  const w = await startWorkflow({ llm: { LLM_LATENCY_MS: '800', LLM_LATENCY_SIGMA: '0' }, coordinator: { POLL_INTERVAL_MS: '20-30', POLL_TIMEOUT_MS: '150' } });
  t.teardown(w.stop);
  const accepted = await request(`${w.coordinator.url}/api/v1/tasks`, 'POST', { document_id: 'doc_slow' });
  const task = (await waitForTask(w.coordinator.url, accepted.json.task_id)).json;
  t.match(task, { status: 'failed', failed_step: 'results', error: /^the result of doc_slow was not ready after \d+ polls in \d+(\.\d+)? ms$/ });
  t.equal(task.results_wait.outcome, 'timeout');
  // 150 ms at 20-30 ms a poll, plus the one poll made at the deadline.
  t.ok(task.results_wait.polls >= 1 && task.results_wait.polls <= 9, `${task.results_wait.polls} polls`);
  t.ok(task.results_wait.ms >= 150 && task.results_wait.ms < 2000, `gave up after ${task.results_wait.ms} ms, not at the 800 ms inference`);
  t.notOk(
    task.steps.some((s: any) => s.step === 'generate'),
    'the inference was still running',
  );
});

t.test('the error scenarios behave as their names say', async (t) => {
  const [coordinator, llm] = await Promise.all([startAgent('coordinator'), startAgent('llm', { TIMEOUT_DELAY_MS: '1500' })]);
  t.teardown(() => Promise.all([coordinator.stop(), llm.stop()]));

  const invalid = await request(`${coordinator.url}/api/v1/invalid`, 'POST', {});
  t.same([invalid.status, invalid.json.error], [400, 'invalid_request']);
  t.match(invalid.headers.get('content-type'), /application\/json/);
  const nonexistent = await request(`${coordinator.url}/api/v1/nonexistent`, 'GET');
  t.same([nonexistent.status, nonexistent.json.error], [404, 'not_found']);

  // The guide's caller gives up after 1 s; the answer comes only later.
  const payload = { large_payload: 'x'.repeat(10_000) };
  await t.rejects(request(`${llm.url}/api/v1/timeout`, 'POST', payload, 1000), { name: 'TimeoutError' });
  const patient = await request(`${llm.url}/api/v1/timeout`, 'POST', payload, 5000);
  t.same([patient.status, patient.json.error], [504, 'timeout']);
  t.ok(patient.ms >= 1400, `answered after the delay (${patient.ms} ms)`);

  const log = (await loggedRequests(llm, 2)).filter((r) => r.path === '/api/v1/timeout');
  t.equal(log.length, 2, 'one log line per request, the abandoned one included');
  t.ok(
    log.some((r) => r.aborted === true && r.status === 0),
    'the abandoned request is logged as aborted, with no status',
  );
  t.ok(log.some((r) => r.status === 504));
});

t.test('inference latency is long-tailed around the configured median and capped', async (t) => {
  const llm = await startAgent('llm', { LLM_LATENCY_MS: '4', LLM_LATENCY_SIGMA: '1', LLM_LATENCY_MAX_MS: '150', LLM_SEED: '42' });
  t.teardown(llm.stop);
  const inference: number[] = [];
  const measured: number[] = [];
  for (let round = 0; round < 10; round++) {
    const answers = await Promise.all(Array.from({ length: 20 }, () => request(`${llm.url}/api/v1/generate`, 'POST', { prompt: 'Analyze document content' })));
    for (const a of answers) {
      t.equal(a.status, 200);
      inference.push(a.json.inference_ms);
      measured.push(a.ms);
      if (a.ms < a.json.inference_ms) t.fail(`answered in ${a.ms} ms, before its ${a.json.inference_ms} ms inference`);
    }
  }
  inference.sort((a, b) => a - b);
  const at = (p: number) => inference[Math.ceil((p / 100) * inference.length) - 1]!;
  t.ok(at(50) > 2 && at(50) < 8, `median ${at(50)} ms near the configured 4 ms`);
  t.ok(at(95) / at(50) > 2.5, `p95/p50 = ${(at(95) / at(50)).toFixed(2)}: a long tail`);
  t.ok(inference.at(-1)! <= 150, 'capped at LLM_LATENCY_MAX_MS');
});

t.test('SIGTERM lets the request in flight finish, then the agent exits 0', async (t) => {
  const llm = await startAgent('llm', { LLM_LATENCY_MS: '400', LLM_LATENCY_SIGMA: '0' });
  const inFlight = request(`${llm.url}/api/v1/generate`, 'POST', { prompt: 'slow' });
  await new Promise((r) => setTimeout(r, 100));
  const exited = llm.stop();
  const answer = await inFlight;
  t.equal(answer.status, 200);
  t.equal(await exited, 0);
  t.ok(llm.lines.some((l) => JSON.parse(l).msg === 'shutting down'));
  await t.rejects(request(`${llm.url}/healthz`, 'GET', undefined, 1000), 'no longer listening');
});

t.test('healthz answers for every role; bad settings stop the agent with exit 2', async (t) => {
  const doc = await startAgent('document', { LLM_URL: 'http://127.0.0.1:9' });
  t.teardown(doc.stop);
  const health = await request(`${doc.url}/healthz`, 'GET');
  t.same([health.status, health.json], [200, { status: 'ok', role: 'document' }]);

  const byArgv = await startAgent('', {}, ['--role', 'llm']);
  t.teardown(byArgv.stop);
  t.same((await request(`${byArgv.url}/healthz`, 'GET')).json, { status: 'ok', role: 'llm' });

  const bogus = await runNode(agentPath, [], { AGENT_ROLE: 'bogus', PORT: '0' }, 5000);
  t.equal(bogus.code, 2);
  t.match(bogus.stderr, /AGENT_ROLE must be coordinator, document or llm, not "bogus"/);
  const port = await runNode(agentPath, ['llm'], { PORT: 'eighty' }, 5000);
  t.equal(port.code, 2);
  t.match(port.stderr, /PORT must be a non-negative number, not "eighty"/);
});
