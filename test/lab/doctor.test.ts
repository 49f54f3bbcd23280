// hubble-lab doctor as a user runs it: each problem it diagnoses, named with what to do and exit 2, and a ready lab with every node connected and exit 0.
import t, { type Test } from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, VersionApi } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { setMergePatch } from '../../lib/kube/rollout.ts';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { hubbleConfig } from '../../lib/lab/cilium-config.ts';
import { runHubbleLab, type CliResult } from '../fixtures/cli-process.ts';
import { kubeConfigOf } from '../fixtures/sim-kube.ts';

const hubbleLab = (args: string[], timeoutMs = 60_000) => runHubbleLab(args, timeoutMs);

/** One or more consecutive lines, each matching. */
interface Some {
  some: RegExp;
}

/**
 * The output line by line: a string is the exact line, a RegExp must match the whole line. One assertion per
 * output, so a failure shows the diff of the lines as the user would read them.
 */
function expectLines(t: Test, res: CliResult, expected: (string | RegExp | Some)[], what: string): void {
  const lines = res.stdout.replace(/\n$/, '').split('\n');
  const whole = (re: RegExp, line: string | undefined) => line !== undefined && new RegExp(`^(?:${re.source})$`).test(line);
  // Where the actual line fits its pattern it stands for itself; elsewhere the pattern shows what was expected.
  const want: string[] = [];
  let i = 0;
  for (const e of expected) {
    if (typeof e === 'string') {
      want.push(e);
      i++;
    } else if (e instanceof RegExp) {
      want.push(whole(e, lines[i]) ? lines[i]! : String(e));
      i++;
    } else {
      if (!whole(e.some, lines[i])) want.push(`${String(e.some)} (one or more lines)`);
      while (whole(e.some, lines[i])) want.push(lines[i++]!);
    }
  }
  t.same(lines, want, what, { stderr: res.stderr });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('a lab cluster through its states: each problem named with what to do, then all clear', async (t) => {
  const sim = await startSimCluster({});
  t.teardown(() => sim.stop());
  const kc = kubeConfigOf(sim);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const kcPath = sim.kubeconfigPath;
  const doctor = () => hubbleLab(['doctor', '--kubeconfig', kcPath], 30_000);
  const version = (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
  const cluster = `✔ cluster: hubble-lab-sim (${sim.apiServerUrl}), Kubernetes ${version}`;
  const ciliumReady = '✔ Cilium: 3/3 agents ready';
  const configOk = '✔ Hubble config: enabled, listening on :4244, metrics on :9965';
  const agentsCurrent = '✔ Cilium agents: all 3 run the current cilium-config';
  const relayOk = '✔ Hubble Relay: available (1/1 ready)';
  const uiOk = '✔ Hubble UI: available (1/1 ready)';
  const relayApiOk = /✔ Relay: healthy via port-forward 127\.0\.0\.1:\d+/;
  const kubectl = `kubectl --kubeconfig ${kcPath}`;
  const available = async (name: string) =>
    (await apps.readNamespacedDeployment({ namespace: 'kube-system', name })).status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ??
    false;
  const agents = async () => (await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=cilium' })).items;
  await until('the Cilium agents', async () => {
    const ds = await apps.readNamespacedDaemonSet({ namespace: 'kube-system', name: 'cilium' });
    return ds.status?.numberReady === 3;
  });

  // A fresh cluster: Hubble off in cilium-config, no Relay, no UI.
  let res = await doctor();
  t.equal(res.code, 2, 'a fresh cluster: exit 2');
  expectLines(
    t,
    res,
    [
      cluster,
      ciliumReady,
      '✖ Hubble config: not enabled: cilium-config has enable-hubble=false, hubble-listen-address=(unset), hubble-metrics-server=(unset), hubble-metrics=(unset), enable-hubble-open-metrics=(unset), hubble-redact-enabled=(unset), hubble-redact-http-urlquery=(unset)',
      `  → set the lab's Hubble settings and restart the agents: hubble-lab run enable-hubble --kubeconfig ${kcPath}`,
      agentsCurrent,
      '✖ Hubble Relay: not deployed (no Deployment kube-system/hubble-relay)',
      `  → deploy it: hubble-lab run deploy-hubble --kubeconfig ${kcPath}`,
      '✖ Hubble UI: not deployed (no Deployment kube-system/hubble-ui)',
      `  → deploy it: hubble-lab run deploy-hubble --kubeconfig ${kcPath}`,
      '3 problems found',
    ],
    'fresh cluster',
  );
  t.equal(res.stderr, '', 'nothing on stderr');

  // Relay runs, but no agent serves Hubble: Relay answers and sees none of the 3 nodes.
  const deploy = await hubbleLab(['run', 'deploy-hubble', '--kubeconfig', kcPath, '--yes']);
  t.equal(deploy.code, 0, 'deploy-hubble', { stdout: deploy.stdout, stderr: deploy.stderr });
  await until('Relay and UI available', async () => (await available('hubble-relay')) && (await available('hubble-ui')));
  res = await doctor();
  t.equal(res.code, 2, 'Hubble off with Relay running: exit 2');
  expectLines(
    t,
    res,
    [
      cluster,
      ciliumReady,
      '✖ Hubble config: not enabled: cilium-config has enable-hubble=false, hubble-listen-address=(unset), hubble-metrics-server=(unset), hubble-metrics=(unset), enable-hubble-open-metrics=(unset), hubble-redact-enabled=(unset), hubble-redact-http-urlquery=(unset)',
      `  → set the lab's Hubble settings and restart the agents: hubble-lab run enable-hubble --kubeconfig ${kcPath}`,
      agentsCurrent,
      relayOk,
      uiOk,
      relayApiOk,
      '✔ Current/Max Flows: 0/0',
      '✔ Flows/s: 0.00',
      '✖ Connected Nodes: 0/3',
      '  → the agents serve Hubble once it is enabled in cilium-config and they are restarted (see above)',
      '2 problems found',
    ],
    'Hubble off',
  );

  // Hubble enabled in the ConfigMap by hand (kubectl edit), agents not restarted: they still run the old config.
  await core.patchNamespacedConfigMap({ namespace: 'kube-system', name: 'cilium-config', body: { data: hubbleConfig } }, setMergePatch());
  const stale = (await agents()).map((p) => p.metadata!.name!);
  t.equal(stale.length, 3);
  res = await doctor();
  t.equal(res.code, 2, 'agents not restarted: exit 2');
  expectLines(
    t,
    res,
    [
      cluster,
      ciliumReady,
      configOk,
      `✖ Cilium agents: 3 of 3 started before the last cilium-config change and run the old config: ${stale.join(', ')}`,
      `  → restart them: hubble-lab run enable-hubble --kubeconfig ${kcPath} (or ${kubectl} -n kube-system rollout restart daemonset/cilium)`,
      relayOk,
      uiOk,
      relayApiOk,
      '✔ Current/Max Flows: 0/0',
      '✔ Flows/s: 0.00',
      '✖ Connected Nodes: 0/3',
      '  → the agents serve Hubble once they are restarted (see above)',
      '2 problems found',
    ],
    'agents not restarted',
  );

  // What doctor says to do: enable-hubble restarts the agents; Relay then connects to all three.
  const enable = await hubbleLab(['run', 'enable-hubble', '--kubeconfig', kcPath, '--yes']);
  t.equal(enable.code, 0, 'enable-hubble', { stdout: enable.stdout, stderr: enable.stderr });
  await until('doctor to find no problem', async () => (res = await doctor()).code === 0, 60_000);
  const clusterName = (await core.readNamespacedConfigMap({ namespace: 'kube-system', name: 'cilium-config' })).data?.['cluster-name'];
  const nodes = (await core.listNode()).items.map((n) => n.metadata!.name!).sort();
  expectLines(
    t,
    res,
    [
      cluster,
      ciliumReady,
      configOk,
      agentsCurrent,
      relayOk,
      uiOk,
      relayApiOk,
      /✔ Current\/Max Flows: \d+\/[1-9]\d* \(\d+\.\d\d%\)/,
      /✔ Flows\/s: \d+\.\d\d/,
      '✔ Connected Nodes: 3/3',
      ...nodes.map((n) => new RegExp(`  node ${esc(`${clusterName}/${n}`)}: NODE_CONNECTED \\d+/[1-9]\\d* flows`)),
      'no problems found',
    ],
    'lab ready',
  );
  t.equal(res.stderr, '', 'nothing on stderr');

  // Relay's Service aims at a port Relay does not listen on: the Deployment is fine, the API does not answer.
  const svc = await core.readNamespacedService({ namespace: 'kube-system', name: 'hubble-relay' });
  const targetPort = svc.spec!.ports![0]!.targetPort;
  await core.patchNamespacedService({
    namespace: 'kube-system',
    name: 'hubble-relay',
    body: [{ op: 'replace', path: '/spec/ports/0/targetPort', value: 4999 }],
  });
  const relayPod = (await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=hubble-relay' })).items[0]!.metadata!.name!;
  res = await doctor();
  t.equal(res.code, 2, 'Relay not answering: exit 2');
  expectLines(
    t,
    res,
    [
      cluster,
      ciliumReady,
      configOk,
      agentsCurrent,
      relayOk,
      uiOk,
      new RegExp(
        `✖ Relay: does not answer through port-forward 127\\.0\\.0\\.1:\\d+ \\(pod ${esc(relayPod)} port 4999\\): cannot reach Hubble Relay at 127\\.0\\.0\\.1:\\d+: .+`,
      ),
      `  → see its logs: ${kubectl} -n kube-system logs deployment/hubble-relay; and check that Service kube-system/hubble-relay port 80 targets the port Relay listens on`,
      '1 problem found',
    ],
    'Relay not answering',
  );
  await core.patchNamespacedService({
    namespace: 'kube-system',
    name: 'hubble-relay',
    body: [{ op: 'replace', path: '/spec/ports/0/targetPort', value: targetPort }],
  });

  // Relay's pod cannot start (an image that cannot be pulled, no old pod kept): not available, with the reason.
  await apps.patchNamespacedDeployment({
    namespace: 'kube-system',
    name: 'hubble-relay',
    body: [
      { op: 'replace', path: '/spec/strategy', value: { type: 'Recreate' } },
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.invalid/hubble-relay:none' },
    ],
  });
  await until('Relay unavailable', async () => {
    if (await available('hubble-relay')) return false;
    const pods = (await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=hubble-relay' })).items;
    return pods.length === 1 && pods.some((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason?.includes('ImagePull'));
  });
  const relayNotAvailable = [
    '✖ Hubble Relay: not available (0/1 ready)',
    /  pod hubble-relay-\S+: Pending; hubble-relay waiting \((ErrImagePull|ImagePullBackOff): .*registry\.invalid\/hubble-relay:none.*\)/,
    { some: /  event \w+: .+ \(Pod hubble-relay-\S+\)/ },
    `  → see why: ${kubectl} -n kube-system describe deployment/hubble-relay; hubble-lab run deploy-hubble --kubeconfig ${kcPath} puts back the lab's manifest`,
  ];
  res = await doctor();
  t.equal(res.code, 2, 'Relay not available: exit 2');
  expectLines(t, res, [cluster, ciliumReady, configOk, agentsCurrent, ...relayNotAvailable, uiOk, '1 problem found'], 'Relay not available');

  // Two of the three agents cannot start (the DaemonSet replaces two at a time).
  await apps.patchNamespacedDaemonSet({
    namespace: 'kube-system',
    name: 'cilium',
    body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.invalid/cilium:none' }],
  });
  let broken: string[] = [];
  await until('two agents failing', async () => {
    const ds = await apps.readNamespacedDaemonSet({ namespace: 'kube-system', name: 'cilium' });
    const pods = await agents();
    broken = pods.filter((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason?.includes('ImagePull')).map((p) => p.metadata!.name!);
    return pods.length === 3 && broken.length === 2 && ds.status?.numberReady === 1;
  });
  res = await doctor();
  t.equal(res.code, 2, 'agents not ready: exit 2');
  expectLines(
    t,
    res,
    [
      cluster,
      new RegExp(`✖ Cilium: 1/3 agents ready \\(not ready: ${broken.map((n) => `${esc(n)} (ErrImagePull|ImagePullBackOff)`).join(', ')}\\)`),
      `  → see why: ${kubectl} -n kube-system describe pods -l k8s-app=cilium`,
      configOk,
      agentsCurrent,
      ...relayNotAvailable,
      uiOk,
      '2 problems found',
    ],
    'agents not ready',
  );

  // No Cilium at all.
  await apps.deleteNamespacedDaemonSet({ namespace: 'kube-system', name: 'cilium' });
  await core.deleteNamespacedConfigMap({ namespace: 'kube-system', name: 'cilium-config' });
  res = await doctor();
  t.equal(res.code, 2, 'no Cilium: exit 2');
  expectLines(
    t,
    res,
    [
      cluster,
      '✖ Cilium: no DaemonSet kube-system/cilium',
      '  → install Cilium: the lab needs a cluster running Cilium',
      '✖ Hubble config: no ConfigMap kube-system/cilium-config',
      '  → install Cilium: the lab needs a cluster running Cilium',
      ...relayNotAvailable,
      uiOk,
      '3 problems found',
    ],
    'no Cilium',
  );
  t.equal(res.stderr, '', 'nothing on stderr');
});

t.test('an API server that is not there: one line naming it and what to do, exit 2, no stack trace', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'doctor-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A port that was free a moment ago and has nothing listening now.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  const server = `https://127.0.0.1:${port}`;
  const path = join(dir, 'kubeconfig');
  await writeFile(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'lab',
      clusters: [
        { name: 'lab', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } },
        { name: 'gone', cluster: { server, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'me', user: { token: 'x' } }],
      contexts: [
        { name: 'lab', context: { cluster: 'lab', user: 'me' } },
        { name: 'gone', context: { cluster: 'gone', user: 'me' } },
      ],
    }),
  );

  const res = await hubbleLab(['doctor', '--kubeconfig', path, '--context', 'gone'], 30_000);
  t.equal(res.code, 2, 'exit 2');
  expectLines(
    t,
    res,
    [
      `✖ cluster: gone (${server}): cannot reach the Kubernetes API: connection refused`,
      `  → start the cluster, or fix its address ${server} in ${path} (context gone)`,
      '1 problem found',
    ],
    'API unreachable',
  );
  t.equal(res.stderr, '', 'nothing on stderr');

  const missing = await hubbleLab(['doctor', '--kubeconfig', join(dir, 'missing')], 30_000);
  t.equal(missing.code, 2, 'no kubeconfig: exit 2');
  t.equal(missing.stdout, '');
  t.equal(missing.stderr, `hubble-lab: kubeconfig ${join(dir, 'missing')} (from --kubeconfig): no such file\n  hint: pass the path of a kubeconfig file\n`);
});
