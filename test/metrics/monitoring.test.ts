// deploy-monitoring on the embedded cluster: with this machine's prometheus binary, a real Prometheus scrapes every
// agent's Hubble metrics; without one, the task says how to install it and the lab goes on.
import t from 'tap';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { forwardService } from '../../lib/kube/port-forward.ts';
import { PrometheusClient } from '../../lib/metrics/prometheus.ts';
import { findPrometheus } from '../../lib/metrics/prometheus-binary.ts';
import { runHubbleLab } from '../fixtures/cli-process.ts';
import { kubeConfigOf } from '../fixtures/sim-kube.ts';

const setup = ['run', 'preflight', 'enable-hubble', 'deploy-hubble', 'deploy-monitoring', '--yes'];

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const noBinary = findPrometheus() ? false : 'no prometheus binary on this machine (apt-get install prometheus)';

t.test('a real Prometheus scrapes every agent of the embedded cluster', { skip: !process.env['HUBBLE_LAB_REQUIRE_PROMETHEUS'] && noBinary }, async (t) => {
  if (noBinary) {
    t.fail('no prometheus binary, and HUBBLE_LAB_REQUIRE_PROMETHEUS is set');
    return;
  }
  const sim = await startSimCluster({});
  t.teardown(() => sim.stop());
  const res = await runHubbleLab([...setup, '--kubeconfig', sim.kubeconfigPath], 180_000);
  t.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
  t.match(res.stdout, /Prometheus \S+: http:\/\/127\.0\.0\.1:\d+ \(every agent's Hubble metrics, job hubble-metrics\)/);
  const password = /Grafana admin password \(shown this once; kept in Secret kube-system\/grafana-admin\): (\S+)/.exec(res.stdout)?.[1];
  t.ok(password && password.length >= 20 && password !== 'admin', 'a random Grafana admin password, printed');
  const kc = kubeConfigOf(sim);
  const secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: 'kube-system', name: 'grafana-admin' });
  t.equal(Buffer.from(secret.data?.['admin-password'] ?? '', 'base64').toString(), password, 'kept in the Secret Grafana reads');
  const apps = kc.makeApiClient(AppsV1Api);
  t.ok((await apps.readNamespacedDeployment({ namespace: 'kube-system', name: 'grafana' })).metadata, 'Grafana is deployed with its dashboards');

  const fwd = await forwardService(kc, { namespace: 'kube-system', service: 'prometheus', servicePort: 9090, localPort: 19090 });
  t.teardown(() => fwd.close());
  const prom = new PrometheusClient(`http://${fwd.address}`);
  const targets = await until('three agent targets up', async () => {
    const up = (await prom.targets()).filter((x) => x.job === 'hubble-metrics' && x.health === 'up');
    return up.length === 3 ? up : undefined;
  });
  t.same(
    targets.map((x) => x.labels['instance']).sort(),
    ['127.18.0.2:9965', '127.18.0.3:9965', '127.18.0.4:9965'],
    "instances are the agents' pod addresses, as on a cluster",
  );
  t.same(targets.map((x) => x.labels['node']).sort(), ['sim-control-plane', 'sim-worker', 'sim-worker2'], 'labelled with their node');

  // Relay's connections to the agents are observed flows: counted, and stored by now.
  const total = await until('flows counted', async () => {
    const r = await prom.query('sum(hubble_flows_processed_total)');
    return r[0] && r[0].value > 0 ? r[0].value : undefined;
  });
  t.ok(total > 0, `${total} flows counted by the agents`);
  const names = await prom.metricNames();
  for (const n of ['hubble_flows_processed_total', 'hubble_tcp_flags_total', 'hubble_port_distribution_total']) {
    t.ok(names.includes(n), `${n} is stored`);
  }

  const again = await runHubbleLab(['run', 'deploy-monitoring', '--kubeconfig', sim.kubeconfigPath, '--yes'], 120_000);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /Deploy Prometheus for Hubble metrics \(unchanged\)/, 'a second run changes nothing');
  t.notMatch(again.stdout, /admin password/, 'the password is printed once');

  const down = await runHubbleLab(['teardown', '--kubeconfig', sim.kubeconfigPath, '--yes'], 180_000);
  t.equal(down.code, 0, `teardown\n${down.stdout}\n${down.stderr}`);
  t.match(down.stdout, /delete Deployment kube-system\/prometheus/);
  t.match(down.stdout, /delete Secret kube-system\/grafana-admin/);
  const left = (await apps.listNamespacedDeployment({ namespace: 'kube-system' })).items.map((d) => d.metadata?.name);
  t.notOk(left.includes('prometheus') || left.includes('grafana'), 'teardown removes Prometheus and Grafana');
});

t.test('without a prometheus binary the task says how to get one, and changes nothing', async (t) => {
  const sim = await startSimCluster({});
  t.teardown(() => sim.stop());
  const saved = process.env['HUBBLE_LAB_PROMETHEUS'];
  process.env['HUBBLE_LAB_PROMETHEUS'] = '/nonexistent/prometheus';
  t.teardown(() => {
    if (saved === undefined) delete process.env['HUBBLE_LAB_PROMETHEUS'];
    else process.env['HUBBLE_LAB_PROMETHEUS'] = saved;
  });
  const res = await runHubbleLab(['run', 'deploy-monitoring', '--kubeconfig', sim.kubeconfigPath, '--yes'], 60_000);
  t.equal(res.code, 0, `the lab goes on\n${res.stdout}\n${res.stderr}`);
  t.match(res.stdout, /metrics are not collected: .*there is none \(install Debian's prometheus package \(sudo apt-get install -y prometheus\)/);
  const apps = kubeConfigOf(sim).makeApiClient(AppsV1Api);
  const deployments = (await apps.listNamespacedDeployment({ namespace: 'kube-system' })).items.map((d) => d.metadata?.name);
  t.notOk(deployments.includes('prometheus'), 'no Prometheus Deployment that could never run');
});
