// The demo agents as real processes: the workflow across three agents, error scenarios, inference latency, shutdown.
import net from 'node:net';
import t from 'tap';
import { agentPath, loggedRequests, request, runNode, startAgent, startWorkflow } from './processes.ts';

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

t.test('a task runs the workflow coordinator → document → llm and is completed', async (t) => {
  const w = await startWorkflow();
  t.teardown(w.stop);

  const task = await request(`${w.coordinator.url}/api/v1/tasks`, 'POST', { task: 'process_document', document_id: 'doc_123' });
  t.equal(task.status, 200);
  t.equal(task.json.status, 'processed');
  t.equal(task.json.document_id, 'doc_123');
  t.match(task.json.task_id, /^task_/);
  t.same(
    task.json.steps.map((s: any) => [s.step, s.service, s.method, s.path, s.status, s.by]),
    [
      ['analyze', 'document-agent-service', 'POST', '/api/v1/analyze', 200, 'agent-coordinator'],
      ['generate', 'llm-service', 'POST', '/api/v1/generate', 200, 'document-agent'],
      ['results', 'document-agent-service', 'GET', '/api/v1/results/doc_123', 200, 'agent-coordinator'],
    ],
  );
  const [analyze, generate] = task.json.steps;
  t.ok(analyze.ms >= generate.ms, 'analyze waits for the inference it triggers');
  t.ok(task.json.ms >= analyze.ms, 'the task spans its steps');

  const done = await request(`${w.coordinator.url}/api/v1/complete`, 'POST', { task_id: task.json.task_id });
  t.same([done.status, done.json], [200, { task_id: task.json.task_id, status: 'completed' }]);

  // Who called whom, from each agent's own request log: the coordinator never calls llm-service itself
  // (its LLM_URL is the unreachable in-cluster default), document-agent does.
  const paths = async (a: typeof w.llm, n: number) => (await loggedRequests(a, n)).map((r) => `${r.method} ${r.path} ${r.status}`);
  t.same(await paths(w.llm, 1), ['POST /api/v1/generate 200']);
  t.same(await paths(w.document, 2), ['POST /api/v1/analyze 200', 'GET /api/v1/results/doc_123 200']);
  t.same(await paths(w.coordinator, 2), ['POST /api/v1/tasks 200', 'POST /api/v1/complete 200']);
  for (const entry of w.coordinator.requests()) t.type(entry.ms, 'number');

  // A replica that did not run the analysis answers, and says it does not hold the result.
  const other = await startAgent('document', { LLM_URL: w.llm.url });
  t.teardown(other.stop);
  const miss = await request(`${other.url}/api/v1/results/doc_123`, 'GET');
  t.same([miss.status, miss.json.found], [200, false]);
  const hit = await request(`${w.document.url}/api/v1/results/doc_123`, 'GET');
  t.same([hit.status, hit.json.found, hit.json.document_id], [200, true, 'doc_123']);
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

t.test('a workflow whose inference is unreachable fails at analyze with the reason', async (t) => {
  const port = await closedPort();
  const document = await startAgent('document', { LLM_URL: `http://127.0.0.1:${port}` });
  const coordinator = await startAgent('coordinator', { DOCUMENT_URL: document.url });
  t.teardown(() => Promise.all([coordinator.stop(), document.stop()]));
  const task = await request(`${coordinator.url}/api/v1/tasks`, 'POST', { task: 'process_document' });
  t.equal(task.status, 502);
  t.equal(task.json.status, 'failed');
  t.equal(task.json.failed_step, 'analyze');
  t.same(task.json.steps.map((s: any) => [s.step, s.status]), [['analyze', 502], ['generate', 'refused']]);
  const done = await request(`${coordinator.url}/api/v1/complete`, 'POST', { task_id: task.json.task_id });
  t.same([done.status, done.json.status], [200, 'failed']);
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
  t.ok(log.some((r) => r.aborted === true && r.status === 0), 'the abandoned request is logged as aborted, with no status');
  t.ok(log.some((r) => r.status === 504));
});

t.test('inference latency is long-tailed around the configured median and capped', async (t) => {
  const llm = await startAgent('llm', { LLM_LATENCY_MS: '4', LLM_LATENCY_SIGMA: '1', LLM_LATENCY_MAX_MS: '150', LLM_SEED: '42' });
  t.teardown(llm.stop);
  const inference: number[] = [];
  const measured: number[] = [];
  for (let round = 0; round < 10; round++) {
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => request(`${llm.url}/api/v1/generate`, 'POST', { prompt: 'Analyze document content' })),
    );
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
