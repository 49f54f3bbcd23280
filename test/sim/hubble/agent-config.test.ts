// How a Cilium agent reads its Hubble keys from cilium-config: Go's booleans, listen address, ring capacity rules.
import t from 'tap';
import { AgentConfigError, hubbleAgentConfig } from '../../../lib/sim/hubble/agent-config.ts';
import { noRedaction } from '../../../lib/sim/hubble/agent-redact.ts';

t.test('cilium-config: enable-hubble as Go parses booleans; settings only matter when enabled', async (t) => {
  for (const v of ['true', 'True', 'TRUE', '1', 't']) t.equal(hubbleAgentConfig({ 'enable-hubble': v }).enabled, true, v);
  for (const v of ['false', 'yes', 'on', '']) t.equal(hubbleAgentConfig({ 'enable-hubble': v }).enabled, false, v);
  t.equal(hubbleAgentConfig(undefined).enabled, false, 'no ConfigMap: no Hubble');
  t.same(hubbleAgentConfig({ 'enable-hubble': 'false', 'hubble-event-buffer-capacity': 'junk' }).capacity, 4095);
});

t.test('cilium-config: listen address and ring capacity', async (t) => {
  t.same(hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-listen-address': ':4244' }), {
    enabled: true,
    listenPort: 4244,
    loopbackOnly: false,
    capacity: 4095,
    metrics: { port: undefined, loopbackOnly: false, metrics: [], openMetrics: false },
    redact: noRedaction,
  });
  t.same(hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-listen-address': '127.0.0.1:4250', 'hubble-event-buffer-capacity': '65535' }), {
    enabled: true,
    listenPort: 4250,
    loopbackOnly: true,
    capacity: 65535,
    metrics: { port: undefined, loopbackOnly: false, metrics: [], openMetrics: false },
    redact: noRedaction,
  });
  t.equal(hubbleAgentConfig({ 'enable-hubble': 'true' }).listenPort, undefined, 'unset: only the local socket, as Cilium');
  t.throws(
    () => hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-listen-address': '4244' }),
    new AgentConfigError('hubble-listen-address "4244": expected [host]:port, e.g. ":4244"'),
  );
  t.throws(() => hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-event-buffer-capacity': '4096' }), {
    message: 'invalid capacity: must be one less than an integer power of two: 4096',
  });
  t.throws(() => hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-event-buffer-capacity': '131071' }), { message: 'invalid capacity: too large: 131071' });
  t.throws(() => hubbleAgentConfig({ 'enable-hubble': 'true', 'hubble-event-buffer-capacity': 'lots' }), { message: /not an integer/ });
});

t.test('cilium-config: the hubble-redact-* keys, off unless hubble-redact-enabled', async (t) => {
  const on = { 'enable-hubble': 'true' };
  t.same(
    hubbleAgentConfig({ ...on, 'hubble-redact-http-urlquery': 'true' }).redact,
    { ...noRedaction, httpUrlQuery: true },
    'the query key alone is read, and does nothing without enabled',
  );
  t.same(
    hubbleAgentConfig({
      ...on,
      'hubble-redact-enabled': 'true',
      'hubble-redact-http-urlquery': 'true',
      'hubble-redact-kafka-apikey': '1',
      'hubble-redact-http-headers-deny': 'Authorization, X-Api-Key cookie',
    }).redact,
    {
      enabled: true,
      httpUrlQuery: true,
      httpUserInfo: true,
      kafkaApiKey: true,
      headersAllow: new Set(),
      headersDeny: new Set(['authorization', 'x-api-key', 'cookie']),
    },
  );
  t.equal(hubbleAgentConfig({ ...on, 'hubble-redact-enabled': 'true', 'hubble-redact-http-userinfo': 'false' }).redact.httpUserInfo, false);
  t.throws(
    () => hubbleAgentConfig({ ...on, 'hubble-redact-http-headers-allow': 'traceparent', 'hubble-redact-http-headers-deny': 'cookie' }),
    new AgentConfigError('Only one of --hubble-redact-http-headers-allow and --hubble-redact-http-headers-deny can be specified, not both'),
  );
});
