// An agent redacts L7 flows as Cilium's Hubble parser does under hubble-redact-*: query strings and fragments,
// URL passwords, header values by allow/deny list, Kafka API keys; nothing at all without hubble-redact-enabled.
import t, { type Test } from 'tap';
import { connectObserver } from '../../../lib/hubble/client.ts';
import type { Flow, GetFlowsResponse } from '../../../lib/flows/types.ts';
import { startHubbleAgent } from '../../../lib/sim/hubble/agent.ts';
import { hubbleAgentConfig } from '../../../lib/sim/hubble/agent-config.ts';
import { REDACTED, redactFlow, redactHeader, redactUrl, type HubbleRedactConfig } from '../../../lib/sim/hubble/agent-redact.ts';
import { ConnectionFlows } from '../../../lib/sim/hubble/flows.ts';
import { SimHubble } from '../../../lib/sim/hubble/hub.ts';
import { agentPod, clusterName, demoEndpoint, forwardTo, nodeIP, testDatapath } from './fixtures.ts';

const redact = (keys: Record<string, string>): HubbleRedactConfig => hubbleAgentConfig({ 'enable-hubble': 'true', ...keys }).redact;
const query = redact({ 'hubble-redact-enabled': 'true', 'hubble-redact-http-urlquery': 'true' });

t.test('URLs: the query string and fragment go, the password is replaced, the rest is kept as written', async (t) => {
  const url = 'http://llm-service.genai:8080/v1/chat?api_key=sk-live-123&password=hunter2#top';
  t.equal(redactUrl(url, query), 'http://llm-service.genai:8080/v1/chat');
  t.equal(redactUrl('/search?q=x', query), '/search');
  t.equal(redactUrl('http://h/p#frag', query), 'http://h/p');
  t.equal(redactUrl('http://bob:s3cret@h/p?a=1', query), `http://bob:${REDACTED}@h/p`);
  t.equal(redactUrl('http://bob@h/p', query), 'http://bob@h/p', 'a user without a password keeps it');
  t.equal(redactUrl('http://bob:s3cret@h/p?a=1', redact({ 'hubble-redact-enabled': 'true' })), `http://bob:${REDACTED}@h/p?a=1`, 'userinfo is on by default');
  t.equal(
    redactUrl('http://bob:s3cret@h/p?a=1', redact({ 'hubble-redact-enabled': 'true', 'hubble-redact-http-userinfo': 'false' })),
    'http://bob:s3cret@h/p?a=1',
  );
  t.equal(redactUrl(url, redact({ 'hubble-redact-http-urlquery': 'true' })), url, 'nothing without hubble-redact-enabled');
});

t.test('headers: all values without a list; an allow list keeps only its names, a deny list hides only its own', async (t) => {
  t.equal(redactHeader('Traceparent', 'x', query), REDACTED);
  const allow = redact({ 'hubble-redact-enabled': 'true', 'hubble-redact-http-headers-allow': 'traceparent' });
  t.equal(redactHeader('Traceparent', 'x', allow), 'x');
  t.equal(redactHeader('X-Api-Key', 'k', allow), REDACTED);
  const deny = redact({ 'hubble-redact-enabled': 'true', 'hubble-redact-http-headers-deny': 'x-api-key' });
  t.equal(redactHeader('X-API-KEY', 'k', deny), REDACTED);
  t.equal(redactHeader('Traceparent', 'x', deny), 'x');
  t.equal(redactHeader('X-Api-Key', 'k', redact({})), 'k');
});

t.test('flows: the summary loses what the URL lost; Kafka API keys; flows without L7 are the same object', async (t) => {
  const flow: Flow = {
    Type: 'L7',
    l7: { type: 'REQUEST', http: { method: 'GET', url: 'http://a/b?token=t0k', protocol: 'HTTP/1.1', headers: [{ key: 'Traceparent', value: '00-1' }] } },
    Summary: 'HTTP/1.1 GET http://a/b?token=t0k',
  };
  const out = redactFlow(flow, query);
  t.same(out.l7?.http, { method: 'GET', url: 'http://a/b', protocol: 'HTTP/1.1', headers: [{ key: 'Traceparent', value: REDACTED }] });
  t.equal(out.Summary, 'HTTP/1.1 GET http://a/b');
  t.equal(flow.l7?.http?.url, 'http://a/b?token=t0k', 'the original is not changed');
  const kafka = redactFlow(
    { l7: { kafka: { api_key: 'secret', topic: 't' } } },
    redact({ 'hubble-redact-enabled': 'true', 'hubble-redact-kafka-apikey': 'true' }),
  );
  t.same(kafka.l7?.kafka, { api_key: REDACTED, topic: 't' });
  const l4: Flow = { Type: 'L3_L4' };
  t.equal(redactFlow(l4, query), l4);
});

async function agentWith(t: Test, hub: SimHubble, keys: Record<string, string>) {
  const dp = await testDatapath(t);
  const pod = agentPod(dp, 'sim-worker');
  const config = hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-listen-address': ':4244', ...keys });
  const agent = await startHubbleAgent({ hub, node: 'sim-worker', ip: nodeIP('sim-worker'), config, net: pod, version: '1.16.5' });
  t.teardown(() => agent.stop());
  const fwd = await forwardTo(t, pod, 4244);
  const client = await connectObserver(fwd.address, { what: 'Hubble on sim-worker' });
  t.teardown(() => client.close());
  return client;
}

function httpFlows(hub: SimHubble): void {
  const client = demoEndpoint('agent-coordinator-7d4b9c8f6-x2v4k', 'agent-coordinator', 'sim-worker', '127.244.1.10');
  const server = demoEndpoint('llm-service-5c7f8d9b4-q8z2n', 'llm-service', 'sim-worker', '127.244.1.11');
  const conn = new ConnectionFlows({ client, server, protocol: 'TCP', clientPort: 41000, serverPort: 8080 }, hub.sink, { clusterName });
  const url = 'http://llm-service.genai:8080/v1/generate?api_key=sk-live-123&password=hunter2';
  conn.httpRequest('ingress', { method: 'POST', url });
  conn.httpResponse('ingress', { code: 200, method: 'POST', url, latencyNs: 1_500_000n });
}

t.test('an agent with URL-query redaction on stores and serves no query string', async (t) => {
  const hub = new SimHubble({ clusterName });
  const client = await agentWith(t, hub, { 'hubble-redact-enabled': 'true', 'hubble-redact-http-urlquery': 'true' });
  httpFlows(hub);
  const got: GetFlowsResponse[] = [];
  for await (const r of client.getFlows({ number: 10 })) got.push(r);
  const l7 = got.filter((r) => r.flow?.l7);
  t.equal(l7.length, 2);
  const text = JSON.stringify(got);
  t.notMatch(text, /api_key|password|sk-live|hunter2/, 'no secret reached the ring');
  t.same(
    l7.map((r) => r.flow!.l7!.http!.url),
    ['http://llm-service.genai:8080/v1/generate', 'http://llm-service.genai:8080/v1/generate'],
  );
  t.match(l7[1]!.flow!.Summary, /^HTTP\/1\.1 200 \d+ms \(POST http:\/\/llm-service\.genai:8080\/v1\/generate\)$/);
});

t.test('an agent without hubble-redact-enabled keeps the URL whole, as Cilium does', async (t) => {
  const hub = new SimHubble({ clusterName });
  const client = await agentWith(t, hub, { 'hubble-redact-http-urlquery': 'true' });
  httpFlows(hub);
  const got: GetFlowsResponse[] = [];
  for await (const r of client.getFlows({ number: 10 })) got.push(r);
  t.match(JSON.stringify(got), 'api_key=sk-live-123');
});
