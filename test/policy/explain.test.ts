// Explaining a policy drop: the policies selecting the endpoint in the direction that dropped it, and the rule
// that was missing, from a policy set, from the flow's own fields, or from the flow alone.
import t from 'tap';
import { compilePolicies, selectorKeys } from '../../lib/policy/evaluate.ts';
import { explainDrop } from '../../lib/policy/explain.ts';
import type { Connection, PodEndpoint } from '../../lib/policy/types.ts';
import { loadManifests } from '../../lib/lab/manifests.ts';

const demo = (labels: Record<string, string>): PodEndpoint => ({ kind: 'pod', namespace: 'genai-network-demo', labels, nodeName: 'n1' });
const doc = demo({ app: 'document-agent', tier: 'processing' });
const llm = demo({ app: 'llm-service', tier: 'inference' });
const probe: PodEndpoint = { kind: 'pod', namespace: 'default', labels: { run: 'test-pod', 'pod-template-hash': 'x1' }, nodeName: 'n1' };
const broken = loadManifests(new URL('../../manifests/policy/broken-policy.yaml', import.meta.url).pathname);
const set = compilePolicies(broken);
const vocabulary = selectorKeys(broken);

t.test('the broken-policy scenario, in the policy set’s own terms', async (t) => {
  const conn: Connection = { source: doc, destination: llm, protocol: 'TCP', port: 80 };
  const e = explainDrop(
    { connection: conn, sourceName: 'genai-network-demo/document-agent', destinationName: 'genai-network-demo/llm-service' },
    set,
    vocabulary,
  );
  t.same(e.policies, ['genai-network-policy']);
  t.equal(e.direction, 'egress', 'found by evaluating when the flow does not say');
  t.equal(e.missingRule, 'no egress rule allows tier=inference on TCP/80');
  t.equal(e.text, 'genai-network-policy selects document-agent (tier=processing) for egress; no egress rule allows tier=inference on TCP/80');
});

t.test('ingress from another namespace: the peer by its stable labels and namespace', async (t) => {
  const e = explainDrop(
    { connection: { source: probe, destination: doc, protocol: 'TCP', port: 80 }, direction: 'ingress', destinationName: 'genai-network-demo/document-agent' },
    set,
  );
  t.equal(
    e.text,
    'genai-network-policy selects document-agent (tier=processing) for ingress; no ingress rule allows run=test-pod in namespace default on TCP/80',
  );
});

t.test("the flow's own denied_by wins; without policies the missing rule is still named", async (t) => {
  const conn: Connection = { source: doc, destination: { kind: 'world', ip: '1.1.1.1', names: ['one.one.one.one'] }, protocol: 'TCP', port: 443 };
  const fromFlow = explainDrop({
    connection: conn,
    direction: 'egress',
    sourceName: 'genai-network-demo/document-agent',
    deniedBy: [{ name: 'deny-world', namespace: 'genai-network-demo', kind: 'CiliumNetworkPolicy' }],
  });
  t.same(fromFlow.policies, ['deny-world']);
  t.equal(
    fromFlow.text,
    'deny-world selects document-agent for egress; a deny rule of deny-world matches world 1.1.1.1 (one.one.one.one) on TCP/443, and a deny rule wins over any allow',
  );
  const bare = explainDrop({ connection: conn, direction: 'egress', sourceName: 'genai-network-demo/document-agent' });
  t.same(bare.policies, []);
  t.equal(bare.text, 'document-agent is isolated for egress by a policy not given here; no egress rule allows world 1.1.1.1 (one.one.one.one) on TCP/443');
  const other = explainDrop({ connection: conn, direction: 'egress', sourceName: 'genai-network-demo/document-agent' }, compilePolicies([]));
  t.match(other.text, /^no policy given selects document-agent for egress;/);
});

t.test('nodes are named as Cilium names them', async (t) => {
  const e = explainDrop(
    { connection: { source: { kind: 'node', name: 'other' }, destination: doc, protocol: 'TCP', port: 80 }, direction: 'ingress' },
    set,
    vocabulary,
  );
  t.match(e.missingRule, 'no ingress rule allows remote-node on TCP/80');
});
