// The expectations file: a valid file read into rules with defaults; every invalid one rejected with its line.
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadExpectations, parseExpectations } from '../../lib/analysis/expectations.ts';
import { InputError } from '../../lib/errors.ts';

const valid = `# what the GenAI demo may do
version: 1
allow:
  - from: genai-network-demo/agent-coordinator
    to: genai-network-demo/document-agent
    ports: [80]
  - from: { namespace: genai-network-demo, labels: { tier: processing } }
    to: { labels: { tier: inference } }
    ports: ["TCP/80", "53/udp"]
  - from: "genai-network-demo/*"
    to: kube-system/kube-dns
deny:
  - name: policy-violation probe
    from: default/test-pod
    to: genai-network-demo/document-agent
slo:
  default: { maxErrorRate: 0.05, maxP99Ms: 1000 }
  edges:
    - from: genai-network-demo/document-agent
      to: genai-network-demo/llm-service
      maxP99Ms: 5000
      minRequests: 10
checks:
  drift: fail
incomplete: warn
`;

t.test('a valid file becomes rules with their location and defaults', async (t) => {
  const e = parseExpectations(valid, 'expect.yaml');
  t.equal(e.allow!.length, 3);
  t.same(e.allow![0]!.from, { name: 'genai-network-demo/agent-coordinator' });
  t.same(e.allow![0]!.ports, [{ protocol: undefined, port: 80 }]);
  t.same(e.allow![1]!.ports, [
    { protocol: 'TCP', port: 80 },
    { protocol: 'UDP', port: 53 },
  ]);
  t.same(e.allow![1]!.from, { namespace: 'genai-network-demo', labels: { tier: 'processing' } });
  t.equal(e.allow![2]!.ports, undefined, 'no ports: every port');
  t.equal(e.allow![1]!.label, 'allow[1] (expect.yaml:7)', 'rules know their line');
  t.equal(e.deny![0]!.name, 'policy-violation probe');
  t.same(e.slo!.default, { maxErrorRate: 0.05, maxP99Ms: 1000, minRequests: 1 });
  t.equal(e.slo!.edges[0]!.maxP99Ms, 5000);
  t.equal(e.slo!.edges[0]!.label, 'slo.edges[0] (expect.yaml:19)');
  t.same(e.checks, { allowedDropped: 'fail', denyEnforced: 'fail', drift: 'fail', slo: 'fail' }, 'unset checks default');
  t.equal(e.incomplete, 'warn');
  const empty = parseExpectations('', 'empty.yaml');
  t.equal(empty.allow, undefined);
  t.equal(empty.incomplete, 'fail');
});

function rejects(t: Test, text: string, ...expected: RegExp[]): void {
  try {
    parseExpectations(text, 'bad.yaml');
    t.fail('should have been rejected');
  } catch (err) {
    t.type(err, InputError);
    const msg = (err as Error).message;
    for (const re of expected) t.match(msg, re);
  }
}

t.test('schema errors name the file, the line and the key', async (t) => {
  rejects(t, 'allow:\n  - from: a/b\n    to: c/d\n    prots: [80]\n', /bad\.yaml:4: allow\[0\]\.prots: unknown key "prots" \(known: name, from, to, ports\)/);
  rejects(t, 'allow:\n  - from: a/b\n', /bad\.yaml:2: allow\[0\]: missing required key "to"/);
  rejects(
    t,
    'deny:\n  - from: a/b\n    to: c/d\n    ports: ["http"]\n',
    /bad\.yaml:4: deny\[0\]\.ports\[0\]: "http" is not valid here \(a port: 80, "TCP\/80" or "53\/udp"\)/,
  );
  rejects(t, 'allow:\n  - from: a/b\n    to: c/d\n    ports: [70000]\n', /bad\.yaml:4: allow\[0\]\.ports\[0\]: must be at most 65535/);
  rejects(t, 'slo:\n  default:\n    maxErrorRate: "5%"\n', /bad\.yaml:3: slo\.default\.maxErrorRate: expected a number, got "5%"/);
  rejects(t, 'checks:\n  drift: maybe\n', /bad\.yaml:2: checks\.drift: must be one of "fail", "warn", "off"; got "maybe"/);
  rejects(t, 'incomplete: ignore\n', /bad\.yaml:1: incomplete: must be one of/);
  rejects(t, 'allow:\n  - from: {}\n    to: x\n', /bad\.yaml:2: allow\[0\]\.from: needs at least one of: name, namespace, labels/);
  rejects(t, 'allow:\n  - from: 42\n    to: x\n', /bad\.yaml:2: allow\[0\]\.from: expected a string or a mapping, got 42/);
  rejects(t, 'allow: {from: a}\n', /bad\.yaml:1: allow: expected a list, got a mapping/);
  rejects(t, 'version: 2\n', /bad\.yaml:1: version: must be 1, got 2/);
  rejects(
    t,
    'allow:\n  - from: a\n    to: b\nextra: 1\nslo:\n  default: {maxP99Ms: 0}\n',
    /bad\.yaml:4: extra: unknown key/,
    /bad\.yaml:6: slo\.default\.maxP99Ms: must be greater than 0/,
  );
});

t.test('YAML syntax errors name the line', async (t) => {
  rejects(t, 'allow:\n  - from: a\n    to: [b\n', /bad\.yaml:4: Flow sequence in block collection must be sufficiently indented and end with a \]/);
  rejects(t, 'allow:\n  - from: a\n  to: b\n   x: y\n', /bad\.yaml:3: All mapping items must start at the same column/);
  rejects(t, 'checks:\n  drift: warn\n  drift: fail\n', /bad\.yaml:3: Map keys must be unique/);
});

t.test('files: read from disk, a missing one is an input error naming it', async (t) => {
  const dir = t.testdir({ 'expect.yaml': valid });
  const e = await loadExpectations(join(dir, 'expect.yaml'));
  t.equal(e.source, join(dir, 'expect.yaml'));
  await t.rejects(loadExpectations(join(dir, 'nope.yaml')), { message: `cannot read expectations file ${join(dir, 'nope.yaml')}: no such file` });
  writeFileSync(join(dir, 'expect.json'), JSON.stringify({ allow: [{ from: 'a/*', to: 'b/*', ports: ['TCP/8080'] }] }));
  const j = await loadExpectations(join(dir, 'expect.json'));
  t.same(j.allow![0]!.ports, [{ protocol: 'TCP', port: 8080 }], 'JSON works too');
});
