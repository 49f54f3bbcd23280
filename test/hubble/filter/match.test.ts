// compileFlowFilters: the Hubble server's filter semantics, field by field and combined, over flows built here.
import t from 'tap';
import type { Flow, FlowFilter } from '../../../lib/flows/types.ts';
import { compileFlowFilters, FilterValueError, NO_FLOW, requestPath } from '../../../lib/hubble/filter/match.ts';

/** A TCP request from default/xwing to genai-network-demo/llm-service-… with overrides. */
function flow(overrides: Partial<Flow> = {}): Flow {
  return {
    time: '2024-05-01T12:00:00.000000001Z',
    uuid: 'u-1',
    verdict: 'FORWARDED',
    IP: { source: '10.244.1.60', destination: '10.244.2.5', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 44916, destination_port: 8080, flags: { SYN: true } } },
    source: {
      identity: 1234,
      namespace: 'default',
      labels: ['k8s:app=xwing', 'k8s:io.kubernetes.pod.namespace=default', 'k8s:tier=front'],
      pod_name: 'xwing-5d8f',
      workloads: [{ name: 'xwing', kind: 'Deployment' }],
    },
    destination: {
      identity: 5678,
      namespace: 'genai-network-demo',
      labels: ['k8s:app=llm-service', 'k8s:io.kubernetes.pod.namespace=genai-network-demo', 'k8s:version=3'],
      pod_name: 'llm-service-7848d6c4d5-th9v2',
      workloads: [{ name: 'llm-service', kind: 'Deployment' }],
    },
    Type: 'L3_L4',
    node_name: 'kind-kind/kind-worker',
    event_type: { type: 4, sub_type: 0 },
    traffic_direction: 'EGRESS',
    is_reply: false,
    destination_service: { name: 'llm-service', namespace: 'genai-network-demo' },
    ...overrides,
  };
}

const httpFlow = (code: number, method = 'GET', url = 'http://llm-service:8080/v1/generate?x=1') =>
  flow({
    Type: 'L7',
    l4: { TCP: { source_port: 44916, destination_port: 8080 } },
    l7: { type: 'RESPONSE', latency_ns: '1200000', http: { code, method, url, headers: [{ key: 'x-agent', value: 'coordinator' }] } },
    event_type: { type: 129 },
    is_reply: true,
  });

const drop = (reason: string) => flow({ verdict: 'DROPPED', drop_reason_desc: reason, is_reply: undefined, event_type: { type: 1, sub_type: 133 } });
const dns = flow({
  IP: { source: '10.244.1.60', destination: '10.96.0.10', ipVersion: 'IPv4' },
  l4: { UDP: { source_port: 5353, destination_port: 53 } },
  l7: { type: 'REQUEST', dns: { query: 'llm-service.genai-network-demo.svc.cluster.local.' } },
  destination_names: ['kube-dns.kube-system.svc.cluster.local'],
  event_type: { type: 129 },
});

function matches(filter: FlowFilter, f: Flow): boolean {
  return compileFlowFilters([filter])(f);
}

t.test('each field, matching and not matching', async (t) => {
  const cases: [string, FlowFilter, Flow, boolean][] = [
    ['uuid', { uuid: ['u-1', 'u-2'] }, flow(), true],
    ['uuid miss', { uuid: ['u-2'] }, flow(), false],
    ['source ip exact', { source_ip: ['10.244.1.60'] }, flow(), true],
    ['source ip cidr', { source_ip: ['10.244.0.0/16'] }, flow(), true],
    ['source ip cidr miss', { source_ip: ['10.245.0.0/16'] }, flow(), false],
    ['destination ip v6 cidr', { destination_ip: ['fd00::/8'] }, flow({ IP: { source: 'fd00::1', destination: 'fd00::2', ipVersion: 'IPv6' } }), true],
    ['v4 cidr contains a v4-mapped address', { destination_ip: ['10.0.0.0/8'] }, flow({ IP: { destination: '::ffff:10.1.2.3' } }), true],
    ['no IP never matches', { source_ip: ['0.0.0.0/0'] }, flow({ IP: undefined }), false],
    ['source pod prefix in namespace', { source_pod: ['default/xwing'] }, flow(), true],
    ['pod without namespace means default', { source_pod: ['xwing'] }, flow(), true],
    ['pod in another namespace', { destination_pod: ['llm'] }, flow(), false],
    ['namespace only', { destination_pod: ['genai-network-demo/'] }, flow(), true],
    ['reserved endpoint has no pod', { source_pod: ['default/'] }, flow({ source: { identity: 2, labels: ['reserved:world'] } }), false],
    ['destination service', { destination_service: ['genai-network-demo/llm'] }, flow(), true],
    ['source service missing', { source_service: ['default/'] }, flow(), false],
    ['verdict', { verdict: ['DROPPED', 'FORWARDED'] }, flow(), true],
    ['verdict miss', { verdict: ['DROPPED'] }, flow(), false],
    ['verdict as a number', { verdict: [1 as unknown as 'FORWARDED'] }, flow(), true],
    ['drop reason', { drop_reason_desc: ['POLICY_DENIED', 'POLICY_DENY'] }, drop('POLICY_DENIED'), true],
    ['drop reason needs DROPPED', { drop_reason_desc: ['POLICY_DENIED'] }, flow({ drop_reason_desc: 'POLICY_DENIED' }), false],
    ['drop reason miss', { drop_reason_desc: ['POLICY_DENY'] }, drop('STALE_OR_UNROUTABLE_IP'), false],
    ['event type', { event_type: [{ type: 4 }] }, flow(), true],
    ['event type with sub-type 0', { event_type: [{ type: 4, match_sub_type: true, sub_type: 0 }] }, flow(), true],
    ['event sub-type miss', { event_type: [{ type: 4, match_sub_type: true, sub_type: 5 }] }, flow(), false],
    ['event type 0 matches any type', { event_type: [{ type: 0, match_sub_type: true, sub_type: 133 }] }, drop('POLICY_DENIED'), true],
    ['no event type never matches', { event_type: [{ type: 4 }] }, flow({ event_type: undefined }), false],
    ['protocol tcp', { protocol: ['TCP'] }, flow(), true],
    ['protocol udp miss', { protocol: ['udp'] }, flow(), false],
    ['protocol http needs an L7 http record', { protocol: ['http'] }, httpFlow(200), true],
    ['protocol http on L3/L4', { protocol: ['http'] }, flow(), false],
    ['protocol dns', { protocol: ['dns'] }, dns, true],
    ['protocol icmp', { protocol: ['icmp'] }, flow({ l4: { ICMPv6: { type: 128 } } }), true],
    ['protocol icmpv4 vs v6', { protocol: ['icmpv4'] }, flow({ l4: { ICMPv6: { type: 128 } } }), false],
    ['source port', { source_port: ['44916'] }, flow(), true],
    ['destination port', { destination_port: ['80', '8080'] }, flow(), true],
    ['udp port', { destination_port: ['53'] }, dns, true],
    ['port 0 when absent from jsonpb', { source_port: ['0'] }, flow({ l4: { TCP: {} } }), true],
    ['icmp has no port', { destination_port: ['0'] }, flow({ l4: { ICMPv4: { type: 8 } } }), false],
    ['identity', { source_identity: [1234] }, flow(), true],
    ['identity miss', { destination_identity: [1234] }, flow(), false],
    ['identity 0 when absent', { destination_identity: [0] }, flow({ destination: { namespace: 'x' } }), true],
    ['no endpoint', { destination_identity: [0] }, flow({ destination: undefined }), false],
    ['workload name', { source_workload: [{ name: 'xwing' }] }, flow(), true],
    ['workload kind only', { destination_workload: [{ kind: 'Deployment' }] }, flow(), true],
    ['workload kind miss', { destination_workload: [{ kind: 'StatefulSet', name: 'llm-service' }] }, flow(), false],
    ['traffic direction', { traffic_direction: ['EGRESS'] }, flow(), true],
    ['traffic direction unknown', { traffic_direction: ['INGRESS'] }, flow({ traffic_direction: undefined }), false],
    ['reply false', { reply: [false] }, flow(), true],
    ['reply true', { reply: [true] }, httpFlow(200), true],
    ['unknown direction drop counts as a request', { reply: [false] }, drop('POLICY_DENIED'), true],
    ['unknown direction otherwise never matches', { reply: [false] }, flow({ is_reply: undefined }), false],
    ['http status exact', { http_status_code: ['503'] }, httpFlow(503), true],
    ['http status 5+', { http_status_code: ['5+'] }, httpFlow(503), true],
    ['http status 50+', { http_status_code: ['50+'] }, httpFlow(404), false],
    ['http status 40+', { http_status_code: ['40+'] }, httpFlow(404), true],
    ['http status 4+ vs 5xx', { http_status_code: ['4+', '200'] }, httpFlow(503), false],
    ['http status on a request (code 0)', { http_status_code: ['2+'] }, flow({ l7: { http: { method: 'GET' } } }), false],
    ['http method is case-insensitive', { http_method: ['get'] }, httpFlow(200), true],
    ['http method miss', { http_method: ['post'] }, httpFlow(200), false],
    ['http path regex on the path only', { http_path: ['^/v1/gen'] }, httpFlow(200), true],
    ['http path does not see the query', { http_path: ['x=1'] }, httpFlow(200), false],
    ['http path of a relative URL', { http_path: ['^/health$'] }, httpFlow(200, 'GET', '/health'), true],
    ['http url regex sees the whole URL', { http_url: ['llm-service:8080/.*x=1'] }, httpFlow(200), true],
    ['http header', { http_header: [{ key: 'x-agent', value: 'coordinator' }] }, httpFlow(200), true],
    ['http header value miss', { http_header: [{ key: 'x-agent', value: 'other' }] }, httpFlow(200), false],
    ['dns query regex', { dns_query: ['\\.svc\\.cluster\\.local\\.$'] }, dns, true],
    ['dns query on a non-DNS flow', { dns_query: ['.*'] }, flow(), false],
    ['destination fqdn wildcard', { destination_fqdn: ['*.svc.cluster.local'] }, dns, true],
    ['fqdn is anchored', { destination_fqdn: ['kube-dns'] }, dns, false],
    ['fqdn trailing dot and case', { destination_fqdn: ['KUBE-DNS.kube-system.svc.cluster.local.'] }, dns, true],
    ['no names', { source_fqdn: ['*'] }, dns, false],
    ['tcp flags subset', { tcp_flags: [{ SYN: true }] }, flow({ l4: { TCP: { flags: { SYN: true, ACK: true } } } }), true],
    ['tcp flags all required', { tcp_flags: [{ SYN: true, ACK: true }] }, flow(), false],
    ['tcp flags OR', { tcp_flags: [{ FIN: true }, { SYN: true }] }, flow(), true],
    ['node name glob', { node_name: ['kind-*'] }, flow(), true],
    ['node name cluster/glob', { node_name: ['kind-kind/*'] }, flow(), true],
    ['node name other cluster', { node_name: ['prod/*'] }, flow(), false],
    ['node without cluster is in cluster default', { node_name: ['default/node-*'] }, flow({ node_name: 'node-1' }), true],
    ['node glob spans dots, as in hubble', { node_name: ['kind-*'] }, flow({ node_name: 'kind-worker.example' }), true],
    ['node glob is anchored', { node_name: ['worker'] }, flow({ node_name: 'kind-worker' }), false],
    ['ip version', { ip_version: ['IPv4'] }, flow(), true],
    ['ip version none', { ip_version: ['IP_NOT_USED'] }, flow({ IP: undefined }), true],
    ['cluster name', { source_cluster_name: ['c1'] }, flow({ source: { cluster_name: 'c1' } }), true],
    ['cluster name miss', { destination_cluster_name: ['c1'] }, flow(), false],
    ['trace id', { trace_id: ['abc'] }, flow({ trace_context: { parent: { trace_id: 'abc' } } }), true],
    ['interface by name', { interface: [{ name: 'eth0' }] }, flow({ interface: { index: 3, name: 'eth0' } }), true],
    ['interface by index miss', { interface: [{ index: 4 }] }, flow({ interface: { index: 3, name: 'eth0' } }), false],
    ['snat ip', { source_ip_xlated: ['192.168.0.0/16'] }, flow({ IP: { source: '10.0.0.1', source_xlated: '192.168.1.1' } }), true],
    ['label', { source_label: ['app=xwing'] }, flow(), true],
    ['label with source', { destination_label: ['k8s:app=llm-service'] }, flow(), true],
    ['label wrong source', { destination_label: ['container:app=llm-service'] }, flow(), false],
    ['node labels', { node_labels: ['kubernetes.io/hostname=kind-worker'] }, flow({ node_labels: ['kubernetes.io/hostname=kind-worker'] }), true],
    ['empty filter matches everything', {}, flow(), true],
  ];
  for (const [name, filter, f, want] of cases) t.equal(matches(filter, f), want, name);
});

t.test('whitelist ORs filters, blacklist removes, fields AND', async (t) => {
  const flows = [flow(), httpFlow(200), httpFlow(503), drop('POLICY_DENIED'), dns];
  const pick = (wl?: FlowFilter[], bl?: FlowFilter[]) => flows.map(compileFlowFilters(wl, bl));
  t.strictSame(pick(), [true, true, true, true, true], 'no filters');
  t.strictSame(pick([]), [true, true, true, true, true], 'empty lists');
  t.strictSame(pick([{ verdict: ['DROPPED'] }, { protocol: ['dns'] }]), [false, false, false, true, true], 'OR of filters');
  t.strictSame(pick([{ protocol: ['http'], http_status_code: ['5+'] }]), [false, false, true, false, false], 'AND of fields');
  t.strictSame(pick(undefined, [{ protocol: ['http'] }]), [true, false, false, true, true], 'blacklist only');
  t.strictSame(
    pick([{ protocol: ['tcp'] }], [{ http_status_code: ['2+'] }, { verdict: ['DROPPED'] }]),
    [true, false, true, false, false],
    'whitelist minus blacklist',
  );
  // `--namespace genai-network-demo` as two filters: source side OR destination side.
  const ns = [{ source_pod: ['genai-network-demo/'] }, { destination_pod: ['genai-network-demo/'] }];
  t.strictSame(pick(ns), [true, true, true, true, true]);
  t.strictSame(pick([{ source_pod: ['genai-network-demo/'] }]), [false, false, false, false, false]);
});

t.test('label selectors: Kubernetes syntax with Cilium source prefixes', async (t) => {
  const f = flow();
  const cases: [string, boolean][] = [
    ['app=llm-service', true],
    ['app==llm-service', true],
    ['k8s:app=llm-service', true],
    ['any:app=llm-service', true],
    ['app!=xwing', true],
    ['app!=llm-service', false],
    ['app in (xwing, llm-service)', true],
    ['k8s:app in (a,b)', false],
    ['app notin (a,b)', true],
    ['missing notin (a)', true],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['app=llm-service,version=3', true],
    ['app=llm-service, version=4', false],
    ['version>2', true],
    ['version<3', false],
    ['k8s:io.kubernetes.pod.namespace=genai-network-demo', true],
    ['io.kubernetes.pod.namespace in (default)', false],
    ['reserved:world', false],
    ['', true],
  ];
  for (const [sel, want] of cases) t.equal(matches({ destination_label: [sel] }, f), want, sel);
  const world = flow({ destination: { identity: 2, labels: ['reserved:world', 'cidr:10.0.0.0/24'] } });
  t.ok(matches({ destination_label: ['reserved:world'] }, world), 'reserved:world');
  t.ok(matches({ destination_label: ['world'] }, world), 'no prefix: any source');
  t.ok(matches({ destination_label: ['cidr:10.0.0.0/8'] }, world), 'a wider cidr selector selects a narrower cidr label');
  t.notOk(matches({ destination_label: ['cidr:10.0.0.0/28'] }, world), 'a narrower one does not');
  t.notOk(matches({ destination_label: ['app'] }, flow({ destination: { identity: 2 } })), 'no labels at all');
  t.ok(matches({ destination_label: ['!app'] }, flow({ destination: { identity: 2 } })), 'absent labels satisfy !key');
  const twoSources = flow({ source: { labels: ['container:app=b', 'k8s:app=a'] } });
  t.ok(matches({ source_label: ['app=a'] }, twoSources), 'any-source lookup takes the first in Cilium order (value a < b)');
  t.notOk(matches({ source_label: ['app=b'] }, twoSources));
  t.ok(matches({ source_label: ['container:app=b'] }, twoSources), 'a prefix selects its source');
});

t.test('records without a flow match as Hubble matches a nil flow', async (t) => {
  const cases: [FlowFilter, boolean][] = [
    [{ ip_version: ['IP_NOT_USED'] }, false],
    [{ verdict: ['VERDICT_UNKNOWN'] }, false],
    [{ uuid: [''] }, false],
    [{ traffic_direction: ['TRAFFIC_DIRECTION_UNKNOWN'] }, false],
    [{ event_type: [{ type: 0 }] }, false],
    [{ source_pod: ['default/'] }, false],
    [{ trace_id: [''] }, true],
    [{ source_identity: [0] }, false],
  ];
  for (const [filter, want] of cases) t.equal(matches(filter, NO_FLOW), want, JSON.stringify(filter));
  t.equal(matches({ ip_version: ['IP_NOT_USED'] }, {}), true, 'an empty flow is still a flow');
  t.ok(compileFlowFilters(undefined, [{ verdict: ['DROPPED'] }])(NO_FLOW), 'blacklists let them through');
});

t.test('the matcher keeps per-filter state right across nodes and reuse', async (t) => {
  const m = compileFlowFilters([{ node_name: ['kind-worker'] }]);
  const seq = ['kind-worker', 'kind-worker', 'kind-control-plane', 'kind-worker', 'c/kind-worker'];
  t.strictSame(
    seq.map((n) => m(flow({ node_name: n }))),
    [true, true, false, true, true],
  );
});

t.test('invalid filters are refused with the field and value named', async (t) => {
  const bad: [FlowFilter, RegExp][] = [
    [{ source_ip: ['1.2.3'] }, /^invalid source_ip filter "1.2.3": not a valid IP address$/],
    [{ destination_ip: ['1.2.3.0/24/1'] }, /invalid destination_ip filter/],
    [{ source_pod: [''] }, /invalid source_pod filter "": must be \[namespace\/\]\[<name>\]/],
    [{ source_service: ['/'] }, /invalid source_service filter "\/"/],
    [{ source_port: ['http'] }, /not a port number/],
    [{ protocol: ['quic'] }, /unknown protocol/],
    [{ http_status_code: ['5xx'] }, /not a status code/],
    [{ http_path: ['a(?<=b)'] }, /invalid named capture: `\(\?<=b\)`/],
    [{ http_url: ['\\1'] }, /invalid escape sequence/],
    [{ dns_query: ['(?P<x>a'] }, /invalid dns_query filter/],
    [{ source_label: ['app in'] }, /invalid source_label filter/],
    [{ destination_label: ['Bad Key=1'] }, /invalid destination_label filter/],
    [{ node_labels: ['a=b=c'] }, /invalid node_labels filter/],
    [{ source_fqdn: ['*.example.com..'] }, /multiple trailing dots/],
    [{ node_name: [''] }, /empty pattern/],
    [{ verdict: ['DENIED' as never] }, /not a Verdict value/],
    [{ drop_reason_desc: ['NOPE'] }, /not a DropReason value/],
  ];
  for (const [filter, message] of bad) {
    t.throws(() => compileFlowFilters([filter]), FilterValueError, JSON.stringify(filter));
    t.throws(() => compileFlowFilters(undefined, [filter]), { message }, `blacklist ${JSON.stringify(filter)}`);
  }
  const unsupported = { experimental: { cel_expression: ['flow.verdict == 2'] } } as FlowFilter;
  t.throws(() => compileFlowFilters([unsupported]), { message: /invalid experimental filter .*not supported by hubble-lab/ });
  t.doesNotThrow(() => compileFlowFilters([{ encrypted: [], experimental: {} } as FlowFilter]), 'unset fields are fine');
  t.throws(() => compileFlowFilters([{ http_status_code: ['200'], event_type: [{ type: 4 }] }]), {
    message: "filtering by http status code requires the event type filter to only match 'l7' events",
  });
  t.doesNotThrow(() => compileFlowFilters([{ http_status_code: ['200'], event_type: [{ type: 4 }, { type: 129 }] }]));
});

t.test('the path of request URLs as Go parses them', async (t) => {
  t.equal(requestPath('http://a:80/x/y?q=1'), '/x/y');
  t.equal(requestPath('/x%20y'), '/x y');
  t.equal(requestPath('https://host'), '');
  t.equal(requestPath('mailto:a@b'), '');
  t.equal(requestPath('relative/path'), undefined);
  t.equal(requestPath('/bad%zz'), undefined);
});
