// Kubelet probes on the embedded cluster travel from the node through the datapath: Hubble shows them as host → pod
// flows (to-endpoint), so an idle cluster is not silent.
import t from 'tap';
import { spawn } from 'node:child_process';
import { startSimCluster } from '../../../lib/sim/cluster.ts';

const sim = await startSimCluster();
t.teardown(() => sim.stop());

function kubectl(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('kubectl', args, { env: { ...process.env, KUBECONFIG: sim.kubeconfigPath }, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(stdin);
  });
}

t.test('readiness probes are flows from the host to the pod, to-endpoint, forwarded', async (t) => {
  for (const args of [
    ['-n', 'kube-system', 'patch', 'configmap', 'cilium-config', '--type=merge', '-p', '{"data":{"enable-hubble":"true","hubble-listen-address":":4244"}}'],
    ['-n', 'kube-system', 'rollout', 'restart', 'daemonset/cilium'],
    ['-n', 'kube-system', 'rollout', 'status', 'daemonset/cilium', '--timeout=60s'],
  ]) {
    const r = await kubectl(args);
    t.equal(r.code, 0, r.stderr);
  }
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'probed', labels: { app: 'probed' } },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'nginx:alpine',
          ports: [{ containerPort: 80, name: 'http' }],
          readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
          livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 },
        },
      ],
    },
  };
  t.equal((await kubectl(['apply', '--validate=false', '-f', '-'], JSON.stringify(pod))).code, 0);
  t.equal((await kubectl(['wait', '--for=condition=ready', 'pod/probed', '--timeout=30s'])).code, 0, 'the probe passes through the datapath');
  const node = (await kubectl(['get', 'pod', 'probed', '-o', 'jsonpath={.spec.nodeName}'])).stdout;
  const agent = (
    await kubectl([
      '-n',
      'kube-system',
      'get',
      'pods',
      '-l',
      'k8s-app=cilium',
      '--field-selector',
      `spec.nodeName=${node}`,
      '-o',
      'jsonpath={.items[0].metadata.name}',
    ])
  ).stdout;
  // Idle: no pod talks, only the kubelet probes every second.
  await new Promise((r) => setTimeout(r, 2500));
  const observed = await kubectl([
    '-n',
    'kube-system',
    'exec',
    agent,
    '--',
    'hubble',
    'observe',
    '--last',
    '200',
    '--to-pod',
    'default/probed',
    '-o',
    'jsonpb',
  ]);
  t.equal(observed.code, 0, observed.stderr);
  const flows = observed.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).flow);
  const probes = flows.filter((f) => f.source?.labels?.includes('reserved:host') && f.destination?.pod_name === 'probed');
  t.ok(probes.length >= 4, `host → pod flows while idle (${probes.length})`);
  t.ok(
    probes.some((f) => f.l4?.TCP?.flags?.SYN && !f.is_reply),
    "the probe's SYN",
  );
  t.ok(
    probes.every((f) => f.verdict === 'FORWARDED' && f.trace_observation_point === 'TO_ENDPOINT'),
    'forwarded, seen at the endpoint',
  );
  t.ok(
    probes.some((f) => f.l4?.TCP?.destination_port === 80),
    'to the probed port',
  );
});
