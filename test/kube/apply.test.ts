// Idempotent server-side apply against the embedded cluster: plan is read-only, apply sends every field
// (including NetworkPolicy's `from`, which client-node's models rename), and a second plan finds nothing to do.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { applyChanges, describeChange, planApply } from '../../lib/kube/apply.ts';
import { kubeConfigOf } from '../fixtures/sim-kube.ts';

const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apply-test' } };
const policy = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'only-front', namespace: 'apply-test' },
  spec: {
    podSelector: { matchLabels: { tier: 'back' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'front' } } }], ports: [{ protocol: 'TCP', port: 80 }] }],
  },
};
const configMap = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings', namespace: 'apply-test', labels: { app: 'x' } },
  data: { limit: '1024Mi' },
};
const objects = [namespace, policy, configMap] as KubernetesObject[];

function mutating(stats: Record<string, unknown>): number {
  return (stats.requests as { mutating: number }).mutating;
}

t.test('plan, apply, re-plan against the embedded cluster', async (t) => {
  const sim = await startSimCluster({ nodes: 1 });
  t.teardown(() => sim.stop());
  const kc = kubeConfigOf(sim);

  const before = mutating(sim.stats());
  const plan = await planApply(kc, objects);
  t.same(plan.map(describeChange), ['create Namespace apply-test', 'create NetworkPolicy apply-test/only-front', 'create ConfigMap apply-test/settings']);
  t.equal(mutating(sim.stats()), before, 'planning makes no mutating request');

  await applyChanges(kc, plan);
  t.equal(mutating(sim.stats()), before + 3);

  const again = await planApply(kc, objects);
  t.same(
    again.map((c) => c.action),
    ['unchanged', 'unchanged', 'unchanged'],
    'a second plan finds nothing to change',
  );

  // kubectl runs as a child while the sim (in this process) keeps serving: never block the event loop here.
  const run = promisify(execFile);
  const kubectl = await run('kubectl', ['version', '--client']).then(
    () => true,
    () => false,
  );
  if (kubectl) {
    const { stdout } = await run('kubectl', [
      '--kubeconfig',
      sim.kubeconfigPath,
      '-n',
      'apply-test',
      'get',
      'networkpolicy',
      'only-front',
      '-o',
      'json',
      '--show-managed-fields',
    ]);
    const live = JSON.parse(stdout);
    t.same(live.spec.ingress[0].from, [{ podSelector: { matchLabels: { tier: 'front' } } }], 'the ingress peers reached the server');
    const mf = live.metadata.managedFields.map((f: { manager: string; operation: string }) => `${f.manager}/${f.operation}`);
    t.ok(mf.includes('hubble-lab/Apply'), 'applied with the hubble-lab field manager');
  } else t.comment('kubectl not installed: the object was checked through the plan only');

  const changed: KubernetesObject[] = [{ ...configMap, data: { limit: '2Gi' } } as KubernetesObject];
  const update = await planApply(kc, changed);
  t.same(update.map(describeChange), ['update ConfigMap apply-test/settings (data.limit)']);
});
