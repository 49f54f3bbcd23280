// The embedded cluster as kubectl and client-node see it: the initial kind+Cilium state and the lab's kubectl commands.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createServer, type AddressInfo } from 'node:net';
import { get } from 'node:http';
import { AppsV1Api, CoreV1Api, KubernetesObjectApi, PatchStrategy, PortForward } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { raw, testCluster, waitFor } from './helpers.ts';
import { trivialRuntime } from './trivial-runtime.ts';
import { kubeConfigOf } from '../fixtures/sim-kube.ts';

const run = promisify(execFile);

async function hasKubectl(): Promise<boolean> {
  try {
    await run('kubectl', ['version', '--client']);
    return true;
  } catch {
    return false;
  }
}

const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: script
  namespace: demo
data:
  main.js: console.log('hello')
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, tier: frontend}
    spec:
      containers:
      - name: nginx
        image: nginx:alpine
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
spec:
  selector: {app: web}
  ports:
  - port: 80
---
apiVersion: batch/v1
kind: Job
metadata:
  name: once
  namespace: demo
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: node:20-alpine
        env:
        - {name: LOG, value: "job done"}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-ingress
  namespace: demo
spec:
  podSelector:
    matchLabels: {app: web}
  ingress:
  - from:
    - podSelector: {}
    ports:
    - port: 80
`;

// Before the first test: an await between tests could let tap end the file before the last one is declared.
const kubectlMissing = (await hasKubectl()) ? false : 'kubectl is not installed: install kubernetes-client (Debian) to run the kubectl end-to-end test';

t.test('a fresh cluster looks like kind with Cilium and Hubble disabled', async (t) => {
  const c = await testCluster(t);
  const kc = kubeConfigOf(c);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const nodes = (await core.listNode()).items;
  t.same(
    nodes.map((n) => n.metadata?.name),
    ['sim-control-plane', 'sim-worker', 'sim-worker2'],
  );
  t.same(
    nodes.map((n) => n.spec?.podCIDR),
    ['127.244.0.0/24', '127.244.1.0/24', '127.244.2.0/24'],
  );
  t.ok(nodes.every((n) => n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')));
  t.equal(nodes[0]?.metadata?.labels?.['node-role.kubernetes.io/control-plane'], '');
  const namespaces = (await core.listNamespace()).items;
  for (const ns of ['default', 'kube-system', 'kube-public']) {
    t.equal(namespaces.find((n) => n.metadata?.name === ns)?.metadata?.labels?.['kubernetes.io/metadata.name'], ns);
  }
  const ds = await apps.readNamespacedDaemonSet({ name: 'cilium', namespace: 'kube-system' });
  t.match(ds.spec?.template.spec?.containers[0]?.image, /^quay\.io\/cilium\/cilium:v1\.19\.\d+$/);
  t.equal(ds.metadata?.labels?.['k8s-app'], 'cilium');
  await apps.readNamespacedDeployment({ name: 'cilium-operator', namespace: 'kube-system' });
  await apps.readNamespacedDeployment({ name: 'coredns', namespace: 'kube-system' });
  const config = await core.readNamespacedConfigMap({ name: 'cilium-config', namespace: 'kube-system' });
  t.equal(config.data?.['enable-hubble'], 'false');
  const dns = await core.readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' });
  t.equal(dns.spec?.clusterIP, '127.96.0.10');
  t.same(
    dns.spec?.ports?.map((p) => `${p.port}/${p.protocol}`),
    ['53/UDP', '53/TCP', '9153/TCP'],
  );
  t.equal((await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' })).spec?.clusterIP, '127.96.0.1');
  const names = (await core.listServiceForAllNamespaces()).items.map((s) => s.metadata?.name);
  t.notOk(
    names.some((n) => /hubble/.test(n ?? '')),
    'no Hubble Relay or UI yet',
  );
});

t.test('two sims run side by side; a kubeconfig that is not ours is never overwritten', async (t) => {
  const a = await testCluster(t);
  const b = await testCluster(t);
  t.not(a.apiServerUrl, b.apiServerUrl);
  t.equal((await raw(a, 'GET', '/api', { token: b.token })).status, 401, 'tokens differ');
  const dir = await mkdtemp(join(tmpdir(), 'sim-kc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const theirs = join(dir, 'config');
  const text =
    'apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster: {server: "https://prod.example:6443"}\ncontexts:\n- name: prod\n  context: {cluster: prod, user: prod}\nusers:\n- name: prod\n  user: {token: x}\ncurrent-context: prod\n';
  await writeFile(theirs, text);
  await t.rejects(startSimCluster({ runtime: trivialRuntime(), kubeconfigPath: theirs }), {
    message: `${theirs} holds other clusters; the sim will not overwrite it`,
  });
  t.equal(await readFile(theirs, 'utf8'), text);
  const mine = join(dir, 'sim.yaml');
  const c = await startSimCluster({ runtime: trivialRuntime(), kubeconfigPath: mine });
  t.match(await readFile(mine, 'utf8'), /current-context: hubble-lab-sim/);
  await c.stop();
  await t.rejects(access(mine), 'stop removes the kubeconfig it wrote');
});

t.test('server-side apply with client-node re-applies without changing anything', async (t) => {
  const c = await testCluster(t);
  const objects = KubernetesObjectApi.makeApiClient(kubeConfigOf(c));
  const docs = parseAllDocuments(MANIFESTS).map((d) => d.toJS());
  const applyAll = async () => {
    const out = [];
    for (const d of docs) out.push(await objects.patch(d, undefined, undefined, 'hubble-lab', true, PatchStrategy.ServerSideApply));
    return out.map((o) => `${o.kind}/${o.metadata?.name}@${o.metadata?.resourceVersion}`);
  };
  await applyAll();
  // Controllers write status for a moment (pods start, the Job completes); compare once the cluster is quiet.
  for (let last = -1; last !== c.internals.store.resourceVersion;) {
    last = c.internals.store.resourceVersion;
    await new Promise((r) => setTimeout(r, 300));
  }
  const live = [];
  for (const d of docs) {
    const o = await objects.read(d);
    live.push(`${o.kind}/${o.metadata?.name}@${o.metadata?.resourceVersion}`);
  }
  const before = c.stats() as any;
  const second = await applyAll();
  t.same(second, live, 'same resourceVersions');
  const after = c.stats() as any;
  t.equal(after.requests.mutating - before.requests.mutating, docs.length, 'each apply is still a mutating request');
});

t.test('kubectl drives the sim like a cluster', { skip: kubectlMissing }, async (t) => {
  const c = await testCluster(t);
  const dir = await mkdtemp(join(tmpdir(), 'sim-kubectl-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'demo.yaml');
  await writeFile(file, MANIFESTS);
  const kubectl = async (...args: string[]) => {
    const { stdout } = await run('kubectl', ['--kubeconfig', c.kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 30_000 });
    return stdout;
  };
  t.match(await kubectl('get', 'nodes'), /sim-control-plane\s+Ready\s+control-plane/);
  t.match(await kubectl('get', 'pods', '-A'), /kube-system\s+cilium-\w{5}\s+1\/1\s+Running/);
  t.match(await kubectl('version'), /Server Version: v1\.\d+\.\d+-hubble-lab-sim/);
  const applied = await kubectl('apply', '--server-side', '--validate=false', '-f', file);
  t.match(applied, /namespace\/demo serverside-applied/);
  t.match(applied, /networkpolicy.networking.k8s.io\/web-ingress serverside-applied/);
  const rv = await kubectl('get', 'deploy', 'web', '-n', 'demo', '-o', 'jsonpath={.metadata.resourceVersion}');
  await kubectl('apply', '--server-side', '--validate=false', '-f', file);
  t.equal(await kubectl('get', 'deploy', 'web', '-n', 'demo', '-o', 'jsonpath={.metadata.resourceVersion}'), rv, 're-apply changes nothing');
  t.match(await kubectl('rollout', 'status', 'deployment/web', '-n', 'demo', '--timeout=20s'), /deployment "web" successfully rolled out/);
  t.match(await kubectl('wait', '--for=condition=available', 'deployment/web', '-n', 'demo', '--timeout=20s'), /condition met/);
  t.match(await kubectl('wait', '--for=condition=complete', 'job/once', '-n', 'demo', '--timeout=20s'), /condition met/);
  t.match(await kubectl('logs', 'job/once', '-n', 'demo'), /^job done\npod ip 127\.244\.\d+\.\d+\n$/);
  t.match(await kubectl('get', 'networkpolicy', 'web-ingress', '-n', 'demo', '-o', 'jsonpath={.spec.policyTypes}'), /\["Ingress"\]/);
  t.match(await kubectl('rollout', 'restart', 'ds/cilium', '-n', 'kube-system'), /daemonset.apps\/cilium restarted/);
  t.match(await kubectl('rollout', 'status', 'ds/cilium', '-n', 'kube-system', '--timeout=30s'), /daemon set "cilium" successfully rolled out/);
  const missing = await kubectl('get', 'pod', 'missing', '-n', 'demo').catch((e: { stderr: string }) => e.stderr);
  t.match(missing, /Error from server \(NotFound\): pods "missing" not found/);
  t.match(await kubectl('delete', 'ns', 'demo', '--timeout=30s'), /namespace "demo" deleted/);
  t.match(await kubectl('get', 'ns', 'demo').catch((e: { stderr: string }) => e.stderr), /namespaces "demo" not found/);
});

t.test('with the real pod runtime: a node Job sees its pod IP, nginx answers through PortForward', async (t) => {
  const c = await startSimCluster({ nodes: 2 });
  t.teardown(() => c.stop());
  const kc = kubeConfigOf(c);
  const core = kc.makeApiClient(CoreV1Api);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const docs = parseAllDocuments(`apiVersion: v1
kind: ConfigMap
metadata: {name: script, namespace: default}
data:
  main.js: console.log('my ip is', process.env.POD_IP)
---
apiVersion: batch/v1
kind: Job
metadata: {name: whoami, namespace: default}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: node:20-alpine
        command: [node, /scripts/main.js]
        env:
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        volumeMounts: [{name: scripts, mountPath: /scripts}]
      volumes: [{name: scripts, configMap: {name: script}}]
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  containers: [{name: nginx, image: nginx:alpine, ports: [{containerPort: 80}]}]
`).map((d) => d.toJS());
  for (const d of docs) await objects.patch(d, undefined, undefined, 'test', true, PatchStrategy.ServerSideApply);
  const pod = await waitFor(
    'job pod done',
    async () => (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=whoami' })).items.find((p) => p.status?.phase === 'Succeeded'),
    20_000,
  );
  const log = await raw(c, 'GET', `/api/v1/namespaces/default/pods/${pod.metadata!.name}/log`);
  t.equal(log.text, `my ip is ${pod.status!.podIP}\n`);
  t.match(pod.status!.podIP, /^127\.244\.1\.\d+$/);

  await waitFor(
    'nginx running',
    async () => (await core.readNamespacedPod({ name: 'web', namespace: 'default' })).status?.containerStatuses?.[0]?.ready,
    20_000,
  );
  const forward = new PortForward(kubeConfigOf(c));
  const local = createServer((socket) => void forward.portForward('default', 'web', [80], socket, null, socket));
  await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
  t.teardown(() => local.close());
  const port = (local.address() as AddressInfo).port;
  const page = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
  t.equal(page.status, 200);
  t.match(page.body, /Welcome to nginx!/);
});

t.test('a sim stopped right after it starts (pods still being created) lets its process exit', async (t) => {
  const { spawn } = await import('node:child_process');
  const script = "const { startSimCluster } = await import('./lib/sim/cluster.ts'); const sim = await startSimCluster({}); await sim.stop();";
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('../../', import.meta.url).pathname,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(killer);
  t.equal(code, 0, `the process ended by itself\n${stderr}`);
  t.notMatch(stderr, /did not stop|did not shut down/, 'every pod stopped');
});
