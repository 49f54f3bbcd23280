// What hubble observe prints in each output format, for representative flows, lost events and node status.
import t from 'tap';
import { compactLine, createPrinter, type OutputFormat, type PrinterOptions } from '../../../lib/hubble/printer/printer.ts';
import { synthResponses } from '../../fixtures/synth.ts';
import type { Flow, GetFlowsResponse } from '../../../lib/flows/types.ts';
import { hubbleTestDrop } from '../../fixtures/hubble-cli-flows.ts';

interface Printed {
  out: string;
  err: string;
}

function print(format: OutputFormat, records: GetFlowsResponse[], opts: Partial<PrinterOptions> = {}): Printed {
  const got = { out: '', err: '' };
  const p = createPrinter(format, {
    out: { write: (s: string) => (got.out += s) },
    err: { write: (s: string) => (got.err += s) },
    color: 'never',
    env: {},
    ...opts,
  });
  for (const r of records) p.write(r);
  p.end();
  return got;
}

const drop = hubbleTestDrop;

const with_ = (patch: Partial<Flow>, base: Flow = drop): Flow => {
  const f = { ...base, ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete (f as Record<string, unknown>)[k];
  return f;
};

t.test('compact: time, endpoints with ports and identities, arrow, type, verdict, summary', async (t) => {
  t.equal(
    print('compact', [{ flow: drop }]).out,
    'Jan  1 00:20:34.567: 1.1.1.1:31793 (health) -> 2.2.2.2:8080 (ID:12345) Policy denied DROPPED (TCP Flags: SYN)\n',
  );
  t.equal(
    print('compact', [{ flow: drop }], { nodeName: true }).out,
    'Jan  1 00:20:34.567 [k8s1]: 1.1.1.1:31793 (health) -> 2.2.2.2:8080 (ID:12345) Policy denied DROPPED (TCP Flags: SYN)\n',
  );
});

t.test('compact: replies are flipped and printed with <-, unknown direction with <>', async (t) => {
  t.equal(
    compactLine(with_({ is_reply: true }), { nodeName: true }),
    'Jan  1 00:20:34.567 [k8s1]: 2.2.2.2:8080 (ID:12345) <- 1.1.1.1:31793 (health) Policy denied DROPPED (TCP Flags: SYN)\n',
  );
  t.equal(
    compactLine(with_({ is_reply: undefined })),
    'Jan  1 00:20:34.567: 1.1.1.1:31793 (health) <> 2.2.2.2:8080 (ID:12345) Policy denied DROPPED (TCP Flags: SYN)\n',
  );
  t.equal(
    compactLine(with_({ is_reply: undefined, event_type: { type: 5 }, traffic_direction: 'EGRESS' })),
    'Jan  1 00:20:34.567: 1.1.1.1:31793 (health) <> 2.2.2.2:8080 (ID:12345) policy-verdict:none EGRESS DENIED (TCP Flags: SYN)\n',
  );
  t.equal(
    compactLine(with_({ verdict: 'FORWARDED', event_type: { type: 5 }, policy_match_type: 2, traffic_direction: 'INGRESS' })),
    'Jan  1 00:20:34.567: 1.1.1.1:31793 (health) -> 2.2.2.2:8080 (ID:12345) policy-verdict:L3-L4 INGRESS ALLOWED (TCP Flags: SYN)\n',
  );
  const matchTypes = [5, 6, 7].map((n) =>
    compactLine(with_({ verdict: 'REDIRECTED', event_type: { type: 5 }, policy_match_type: n, traffic_direction: 'EGRESS' })),
  );
  t.same(
    matchTypes.map((l) => / (policy-verdict:\S+ \S+ \S+) /.exec(l)?.[1]),
    ['policy-verdict:L3-Proto EGRESS ALLOWED', 'policy-verdict:Proto-Only EGRESS ALLOWED', 'policy-verdict:unknown EGRESS ALLOWED'],
    'the protocol match types; a verdict to a proxy is allowed',
  );
});

t.test('compact: --print-policy-names names the policies of the flow direction', async (t) => {
  const verdict = with_({
    verdict: 'FORWARDED',
    event_type: { type: 5 },
    policy_match_type: 2,
    traffic_direction: 'INGRESS',
    ingress_allowed_by: [
      { name: 'allow-orchestration', namespace: 'genai-network-demo', kind: 'NetworkPolicy' },
      { name: 'no-kind' },
      { name: 'dns', kind: 'CiliumClusterwideNetworkPolicy' },
    ],
    egress_allowed_by: [{ name: 'egress-one', kind: 'CiliumNetworkPolicy' }],
  });
  t.match(
    compactLine(verdict, { policyNames: true }),
    ' policy-verdict:L3-L4 INGRESS ALLOWED BY allow-orchestration (NetworkPolicy), dns (CiliumClusterwideNetworkPolicy) (TCP Flags: SYN)',
  );
  t.match(compactLine(verdict), ' policy-verdict:L3-L4 INGRESS ALLOWED (TCP Flags: SYN)', 'off by default');
  const denied = with_({ event_type: { type: 5 }, traffic_direction: 'EGRESS', egress_denied_by: [{ name: 'deny-world', kind: 'CiliumNetworkPolicy' }] });
  t.match(compactLine(denied, { policyNames: true }), ' policy-verdict:none EGRESS DENIED BY deny-world (CiliumNetworkPolicy) (');
  t.match(
    compactLine(with_({ egress_denied_by: [{ name: 'x', kind: 'y' }], traffic_direction: 'EGRESS' }), { policyNames: true }),
    ' Policy denied DROPPED (',
    'only policy-verdict events',
  );
});

t.test('compact: an HTTP response of the demo, from the server, with pod names and L7 type', async (t) => {
  const url = 'http://llm-service.genai-network-demo.svc.cluster.local/api/v1/generate';
  const response: Flow = {
    time: '2025-03-14T09:26:53.375123Z',
    verdict: 'FORWARDED',
    IP: { source: '10.244.2.12', destination: '10.244.1.87', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 80, destination_port: 42545 } },
    source: { identity: 47217, namespace: 'genai-network-demo', pod_name: 'llm-service-6d4f5b7c9-mn8rs' },
    destination: { identity: 8412, namespace: 'genai-network-demo', pod_name: 'document-agent-5f7b9c4d8-q9vtw' },
    Type: 'L7',
    node_name: 'kind-kind/kind-worker2',
    l7: { type: 'RESPONSE', latency_ns: '38000000', http: { code: 200, method: 'POST', url, protocol: 'HTTP/1.1' } },
    event_type: { type: 129 },
    traffic_direction: 'INGRESS',
    is_reply: true,
    Summary: `HTTP/1.1 200 38ms (POST ${url})`,
  };
  t.equal(
    compactLine(response, { nodeName: true }),
    `Mar 14 09:26:53.375 [kind-kind/kind-worker2]: genai-network-demo/document-agent-5f7b9c4d8-q9vtw:42545 (ID:8412) <- genai-network-demo/llm-service-6d4f5b7c9-mn8rs:80 (ID:47217) http-response FORWARDED (HTTP/1.1 200 38ms (POST ${url}))\n`,
  );
  t.equal(
    compactLine({
      ...response,
      l7: { type: 'REQUEST', dns: { query: 'api.openai.com.', observation_source: 'proxy' } },
      is_reply: false,
      Summary: 'DNS Query api.openai.com. A',
    }),
    'Mar 14 09:26:53.375: genai-network-demo/llm-service-6d4f5b7c9-mn8rs:80 (ID:47217) -> genai-network-demo/document-agent-5f7b9c4d8-q9vtw:42545 (ID:8412) dns-request proxy FORWARDED (DNS Query api.openai.com. A)\n',
  );
});

t.test('endpoint names: service, DNS names, numeric mode, IPv6, no port, ethernet only', async (t) => {
  const base = with_({ verdict: 'FORWARDED', event_type: { type: 4, sub_type: 3 } });
  t.match(
    compactLine(
      with_(
        {
          source: { identity: 47217, namespace: 'genai-network-demo', pod_name: 'llm-0' },
          destination: { identity: 2, labels: ['reserved:world'] },
          destination_names: ['api.openai.com'],
          l4: { TCP: { source_port: 57104, destination_port: 443 } },
        },
        base,
      ),
    ),
    ': genai-network-demo/llm-0:57104 (ID:47217) -> api.openai.com:443 (world) to-stack FORWARDED',
  );
  t.match(
    compactLine(
      with_(
        {
          destination: { identity: 7419 },
          destination_service: { name: 'kube-dns', namespace: 'kube-system' },
          l4: { UDP: { source_port: 40000, destination_port: 53 } },
        },
        base,
      ),
    ),
    ': 1.1.1.1:40000 (health) -> kube-system/kube-dns:53 (ID:7419) ',
  );
  t.match(
    compactLine(
      with_(
        { destination: { identity: 7419, namespace: 'kube-system', pod_name: 'coredns-1' }, destination_service: { name: 'kube-dns', namespace: 'other' } },
        base,
      ),
    ),
    '-> other/coredns-1:8080 (ID:7419)',
    "a service's namespace wins, as in hubble",
  );
  t.match(
    compactLine(with_({ source: { namespace: 'ns', pod_name: 'a', identity: 1 } }, base), { ipTranslation: false }),
    ': 1.1.1.1:31793 (host) -> 2.2.2.2:8080',
    '--numeric prints IPs',
  );
  t.match(compactLine(with_({ IP: { source: 'fd00::1', destination: 'fd00::2' } }, base)), ': [fd00::1]:31793 (health) -> [fd00::2]:8080 ');
  t.match(
    compactLine(with_({ l4: { ICMPv4: { type: 8 } }, Summary: 'ICMPv4 EchoRequest' }, base)),
    ': 1.1.1.1 (health) -> 2.2.2.2 (ID:12345) to-stack FORWARDED (ICMPv4 EchoRequest)',
  );
  t.match(compactLine(with_({ l4: { TCP: { source_port: 0, destination_port: 80 } } }, base)), ': 1.1.1.1 (health) -> 2.2.2.2:80 ');
  t.equal(
    compactLine({ ethernet: { source: '00:01:02:03:04:05', destination: '06:07:08:09:0a:0b' } }),
    'N/A: 00:01:02:03:04:05 (unknown) <> 06:07:08:09:0a:0b (unknown) UNKNOWN VERDICT_UNKNOWN ()\n',
  );
});

t.test('event types: trace points, drop reasons, capture, socket translation, L7 without record', async (t) => {
  const type = (patch: Partial<Flow>) => compactLine(with_(patch)).split(' (ID:12345) ')[1]!.split(' DROPPED')[0];
  t.equal(type({ event_type: { type: 4 } }), 'to-endpoint');
  t.equal(type({ event_type: { type: 4, sub_type: 10 } }), 'from-network');
  t.equal(type({ event_type: { type: 4, sub_type: 99 } }), '99');
  t.equal(type({ event_type: { type: 1, sub_type: 181 } }), 'Policy denied by denylist');
  t.equal(type({ event_type: { type: 1, sub_type: 250 } }), '250, 0');
  t.equal(type({ event_type: { type: 3 }, debug_capture_point: 'DBG_CAPTURE_DELIVERY' }), 'DBG_CAPTURE_DELIVERY');
  t.equal(type({ event_type: { type: 7 }, sock_xlate_point: 'SOCK_XLATE_POINT_PRE_DIRECTION_FWD' }), 'pre-xlate-fwd');
  t.equal(type({ event_type: undefined }), 'UNKNOWN');
  t.equal(type({ l7: {} }), 'l7-unknown_l7_type');
  t.equal(type({ l7: { type: 'REQUEST', dns: {} } }), 'dns-request ');
  t.equal(type({ l7: { type: 'SAMPLE', kafka: {} } }), 'kafka-sample');
});

t.test('identities: reserved ones by name, others by number', async (t) => {
  const ids = (src: number | undefined, dst: number | undefined) =>
    /\((.*?)\) -> .*? \((.*?)\)/
      .exec(compactLine(with_({ source: src === undefined ? undefined : { identity: src }, destination: { identity: dst } })))!
      .slice(1);
  t.same(ids(1, 2), ['host', 'world']);
  t.same(ids(6, 7), ['remote-node', 'kube-apiserver']);
  t.same(ids(undefined, 0), ['unknown', 'unknown']);
  t.same(ids(256, 21053), ['ID:256', 'ID:21053']);
});

t.test('summary with mutual auth, and terminal escapes neutralised', async (t) => {
  t.match(compactLine(with_({ auth_type: 'SPIRE' })), '(TCP Flags: SYN; Auth: SPIRE)\n');
  const evil = with_({ Summary: 'evil\x1b[2Jtext\r', destination: { identity: 12345, pod_name: 'p\x1b]0;x\x07', namespace: 'ns' } });
  t.equal(compactLine(evil), 'Jan  1 00:20:34.567: 1.1.1.1:31793 (health) -> ns/p^[]0;x\x07:8080 (ID:12345) Policy denied DROPPED (evil^[[2Jtext\\r)\n');
  t.equal(
    compactLine(evil, { color: 'always' }),
    'Jan  1 00:20:34.567: \x1b[36m1.1.1.1:\x1b[33m31793\x1b[0m\x1b[0m \x1b[35m(health)\x1b[0m -> \x1b[36mns/p^[]0;x\x07:\x1b[33m8080\x1b[0m\x1b[0m \x1b[35m(ID:12345)\x1b[0m Policy denied \x1b[31mDROPPED\x1b[0m (evil^[[2Jtext\\r)\n',
    'our own colours survive, anything else is escaped',
  );
});

t.test('colour: auto only on a terminal, never with NO_COLOR or TERM=dumb, never in tables', async (t) => {
  const colored = (opts: Partial<PrinterOptions>, isTTY: boolean, format: OutputFormat = 'compact') => {
    let out = '';
    const p = createPrinter(format, { out: { isTTY, write: (s: string) => (out += s) }, err: { write() {} }, ...opts });
    p.write({ flow: drop });
    p.end();
    return out.includes('\x1b[');
  };
  t.equal(colored({ color: 'auto', env: {} }, true), true);
  t.equal(colored({ color: 'auto', env: {} }, false), false);
  t.equal(colored({ color: 'auto', env: { NO_COLOR: '1' } }, true), false);
  t.equal(colored({ color: 'auto', env: { TERM: 'dumb' } }, true), false);
  t.equal(colored({ color: 'always', env: {} }, false), true);
  t.equal(colored({ color: 'always', env: {} }, true, 'table'), false);
  t.equal(colored({ color: 'always', env: {} }, true, 'dict'), true);
});

t.test('lost events in compact, dict and table', async (t) => {
  const lost: GetFlowsResponse = {
    lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '37' },
    node_name: 'kind-kind/kind-worker',
    time: '2025-03-14T09:26:53Z',
  };
  const perf: GetFlowsResponse = { lost_events: { source: 'PERF_EVENT_RING_BUFFER', num_events_lost: '5', cpu: 3 } };
  t.equal(print('compact', [lost, perf]).out, 'EVENTS LOST: HUBBLE_RING_BUFFER CPU(0) 37\nEVENTS LOST: PERF_EVENT_RING_BUFFER CPU(3) 5\n');
  t.equal(
    print('dict', [{ flow: drop }, lost]).out,
    '  TIMESTAMP: Jan  1 00:20:34.567\n     SOURCE: 1.1.1.1:31793\nDESTINATION: 2.2.2.2:8080\n       TYPE: Policy denied\n    VERDICT: DROPPED\n    SUMMARY: TCP Flags: SYN\n' +
      '------------\n  TIMESTAMP: \n     SOURCE: HUBBLE_RING_BUFFER\n       TYPE: EVENTS LOST\n    VERDICT: \n    SUMMARY: CPU(0) - 37\n',
  );
});

const col = (s: string, width: number) => s + ' '.repeat(Math.max(0, width - [...s].length));

t.test('table: header once, columns as wide as their widest cell plus three, laid out at the end', async (t) => {
  const flow: Flow = {
    time: '2025-03-14T09:26:53.123456789Z',
    verdict: 'FORWARDED',
    IP: { source: '10.0.0.1', destination: '10.0.0.2' },
    l4: { TCP: { source_port: 1000, destination_port: 80 } },
    source: { namespace: 'ns', pod_name: 'a', identity: 300 },
    destination: { namespace: 'ns', pod_name: 'bb', identity: 301 },
    event_type: { type: 4 },
    is_reply: false,
    Summary: 'TCP Flags: SYN',
    node_name: 'n1',
  };
  const lost: GetFlowsResponse = { lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '7' } };
  let out = '';
  const p = createPrinter('table', { out: { write: (s: string) => (out += s) }, err: { write() {} }, env: {} });
  p.write({ flow });
  p.write(lost);
  t.equal(out, '', 'nothing until the end: widths depend on every row');
  p.end();
  t.equal(
    out,
    [
      col('TIMESTAMP', 22) + col('SOURCE', 21) + col('DESTINATION', 14) + col('TYPE', 14) + col('VERDICT', 12) + 'SUMMARY',
      col('Mar 14 09:26:53.123', 22) + col('ns/a:1000', 21) + col('ns/bb:80', 14) + col('to-endpoint', 14) + col('FORWARDED', 12) + 'TCP Flags: SYN',
      col('', 22) + col('HUBBLE_RING_BUFFER', 21) + col('', 14) + col('EVENTS LOST', 14) + col('', 12) + 'CPU(0) - 7',
      '',
    ].join('\n'),
  );
  t.equal(
    print('table', [{ flow: drop }], { nodeName: true }).out,
    'TIMESTAMP             NODE   SOURCE          DESTINATION    TYPE            VERDICT   SUMMARY\nJan  1 00:20:34.567   k8s1   1.1.1.1:31793   2.2.2.2:8080   Policy denied   DROPPED   TCP Flags: SYN\n',
  );
});

t.test('table: a whole demo run lines up column by column', async (t) => {
  const records = synthResponses({ count: 300, seed: 12 });
  const { out } = print('table', records, { nodeName: true });
  const lines = out.trimEnd().split('\n');
  t.equal(lines.length, 1 + records.filter((r) => r.flow || r.lost_events).length);
  const header = lines[0]!;
  const starts = ['NODE', 'SOURCE', 'DESTINATION', 'TYPE', 'VERDICT', 'SUMMARY'].map((h) => header.indexOf(h));
  const misaligned = lines.slice(1).filter((line) => starts.some((s) => line[s - 1] !== ' '));
  t.same(misaligned, [], 'every column starts after padding, on every line');
  t.ok(lines.slice(1).every((l) => /^Mar 14 \d\d:\d\d:\d\d\.\d{3} {3}kind-kind\/|^ {22}/.test(l)));
});

t.test('dict: a separator between records', async (t) => {
  const reply = with_({ is_reply: true, Summary: 'TCP Flags: SYN, ACK' });
  t.equal(
    print('dict', [{ flow: drop }, { flow: reply }], { nodeName: true }).out,
    '  TIMESTAMP: Jan  1 00:20:34.567\n       NODE: k8s1\n     SOURCE: 1.1.1.1:31793\nDESTINATION: 2.2.2.2:8080\n       TYPE: Policy denied\n    VERDICT: DROPPED\n    SUMMARY: TCP Flags: SYN\n' +
      '------------\n  TIMESTAMP: Jan  1 00:20:34.567\n       NODE: k8s1\n     SOURCE: 1.1.1.1:31793\nDESTINATION: 2.2.2.2:8080\n       TYPE: Policy denied\n    VERDICT: DROPPED\n    SUMMARY: TCP Flags: SYN, ACK\n',
    'dict does not flip replies',
  );
});

t.test('node status: on stderr, only unavailable or failing nodes unless debugging', async (t) => {
  const at = '2025-03-14T09:26:53Z';
  const connected: GetFlowsResponse = { node_status: { state_change: 'NODE_CONNECTED', node_names: ['a', 'b', 'c'] }, time: at };
  const unavailable: GetFlowsResponse = { node_status: { state_change: 'NODE_UNAVAILABLE', node_names: ['kind-kind/kind-worker'] }, time: at };
  const failed: GetFlowsResponse = {
    node_status: { state_change: 'NODE_ERROR', node_names: ['n1'], message: 'dial tcp: "refused"' },
    time: at,
    node_name: 'relay',
  };
  const many: GetFlowsResponse = {
    node_status: { state_change: 'NODE_GONE', node_names: ['node-000000000000001', 'node-000000000000002', 'node-000000000000003', 'node-000000000000004'] },
    time: at,
  };
  for (const format of ['compact', 'table'] as const) {
    const got = print(format, [connected, unavailable, failed, { flow: drop }]);
    t.equal(
      got.err,
      'Mar 14 09:26:53.000 []: 1 nodes are unavailable: kind-kind/kind-worker\nMar 14 09:26:53.000 [relay]: Error "dial tcp: \\"refused\\"" on 1 nodes: n1\n',
      format,
    );
    t.notMatch(got.out, 'nodes', `${format}: nothing about nodes on stdout`);
  }
  t.equal(
    print('compact', [connected, many], { debug: true }).err,
    'Mar 14 09:26:53.000 []: Receiving flows from 3 nodes: a, b, c\nMar 14 09:26:53.000 []: 4 nodes removed from cluster: node-000000000000001, node-000000000000002 (and 2 more)\n',
  );
  const dict = print('dict', [unavailable, { flow: drop }, failed]);
  t.equal(
    dict.err,
    '  TIMESTAMP: Mar 14 09:26:53.000\n      STATE: NODE_UNAVAILABLE\n      NODES: kind-kind/kind-worker\n    MESSAGE: N/A\n------------\n  TIMESTAMP: Mar 14 09:26:53.000\n      STATE: NODE_ERROR\n      NODES: n1\n    MESSAGE: "dial tcp: \\"refused\\""\n',
  );
  t.match(dict.out, /^------------\n {2}TIMESTAMP: Jan {2}1 00:20:34.567\n/, 'a flow after a node status gets a separator');
});

t.test('jsonpb and json: one object per line; node status on stderr; legacy json prints bare objects', async (t) => {
  const jsonFlow =
    '{"time":"1970-01-01T00:20:34.567800Z","verdict":"DROPPED","IP":{"source":"1.1.1.1","destination":"2.2.2.2"},"l4":{"TCP":{"source_port":31793,"destination_port":8080}},"source":{"identity":4},"destination":{"identity":12345},"Type":"L3_L4","node_name":"k8s1","event_type":{"type":1,"sub_type":133},"is_reply":false,"Summary":"TCP Flags: SYN"}';
  const lost: GetFlowsResponse = { lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '2' }, node_name: 'n1', time: '2025-03-14T09:26:53Z' };
  const up: GetFlowsResponse = { node_status: { state_change: 'NODE_CONNECTED', node_names: ['n1'] }, time: '2025-03-14T09:26:53Z' };
  const down: GetFlowsResponse = { node_status: { state_change: 'NODE_UNAVAILABLE', node_names: ['n1'] }, time: '2025-03-14T09:26:53Z' };
  for (const format of ['jsonpb', 'json'] as const) {
    const got = print(format, [{ flow: drop }, lost, up, down]);
    t.equal(
      got.out,
      `{"flow":${jsonFlow}}\n{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"2"},"node_name":"n1","time":"2025-03-14T09:26:53Z"}\n`,
      format,
    );
    t.equal(got.err, '{"node_status":{"state_change":"NODE_UNAVAILABLE","node_names":["n1"]},"time":"2025-03-14T09:26:53Z"}\n', format);
  }
  const legacy = print('json', [{ flow: drop }, lost, up, down], { env: { HUBBLE_COMPAT: 'other,legacy-json-output' } });
  t.same(legacy, { out: `${jsonFlow}\n{"source":"HUBBLE_RING_BUFFER","num_events_lost":"2"}\n`, err: '' });
  t.same(print('json', [{ flow: drop }], { env: { HUBBLE_COMPAT: 'legacy-json-output' }, legacyJson: false }).out, `{"flow":${jsonFlow}}\n`);
});

t.test('time formats and records with nothing in them', async (t) => {
  t.match(compactLine(drop, { timeFormat: 'RFC3339Nano' }), /^1970-01-01T00:20:34.5678Z: /);
  t.match(compactLine(drop, { timeFormat: 'rfc1123z' }), /^Thu, 01 Jan 1970 00:20:34 \+0000: /);
  t.same(print('compact', [{}, { node_name: 'x' }]), { out: '', err: '' });
});
