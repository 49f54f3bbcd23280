// hubble observe flags → GetFlowsRequest: the same request the hubble CLI builds, and its refusals.
import t from 'tap';
import { parseArgs } from '../../../lib/args.ts';
import { UsageError } from '../../../lib/errors.ts';
import type { GetFlowsRequest } from '../../../lib/flows/types.ts';
import {
  ALL_FLOWS,
  buildGetFlowsRequest,
  DEFAULT_LAST,
  observeFilterFlags,
  observeFilterOptions,
  observeSelectorOptions,
} from '../../../lib/hubble/filter/flags.ts';
import { compileFlowFilters } from '../../../lib/hubble/filter/match.ts';
import { main } from '../../../lib/cli.ts';
import { captureIO } from '../../fixtures/cli-io.ts';

const specs = [...observeSelectorOptions, ...observeFilterOptions];
const NOW = new Date('2019-07-01T14:00:00Z');

function request(argv: string[], live = false, warn?: (line: string) => void): GetFlowsRequest {
  return buildGetFlowsRequest(parseArgs(argv, specs, 'observe'), { live, now: NOW, ...(warn ? { warn } : {}) });
}

t.test('selectors: default --last only against a server, --all, --first, --follow', async (t) => {
  t.strictSame(request([], true), { number: DEFAULT_LAST });
  t.strictSame(request([], false), {}, 'a file has no default: every flow');
  t.strictSame(request(['--last', '42']), { number: 42 });
  t.strictSame(request(['--first', '5'], true), { number: 5, first: true });
  t.strictSame(request(['--all'], true), { number: ALL_FLOWS });
  t.strictSame(request(['-f'], true), { follow: true }, 'follow alone streams new flows only');
  t.strictSame(request(['--last', '3', '--follow'], true), { number: 3, follow: true });
  t.strictSame(request(['--since', '10s'], true), { since: '2019-07-01T13:59:50Z' }, 'a time range disables the default');
  t.strictSame(request(['--since', '2019-06-30', '--until', '2019-06-30T18:45+02:00'], true), {
    since: '2019-06-30T00:00:00Z',
    until: '2019-06-30T16:45:00Z',
  });
  t.strictSame(request(['--until', '5m', '--follow'], true), { follow: true }, '--until is dropped with --follow');
  t.strictSame(request(['--since', '1h30m', '--last', '7'], true), { number: 7, since: '2019-07-01T12:30:00Z' });
});

t.test('selectors that cannot go together, and bad counts and times', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--first', '1', '--last', '2'], /cannot set both --first and --last/],
    [['--first', '1', '--all'], /cannot set both --first and --all/],
    [['--first', '1', '--follow'], /cannot set both --first and --follow/],
    [['--last', '1', '--all'], /cannot set both --last and --all/],
    [['--last', '-3'], /--last needs a whole number/],
    [['--first', '2.5'], /--first needs a whole number/],
    [['--since', '2d'], /--since: cannot read "2d" as a time/],
    [['--until', 'yesterday'], /--until: cannot read "yesterday"/],
  ];
  for (const [argv, message] of cases) t.throws(() => request(argv), { message }, argv.join(' '));
  t.throws(() => request(['--since', '2d']), { message: /--since/, hint: /write 48h/ });
});

t.test('repeats OR inside one filter; different flags AND', async (t) => {
  t.strictSame(request(['--from-ip', '1.2.3.4', '--from-ip', '5.6.7.8', '--verdict', 'DROPPED', '-t', 'l7']), {
    whitelist: [{ source_ip: ['1.2.3.4', '5.6.7.8'], verdict: ['DROPPED'], event_type: [{ type: 129 }] }],
  });
  t.strictSame(request(['--http-method', 'put', '--http-method', 'get', '--to-namespace', 'foo', '--to-namespace', 'bar']), {
    whitelist: [{ http_method: ['put', 'get'], destination_pod: ['foo/', 'bar/'] }],
  });
});

t.test('either-side flags become a source filter OR a destination filter', async (t) => {
  t.strictSame(request(['--ip', '1.2.3.4', '--ip', '5.6.7.8', '--verdict', 'DROPPED', '--http-method', 'get', '--node-name', 'k8s*']), {
    whitelist: [
      { source_ip: ['1.2.3.4', '5.6.7.8'], verdict: ['DROPPED'], http_method: ['get'], node_name: ['k8s*'] },
      { destination_ip: ['1.2.3.4', '5.6.7.8'], verdict: ['DROPPED'], http_method: ['get'], node_name: ['k8s*'] },
    ],
  });
  t.strictSame(request(['--label', 'k1=v1,k2=v2', '-l', 'k3', '--node-label', 'io.cilium/egress-gateway']), {
    whitelist: [
      { source_label: ['k1=v1,k2=v2', 'k3'], node_labels: ['io.cilium/egress-gateway'] },
      { destination_label: ['k1=v1,k2=v2', 'k3'], node_labels: ['io.cilium/egress-gateway'] },
    ],
  });
  t.strictSame(request(['--pod', 'cilium', '--to-workload', 'app']), {
    whitelist: [
      { source_pod: ['cilium'], destination_workload: [{ name: 'app' }] },
      { destination_pod: ['cilium'], destination_workload: [{ name: 'app' }] },
    ],
  });
  t.strictSame(request(['--from-pod', 'cilium', '--to-identity', '42']), {
    whitelist: [{ source_pod: ['cilium'], destination_identity: [42] }],
  });
  t.strictSame(request(['--identity', 'world', '--identity', '0x10']), {
    whitelist: [{ source_identity: [2, 16] }, { destination_identity: [2, 16] }],
  });
  t.strictSame(request(['--port', '8080', '--service', 'kube-system/dns', '--fqdn', '*.cilium.io', '--workload', 'Deployment/api', '--cluster', 'c1']), {
    whitelist: [
      {
        source_port: ['8080'],
        source_service: ['kube-system/dns'],
        source_fqdn: ['*.cilium.io'],
        source_workload: [{ kind: 'Deployment', name: 'api' }],
        source_cluster_name: ['c1'],
      },
      {
        destination_port: ['8080'],
        destination_service: ['kube-system/dns'],
        destination_fqdn: ['*.cilium.io'],
        destination_workload: [{ kind: 'Deployment', name: 'api' }],
        destination_cluster_name: ['c1'],
      },
    ],
  });
});

t.test('namespaces modify the pod and service filters', async (t) => {
  const cases: [string[], GetFlowsRequest][] = [
    [
      ['-n', 'cilium', '--port', '443'],
      {
        whitelist: [
          { source_port: ['443'], source_pod: ['cilium/'] },
          { destination_port: ['443'], destination_pod: ['cilium/'] },
        ],
      },
    ],
    [['--from-namespace', 'cilium', '--from-port', '443'], { whitelist: [{ source_port: ['443'], source_pod: ['cilium/'] }] }],
    [['--to-namespace', 'cilium'], { whitelist: [{ destination_pod: ['cilium/'] }] }],
    [
      ['--to-namespace', 'cilium', '--port', '443'],
      {
        whitelist: [
          { source_port: ['443'], destination_pod: ['cilium/'] },
          { destination_port: ['443'], destination_pod: ['cilium/'] },
        ],
      },
    ],
    [
      ['--namespace', 'cilium', '--pod', 'foo-9c76d6c95-tf788'],
      { whitelist: [{ source_pod: ['cilium/foo-9c76d6c95-tf788'] }, { destination_pod: ['cilium/foo-9c76d6c95-tf788'] }] },
    ],
    [
      ['--namespace', 'cilium', '--namespace', 'kube-system', '--service', 'foo', '--service', 'bar'],
      {
        whitelist: [
          { source_service: ['cilium/foo', 'kube-system/foo', 'cilium/bar', 'kube-system/bar'] },
          { destination_service: ['cilium/foo', 'kube-system/foo', 'cilium/bar', 'kube-system/bar'] },
        ],
      },
    ],
    [['--to-namespace', 'cilium', '--to-pod', 'cilium/foo'], { whitelist: [{ destination_pod: ['cilium/foo'] }] }],
    [['--from-namespace', 'kube-system', '--to-pod', 'cilium/foo'], { whitelist: [{ destination_pod: ['cilium/foo'], source_pod: ['kube-system/'] }] }],
    [
      ['--namespace', 'genai-network-demo', '--protocol', 'http'],
      {
        whitelist: [
          { protocol: ['http'], source_pod: ['genai-network-demo/'] },
          { protocol: ['http'], destination_pod: ['genai-network-demo/'] },
        ],
      },
    ],
  ];
  for (const [argv, want] of cases) t.strictSame(request(argv), want, argv.join(' '));
  t.throws(() => request(['--to-namespace', 'kube-system', '--to-pod', 'cilium/foo']), {
    message: 'namespace conflict: "kube-system" does not contain "cilium/foo"',
  });
  t.throws(() => request(['--from-service', 'cilium/foo', '--from-pod', 'kube-system/hubble']), {
    message: /namespace of service "cilium\/foo" conflicts with pod/,
  });
});

t.test('--not puts only the next filter in the blacklist', async (t) => {
  t.strictSame(request(['--from-ip', '1.2.3.4', '--not', '--to-ip', '5.5.5.5', '--verdict', 'DROPPED']), {
    whitelist: [{ source_ip: ['1.2.3.4'], verdict: ['DROPPED'] }],
    blacklist: [{ destination_ip: ['5.5.5.5'] }],
  });
  t.strictSame(request(['--not', '--pod', 'deathstar', '--not', '--http-status', '200']), {
    blacklist: [
      { source_pod: ['deathstar'], http_status_code: ['200'] },
      { destination_pod: ['deathstar'], http_status_code: ['200'] },
    ],
  });
  t.strictSame(
    request(['--not', '--last', '5', '--protocol', 'udp']),
    { number: 5, blacklist: [{ protocol: ['udp'] }] },
    'selectors in between do not consume --not',
  );
  t.throws(() => request(['--from-ip', '1.2.3.4', '--not']), { message: 'trailing --not found in the arguments' });
  t.throws(() => request(['--not', '--not', '--from-ip', '1.2.3.4']), { message: 'consecutive --not statements' });
  t.strictSame(request(['--pod', 'a', '--not', '--from-pod', 'b']).blacklist, [{ source_pod: ['b'] }], 'conflicts are per list');
});

t.test('conflicting filter flags are refused', async (t) => {
  const pairs = [
    ['--port', '--to-port'],
    ['--identity', '--from-identity'],
    ['--workload', '--to-workload'],
    ['--fqdn', '--from-fqdn'],
    ['--ip', '--to-ip'],
    ['--label', '--from-label'],
    ['--service', '--to-service'],
    ['--pod', '--from-pod'],
    ['--namespace', '--from-namespace'],
    ['--ip', '--namespace'],
    ['--from-ip', '--from-pod'],
    ['--to-pod', '--namespace'],
    ['--namespace', '--to-service'],
    ['--to-fqdn', '--to-namespace'],
  ];
  const values: Record<string, string> = {
    '--port': '80',
    '--to-port': '81',
    '--from-port': '82',
    '--identity': '1',
    '--from-identity': '2',
    '--to-identity': '3',
    '--ip': '1.1.1.1',
    '--to-ip': '2.2.2.2',
    '--from-ip': '3.3.3.3',
    '--fqdn': 'a.b',
    '--from-fqdn': 'c.d',
    '--to-fqdn': 'e.f',
  };
  for (const [a, b] of pairs) {
    t.throws(() => request([a!, values[a!] ?? 'foo', b!, values[b!] ?? 'bar']), { message: /^filters --\S+ and --\S+ cannot be combined$/ }, `${a} ${b}`);
  }
  t.throws(() => request(['--from-service', 'foo', '--service', 'bar']), { message: 'filters --service and --from-service cannot be combined' });
  t.doesNotThrow(() =>
    request(['--service', 'bar', '--from-identity', 'world', '--pod', 'blib', '--namespace', 'test', '--from-port', '1172', '--workload', 'buzz']),
  );
});

t.test('event types and sub-types as hubble reads them', async (t) => {
  t.strictSame(
    request([
      '-t',
      '254',
      '-t',
      '255:127',
      '-t',
      'trace:to-endpoint',
      '-t',
      'trace:from-endpoint',
      '-t',
      '4:2',
      '-t',
      'agent',
      '-t',
      'agent:3',
      '-t',
      'agent:policy-updated',
      '-t',
      'policy-verdict',
      '-t',
      'drop',
    ]),
    {
      whitelist: [
        {
          event_type: [
            { type: 254 },
            { type: 255, match_sub_type: true, sub_type: 127 },
            { type: 4, match_sub_type: true, sub_type: 0 },
            { type: 4, match_sub_type: true, sub_type: 5 },
            { type: 4, match_sub_type: true, sub_type: 2 },
            { type: 130 },
            { type: 130, match_sub_type: true, sub_type: 3 },
            { type: 130, match_sub_type: true, sub_type: 5 },
            { type: 5 },
            { type: 1 },
          ],
        },
      ],
    },
  );
  t.throws(() => request(['-t', 'some-invalid-type']), { message: /unable to parse type "some-invalid-type"/ });
  t.throws(() => request(['-t', 'trace:some-invalid-sub-type']), { message: /unable to parse event sub-type/ });
  t.throws(() => request(['-t', '4:to-endpoint']), { message: /unable to parse event sub-type "to-endpoint"/ }, 'names only after a named type');
});

t.test('value flags: verdicts, drop reasons, TCP flags, directions, headers, IP versions', async (t) => {
  t.strictSame(request(['--tcp-flags', 'syn,ack', '--tcp-flags', 'FIN']).whitelist, [{ tcp_flags: [{ SYN: true, ACK: true }, { FIN: true }] }]);
  t.strictSame(request(['--traffic-direction', 'INGRESS', '--traffic-direction', 'EgrEss']).whitelist, [{ traffic_direction: ['INGRESS', 'EGRESS'] }]);
  t.strictSame(request(['--http-header', 'foo:bar', '--http-header', 'Foo:coco:bar']).whitelist, [
    {
      http_header: [
        { key: 'foo', value: 'bar' },
        { key: 'Foo', value: 'coco:bar' },
      ],
    },
  ]);
  t.strictSame(request(['-4', '--ip-version', 'v6', '--ip-version', 'none']).whitelist, [{ ip_version: ['IPv4', 'IPv6', 'IP_NOT_USED'] }]);
  t.strictSame(request(['--drop-reason-desc', 'POLICY_DENY', '--snat-ip', '2.2.2.2/16', '--uuid', 'b9fab269-04ae-495c-9d12-b6c36d41de0d']).whitelist, [
    { drop_reason_desc: ['POLICY_DENY'], source_ip_xlated: ['2.2.2.2/16'], uuid: ['b9fab269-04ae-495c-9d12-b6c36d41de0d'] },
  ]);
  const bad: [string[], RegExp][] = [
    [['--verdict', 'DENY'], /invalid --verdict value: DENY/],
    [['--drop-reason-desc', 'POLICY'], /invalid --drop-reason-desc value: POLICY/],
    [['--drop-reason-desc', ''], /empty --drop-reason-desc value/],
    [['--tcp-flags', 'syn,'], /unknown tcp flag: ""/],
    [['--tcp-flags', 'unknown'], /unknown tcp flag: "unknown"/],
    [['--traffic-direction', 'to the moon'], /to the moon: invalid traffic direction/],
    [['--http-header', 'foobar'], /expected name:value/],
    [['--identity', 'bad'], /invalid security identity "bad"/],
    [['--ip-version', 'v5'], /invalid --ip-version value "v5"/],
    [['--to-ip', '10.0.0.300'], /--to-ip "10.0.0.300": not a valid IP address/],
    [['--ip', '10.0.0.0/33'], /--ip "10.0.0.0\/33": not a valid CIDR/],
    [['--port', '70000'], /--port "70000": not a port number/],
    [['--protocol', 'quic'], /--protocol "quic": unknown protocol/],
    [['--http-status', '600'], /--http-status "600": not a status code/],
    [['--http-path', '(?=x)'], /--http-path "\(\?=x\)": invalid or unsupported Perl syntax/],
    [['--http-url', '['], /--http-url "\[": missing closing \]/],
    [['--from-label', 'app in (a'], /--from-label "app in \(a": found ''/],
    [['--fqdn', 'a b'], /--fqdn "a b": ' ': invalid rune in pattern/],
    [['--node-name', 'a/b/c'], /--node-name "a\/b\/c": too many slashes/],
    [['--cluster', ''], /--cluster "": name must not be empty/],
    [['--http-method', 'get', '-t', 'drop'], /filtering by http method requires the event type filter to only match 'l7' events/],
  ];
  for (const [argv, message] of bad) {
    t.throws(() => request(argv), { message }, argv.join(' '));
    t.throws(() => request(argv), UsageError);
  }
  t.throws(() => request(['--verdict', 'dropped']), { message: /invalid --verdict value/, hint: 'verdicts are upper case: --verdict DROPPED' });
});

t.test('--verdict DENIED: policy drops, with a note that Hubble has no such verdict', async (t) => {
  const notes: string[] = [];
  t.strictSame(
    request(['--verdict', 'DENIED', '--verdict', 'DENIED'], false, (l) => notes.push(l)),
    {
      whitelist: [{ verdict: ['DROPPED'], drop_reason_desc: ['POLICY_DENIED', 'POLICY_DENY'] }],
    },
  );
  t.equal(notes.length, 1, 'one note however often DENIED is given');
  t.match(notes[0], /Hubble has no DENIED verdict.*DROPPED.*POLICY_DENIED or POLICY_DENY/);
  t.strictSame(
    request(['--verdict', 'FORWARDED', '--verdict', 'DENIED', '--to-namespace', 'demo']),
    {
      whitelist: [
        { verdict: ['FORWARDED'], destination_pod: ['demo/'] },
        { verdict: ['DROPPED'], destination_pod: ['demo/'], drop_reason_desc: ['POLICY_DENIED', 'POLICY_DENY'] },
      ],
    },
    'DENIED ORs with the other verdicts',
  );
  t.strictSame(request(['--not', '--verdict', 'DENIED']), { blacklist: [{ verdict: ['DROPPED'], drop_reason_desc: ['POLICY_DENIED', 'POLICY_DENY'] }] });
  t.throws(() => request(['--verdict', 'DENIED', '--drop-reason-desc', 'POLICY_DENY']), { message: /DENIED cannot be combined with --drop-reason-desc/ });
});

t.test('--allowlist and --denylist take FlowFilters as JSON', async (t) => {
  t.strictSame(
    request([
      '--from-pod',
      'a',
      '--allowlist',
      '{"source_label":["k8s:io.kubernetes.pod.namespace=kube-system","reserved:host"]}',
      '--allowlist',
      '{"destinationLabel":["reserved:host"]} {"verdict":["DROPPED"],"eventType":[{"type":1,"matchSubType":true,"subType":133}]}',
      '--denylist',
      '{"source_label":["k8s:k8s-app=kube-dns"]}',
      '--not',
      '--protocol',
      'dns',
    ]),
    {
      whitelist: [
        { source_pod: ['a'] },
        { source_label: ['k8s:io.kubernetes.pod.namespace=kube-system', 'reserved:host'] },
        { destination_label: ['reserved:host'] },
        { verdict: ['DROPPED'], event_type: [{ type: 1, match_sub_type: true, sub_type: 133 }] },
      ],
      blacklist: [{ protocol: ['dns'] }, { source_label: ['k8s:k8s-app=kube-dns'] }],
    },
    'appended after the flag filters, JSON names read as proto names',
  );
  const bad: [string, RegExp][] = [
    ['{"invalid":["filters"]}', /^invalid --allowlist flag: failed to decode '\{"invalid":\["filters"\]\}': unknown field "invalid"$/],
    ['{"event_type":[{"type":1,"nope":true}]}', /unknown field "event_type\[0\]\.nope"/],
    ['{"source_ip":"1.2.3.4"}', /source_ip: expected a list/],
    ['{"source_ip":[', /failed to decode/],
    ['[{"source_ip":["1.2.3.4"]}]', /expected a JSON object/],
    ['{"source_ip":["1.2.3.400"]}', /invalid source_ip filter "1\.2\.3\.400"/],
  ];
  for (const [json, message] of bad) t.throws(() => request(['--allowlist', json]), { message }, json);
  t.throws(() => request(['--denylist', '{"x":1}']), { message: /^invalid --denylist flag/ });
  t.strictSame(
    request(['--allowlist', '{"verdict":[2],"traffic_direction":["INGRESS"]}']).whitelist,
    [{ verdict: ['DROPPED'], traffic_direction: ['INGRESS'] }],
    'enum numbers read as names',
  );
});

t.test("every row of the filter flag table is in observe --help, parses into its side's field, and compiles", async (t) => {
  const c = captureIO();
  t.equal(await main(['observe', '--help'], c.io), 0);
  const help = c.out();
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const flag of observeFilterFlags) {
    const usage = `${flag.short ? `-${flag.short}, ` : '    '}--${flag.name}${flag.valueName ? ` ${flag.valueName}` : ''}`;
    t.match(help, new RegExp(`^ +${escape(usage)} +${escape(flag.description)}`, 'm'), `--${flag.name} in the help`);

    t.ok(flag.valueName === undefined || flag.example !== undefined, `--${flag.name} has an example value`);
    const argv = flag.valueName === undefined ? [`--${flag.name}`] : [`--${flag.name}`, flag.example!];
    const req = request(argv);
    const fields = (req.whitelist ?? []).map((f) => Object.keys(f).sort());
    const sided = (side: 'source' | 'destination') => (flag.field === 'namespace' ? `${side}_pod` : `${side}_${flag.field}`);
    const want =
      flag.side === 'either'
        ? [[sided('source')], [sided('destination')]]
        : flag.side === 'from'
          ? [[sided('source')]]
          : flag.side === 'to'
            ? [[sided('destination')]]
            : [[flag.field]];
    t.strictSame(fields, want, `${argv.join(' ')}: the fields of its side`);

    const matches = compileFlowFilters(req.whitelist, req.blacklist);
    t.notOk(matches({ uuid: 'x' }), `${argv.join(' ')}: compiles into a filter that an empty flow does not pass`);
    t.strictSame(request(['--not', ...argv]).blacklist, req.whitelist, `--not ${argv.join(' ')}: the same filters, blacklisted`);
  }
});

t.test('the flags a row excludes are other rows, and each pair is refused in either order', async (t) => {
  const names = new Set(observeFilterFlags.map((f) => f.name));
  const argv = (name: string) => {
    const flag = observeFilterFlags.find((f) => f.name === name)!;
    return flag.valueName === undefined ? [`--${name}`] : [`--${name}`, flag.example!];
  };
  for (const flag of observeFilterFlags) {
    for (const other of flag.excludes ?? []) {
      t.ok(names.has(other), `--${flag.name} excludes --${other}, a filter flag`);
      const message = `filters --${flag.name} and --${other} cannot be combined`;
      t.throws(() => request([...argv(flag.name), ...argv(other)]), { message });
      t.throws(() => request([...argv(other), ...argv(flag.name)]), { message });
      t.doesNotThrow(() => request([...argv(flag.name), '--not', ...argv(other)]), 'conflicts are per list');
    }
  }
});
