// hubble-lab teardown: removes what the lab created and puts cilium-config back as it was; a second teardown has nothing to do.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { runHubbleLab } from '../fixtures/cli-process.ts';
import { kubeConfigOf } from '../fixtures/sim-kube.ts';

const hubbleLab = (args: string[]) => runHubbleLab(args, 120_000);

t.test('teardown undoes enable-hubble, deploy-hubble and deploy-demo', async (t) => {
  const sim = await startSimCluster({});
  t.teardown(() => sim.stop());
  const core = kubeConfigOf(sim).makeApiClient(CoreV1Api);
  const apps = kubeConfigOf(sim).makeApiClient(AppsV1Api);
  const config = async () => (await core.readNamespacedConfigMap({ namespace: 'kube-system', name: 'cilium-config' })).data ?? {};
  const before = await config();
  t.equal(before['enable-hubble'], 'false', 'a fresh sim has Hubble disabled');

  const runDir = join(t.testdir(), 'run');
  const setup = await hubbleLab([
    'run',
    'preflight',
    'enable-hubble',
    'deploy-hubble',
    'deploy-demo',
    '--kubeconfig',
    sim.kubeconfigPath,
    '--yes',
    '--out',
    runDir,
  ]);
  t.equal(setup.code, 0, `setup\n${setup.stdout}\n${setup.stderr}`);
  t.notOk(existsSync(runDir), 'tasks that write no report leave no empty report folder');
  t.equal((await config())['enable-hubble'], 'true');

  const dry = await hubbleLab(['teardown', '--kubeconfig', sim.kubeconfigPath, '--dry-run']);
  t.equal(dry.code, 0, dry.stderr);
  t.match(dry.stdout, /would delete Namespace genai-network-demo/);
  t.match(dry.stdout, /would restore cilium-config enable-hubble → "false"/);
  t.equal((await config())['enable-hubble'], 'true', 'a dry run changes nothing');

  const down = await hubbleLab(['teardown', '--kubeconfig', sim.kubeconfigPath, '--yes']);
  t.equal(down.code, 0, `teardown\n${down.stdout}\n${down.stderr}`);
  const after = await config();
  for (const key of ['enable-hubble', 'hubble-listen-address', 'hubble-metrics-server', 'hubble-metrics']) {
    t.equal(after[key], before[key], `cilium-config ${key} is back to ${before[key] ?? '(unset)'}`);
  }
  const namespaces = (await core.listNamespace()).items.map((n) => n.metadata?.name);
  t.notOk(namespaces.includes('genai-network-demo'), 'the demo namespace is gone');
  const deployments = (await apps.listNamespacedDeployment({ namespace: 'kube-system' })).items.map((d) => d.metadata?.name);
  t.notOk(deployments.includes('hubble-relay') || deployments.includes('hubble-ui'), 'Relay and UI are gone');
  t.ok(deployments.includes('coredns'), 'what the lab did not create stays');

  const again = await hubbleLab(['teardown', '--kubeconfig', sim.kubeconfigPath, '--yes']);
  t.equal(again.code, 0, again.stderr);
  t.notMatch(again.stdout, /^\s+(delete|restore) /m, 'a second teardown has nothing to do');
});
