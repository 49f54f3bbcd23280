// The policy part of a report: applied policies, unused rules, edges no policy covers, and every policy drop explained.
import t from 'tap';
import { synthResponses } from '../fixtures/synth.ts';
import { compileLocated, parsePolicies } from '../../lib/policy/load.ts';
import { observe } from '../../lib/policy/observations.ts';
import { policyReport } from '../../lib/policy/report.ts';
import { annotatePolicyDrops, policyMarkdown } from '../../lib/report/policy.ts';
import { readFileSync } from 'node:fs';

const brokenPath = new URL('../../manifests/policy/broken-policy.yaml', import.meta.url).pathname;
const unused = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: metrics, namespace: genai-network-demo}
spec:
  podSelector: {matchLabels: {app: llm-service}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {tier: processing}}}]
    ports: [{port: 80}]
  - ports: [{port: 9090}]
`;

t.test('the broken-policy scenario: drops explained, unused rules, uncovered edges', async (t) => {
  const located = [...parsePolicies(readFileSync(brokenPath, 'utf8'), brokenPath), ...parsePolicies(unused, 'extra.yaml')];
  const { set, vocabulary } = compileLocated(located);
  const table = await observe(synthResponses({ count: 4000, seed: 1 }));
  const p = policyReport(located, set, vocabulary, table.observations());
  t.same(p.applied, [
    { kind: 'NetworkPolicy', namespace: 'genai-network-demo', name: 'genai-network-policy', source: `${brokenPath}:4` },
    { kind: 'NetworkPolicy', namespace: 'genai-network-demo', name: 'metrics', source: 'extra.yaml:1' },
  ]);
  t.same(
    p.unusedRules,
    [{ kind: 'NetworkPolicy', namespace: 'genai-network-demo', policy: 'metrics', rule: 'spec.ingress[1]', direction: 'ingress' }],
    'port 9090 was never used',
  );
  t.ok(
    p.uncovered.some((u) => u.source === 'genai-network-demo/traffic-generator' && u.destination === 'genai-network-demo/agent-coordinator'),
    'nothing selects either end of generator → coordinator',
  );
  t.notOk(
    p.uncovered.some((u) => u.destination === 'genai-network-demo/document-agent'),
    'document-agent is covered',
  );
  t.same(p.unselected, ['genai-network-demo/agent-coordinator', 'genai-network-demo/traffic-generator', 'kube-system/coredns']);
  // The export's drops, explained with the policies given (the export's own drops came from another policy set).
  const toCoordinator = p.drops.find((d) => d.destination === 'genai-network-demo/agent-coordinator');
  t.match(toCoordinator, {
    source: 'genai-network-demo/document-agent',
    direction: 'ingress',
    policies: [],
    missingRule: 'no ingress rule allows app=document-agent, tier=processing on TCP/80',
  });
  t.match(toCoordinator!.explanation, /^no policy given selects agent-coordinator for ingress/);

  const findings = [
    {
      reason: 'POLICY_DENIED',
      policy: true,
      edges: [{ source: 'genai-network-demo/document-agent', destination: 'genai-network-demo/agent-coordinator', count: 3 }] as {
        source: string;
        destination: string;
        count: number;
        policies?: string[];
        missingRule?: string;
      }[],
    },
    {
      reason: 'STALE_OR_UNROUTABLE_IP',
      policy: false,
      edges: [{ source: 'a', destination: 'b', count: 1 }] as { source: string; destination: string; count: number; policies?: string[] }[],
    },
  ];
  annotatePolicyDrops(findings, p.drops);
  t.same(findings[0]!.edges[0], {
    source: 'genai-network-demo/document-agent',
    destination: 'genai-network-demo/agent-coordinator',
    count: 3,
    policies: [],
    missingRule: 'no ingress rule allows app=document-agent, tier=processing on TCP/80',
  });
  t.same(findings[1]!.edges[0], { source: 'a', destination: 'b', count: 1 }, 'other drops are left alone');

  const md = policyMarkdown({ ...p, suggested: 'suggested-policy.yaml' });
  t.match(md, /^## Policy\n\nApplied: 2 policies\.\n\n\| Kind \| Policy \| From \|/);
  t.match(md, '- genai-network-demo/metrics `spec.ingress[1]` (ingress)');
  t.match(md, /### Forwarded edges no policy covers\n\nNeither end is selected/);
  t.match(md, '[suggested-policy.yaml](suggested-policy.yaml)');
});

t.test('the flows name the deniers: they win over the policies given', async (t) => {
  const records = synthResponses({ count: 2000, seed: 3 });
  for (const r of records) {
    const f = r.flow;
    if (f?.verdict === 'DROPPED') f.ingress_denied_by = [{ name: 'lockdown', namespace: 'genai-network-demo', kind: 'CiliumNetworkPolicy' }];
  }
  const table = await observe(records);
  const { set, vocabulary } = compileLocated(parsePolicies(readFileSync(brokenPath, 'utf8'), brokenPath));
  const p = policyReport([], set, vocabulary, table.observations());
  t.ok(p.drops.length > 0);
  t.ok(
    p.drops.every((d) => d.policies.join() === 'lockdown'),
    'the policy Cilium named',
  );
});

t.test('without policies: every edge uncovered, and the section says so', async (t) => {
  const table = await observe(synthResponses({ count: 1000, seed: 2 }));
  const { set, vocabulary } = compileLocated([]);
  const p = policyReport([], set, vocabulary, table.observations());
  t.same(p.unusedRules, []);
  t.ok(p.uncovered.length > 0);
  const md = policyMarkdown(p);
  t.match(md, 'No policy was given or found');
  t.notMatch(md, 'Rules no observed flow used');
});

t.test('attachPolicyReport: drops explained from the flows alone, or the full section with the suggestion file', async (t) => {
  const { attachPolicyReport } = await import('../../lib/report/policy.ts');
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const edge = () =>
    ({ source: 'genai-network-demo/document-agent', destination: 'genai-network-demo/agent-coordinator', count: 1 }) as {
      source: string;
      destination: string;
      count: number;
      policies?: string[];
      missingRule?: string;
    };
  const bare = { drops: [{ policy: true, edges: [edge()] }] } as Parameters<typeof attachPolicyReport>[0];
  await attachPolicyReport(bare, await observe(synthResponses({ count: 3000, seed: 1 })));
  t.equal(bare.policy, undefined, 'no section without policies');
  t.match(bare.drops[0]!.edges[0], { policies: [], missingRule: 'no ingress rule allows app=document-agent, tier=processing on TCP/80' });

  const dir = t.testdir({});
  const full = { drops: [{ policy: true, edges: [edge()] }] } as Parameters<typeof attachPolicyReport>[0];
  await attachPolicyReport(full, await observe(synthResponses({ count: 3000, seed: 1 })), {
    policies: parsePolicies(readFileSync(brokenPath, 'utf8'), brokenPath),
    suggestTo: dir,
    namespaces: ['genai-network-demo'],
  });
  t.equal(full.policy?.suggested, 'suggested-policy.yaml');
  t.ok(existsSync(join(dir, 'suggested-policy.yaml')));
  t.match(full.drops[0]!.edges[0], { missingRule: 'no ingress rule allows tier=processing on TCP/80' }, 'in the policies’ own terms');
});

t.test('dropWhy: the full explanation, else the edge’s own fields', async (t) => {
  const { dropWhy } = await import('../../lib/report/policy.ts');
  const edge = { source: 'a', destination: 'b' };
  t.equal(dropWhy(undefined, edge), undefined);
  t.equal(dropWhy(undefined, { ...edge, policies: ['p'], missingRule: 'no egress rule allows x=y on TCP/80' }), 'p: no egress rule allows x=y on TCP/80');
  const report = {
    applied: [],
    unusedRules: [],
    uncovered: [],
    unselected: [],
    drops: [
      {
        source: 'a',
        destination: 'b',
        protocol: 'TCP',
        port: 80,
        direction: 'egress' as const,
        flows: 1,
        policies: ['p'],
        missingRule: 'm',
        explanation: 'p selects a for egress; m',
      },
    ],
  };
  t.equal(dropWhy(report, edge), 'p selects a for egress; m');
});
