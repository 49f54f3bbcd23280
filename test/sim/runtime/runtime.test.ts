// The pod runtime: node pods from ConfigMaps with their env and logs, restarts, image errors, Services and DNS,
// nginx, image hooks, and nothing left running after shutdown.
import t, { type Test } from 'tap';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { createPodRuntime, ContainerLogError, type SimPodRuntime } from '../../../lib/sim/runtime/index.ts';
import { servicesFromObjects } from '../../../lib/sim/net/services.ts';
import { welcomePage, errorPage } from '../../../lib/sim/runtime/images/nginx.ts';
import { FakeCluster, logLines, podSpec, ready, terminated, waitForStatus } from './helpers.ts';

async function runtime(t: Test): Promise<SimPodRuntime> {
  const rt = await createPodRuntime({ restartBackoffMs: 150, maxRestartBackoffMs: 600, retryMs: 100, shutdownGraceMs: 500 });
  t.teardown(() => rt.shutdown());
  return rt;
}

const envScript = `
import { readFileSync } from 'node:fs';
import os from 'node:os';
const pick = (k) => process.env[k];
console.log(JSON.stringify({
  POD_IP: pick('POD_IP'), POD_NAME: pick('POD_NAME'), POD_NAMESPACE: pick('POD_NAMESPACE'), NODE_NAME: pick('NODE_NAME'),
  GREETING: pick('GREETING'), HOSTNAME: pick('HOSTNAME'), KUBERNETES_SERVICE_HOST: pick('KUBERNETES_SERVICE_HOST'),
  hostname: os.hostname(), eth0: os.networkInterfaces().eth0?.[0]?.address,
  sibling: readFileSync(new URL('./data.txt', import.meta.url), 'utf8').trim(),
  leaked: Object.keys(process.env).filter((k) => k.startsWith('HUBBLE_LAB')),
}));
console.error('done');
`;

t.test('a node pod runs its ConfigMap script with the pod identity in env, logs it and completes', async (t) => {
  const rt = await runtime(t);
  const cluster = new FakeCluster();
  cluster.configMaps.set('lab/job-script', { 'main.mjs': envScript, 'data.txt': 'from the configmap\n' });
  cluster.configMaps.set('lab/settings', { greeting: 'hello' });
  const field = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const pod = rt.start(
    podSpec(
      'print-env',
      '127.244.1.7',
      {
        restartPolicy: 'Never',
        volumes: [{ name: 'script', configMap: { name: 'job-script' } }],
        containers: [
          {
            name: 'main',
            image: 'node:20-alpine',
            command: ['node', '/scripts/main.mjs'],
            volumeMounts: [{ name: 'script', mountPath: '/scripts' }],
            env: [
              field('POD_IP', 'status.podIP'),
              field('POD_NAME', 'metadata.name'),
              field('POD_NAMESPACE', 'metadata.namespace'),
              field('NODE_NAME', 'spec.nodeName'),
              { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'settings', key: 'greeting' } } },
            ],
          },
        ],
      },
      { namespace: 'lab' },
    ),
    cluster,
  );
  const [status] = await waitForStatus(pod, terminated);
  t.match(status, { name: 'main', image: 'node:20-alpine', restartCount: 0, ready: false, state: { state: 'terminated', exitCode: 0, reason: 'Completed' } });
  const lines = await logLines(pod);
  t.equal(lines.at(-1), 'done', 'stderr is in the log too');
  t.same(JSON.parse(lines[0]!), {
    POD_IP: '127.244.1.7',
    POD_NAME: 'print-env',
    POD_NAMESPACE: 'lab',
    NODE_NAME: 'sim-worker1',
    GREETING: 'hello',
    HOSTNAME: 'print-env',
    KUBERNETES_SERVICE_HOST: '127.96.0.1',
    hostname: 'print-env',
    eth0: '127.244.1.7',
    sibling: 'from the configmap',
    leaked: [],
  });
  const stamped = await logLines(pod, { timestamps: true, tailLines: 1 });
  t.match(stamped, [/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z done$/], 'timestamps and tailLines');
});

t.test('exit codes: Never stays terminated with Error; Always restarts with back-off and keeps the previous log', async (t) => {
  const rt = await runtime(t);
  const cluster = new FakeCluster();
  const crash = { name: 'app', image: 'node:20', command: ['sh', '-c', 'echo starting $HOSTNAME && exit 3'] };
  const once = rt.start(podSpec('crash-once', '127.244.1.8', { restartPolicy: 'Never', containers: [crash] }), cluster);
  const [s] = await waitForStatus(once, terminated);
  t.match(s?.state, { state: 'terminated', exitCode: 3, reason: 'Error' });
  t.same(await logLines(once), ['starting crash-once']);

  const loop = rt.start(podSpec('crash-loop', '127.244.1.9', { containers: [crash] }), cluster);
  const seen = new Set<string>();
  loop.onStatus(([c]) => seen.add(c!.state.state === 'waiting' ? c!.state.reason : c!.state.state));
  const [back] = await waitForStatus(loop, ([c]) => c!.restartCount >= 2 && c!.state.state === 'waiting');
  t.match(back?.state, { state: 'waiting', reason: 'CrashLoopBackOff', message: /^back-off \d+s restarting failed container=app pod=crash-loop_default\(/ });
  t.ok(seen.has('running') && seen.has('terminated'), 'it ran and terminated between restarts');
  t.same(await logLines(loop, { previous: true }), ['starting crash-loop']);
});

t.test('images that cannot exist fail to pull; idle images run with nothing listening', async (t) => {
  const rt = await runtime(t);
  const cluster = new FakeCluster();
  const bad = rt.start(podSpec('bad', '127.244.1.10', { containers: [{ name: 'c', image: 'does-not-exist:latest' }] }), cluster);
  const [pull] = await waitForStatus(bad, ([c]) => c!.state.state === 'waiting' && c!.state.reason === 'ErrImagePull');
  t.match(pull?.state, { message: /does-not-exist:latest.*no such image/ });
  await waitForStatus(bad, ([c]) => c!.state.state === 'waiting' && c!.state.reason === 'ImagePullBackOff');
  await t.rejects(logLines(bad), new ContainerLogError(400, 'container "c" in pod "bad" is waiting to start: trying and failing to pull image'));

  const idle = rt.start(podSpec('tools', '127.244.1.11', { containers: [{ name: 'c', image: 'busybox:1.36', command: ['sleep', '3600'] }] }), cluster);
  await waitForStatus(idle, ready);
  await t.rejects(idle.dial(80), { code: 'ECONNREFUSED' });
});

t.test('a missing ConfigMap keeps the container creating until it appears', async (t) => {
  const rt = await runtime(t);
  const cluster = new FakeCluster();
  const pod = rt.start(
    podSpec('late', '127.244.1.12', {
      restartPolicy: 'Never',
      volumes: [{ name: 'v', configMap: { name: 'late-script' } }],
      containers: [{ name: 'c', image: 'node:20', args: ['/app/run.mjs'], volumeMounts: [{ name: 'v', mountPath: '/app' }] }],
    }),
    cluster,
  );
  const [waiting] = await waitForStatus(pod, ([c]) => c!.state.state === 'waiting' && /not found/.test(c!.state.message ?? ''));
  t.match(waiting?.state, { reason: 'ContainerCreating', message: 'MountVolume.SetUp failed: configmap "late-script" not found' });
  cluster.configMaps.set('default/late-script', { 'run.mjs': 'console.log("ran from", process.cwd() === "/" ? "/" : "the pod root")' });
  await waitForStatus(pod, terminated);
  t.same(await logLines(pod), ['ran from the pod root'], 'args alone run through the image entrypoint as node');
});

const webServer = `
import http from 'node:http';
import os from 'node:os';
http.createServer((req, res) => res.end(os.hostname() + ' saw ' + req.socket.remoteAddress)).listen(80, () => console.log('serving'));
`;

const fetcher = `
for (const url of process.argv.slice(2)) {
  try {
    const r = await fetch(url);
    console.log(url + ' ' + r.status + ' ' + (await r.text()).split('\\n').find((l) => l.includes('<title>') || !l.startsWith('<')) + ' ' + r.headers.get('server'));
  } catch (e) {
    console.log(url + ' failed ' + (e.cause?.code ?? e.message));
    process.exitCode = 1;
  }
}
`;

t.test('pods reach each other by pod IP, ClusterIP and DNS name; nginx serves its default site', async (t) => {
  const rt = await runtime(t);
  const cluster = new FakeCluster();
  cluster.configMaps.set('shop/scripts', { 'server.mjs': webServer, 'fetch.mjs': fetcher });
  const dns = rt.start(
    podSpec(
      'coredns-1',
      '127.244.0.2',
      {
        containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3', readinessProbe: { httpGet: { path: '/ready', port: 8181 } } }],
      },
      { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
    ),
    cluster,
  );
  const web = rt.start(
    podSpec(
      'web-1',
      '127.244.1.20',
      {
        volumes: [{ name: 's', configMap: { name: 'scripts' } }],
        containers: [
          {
            name: 'web',
            image: 'node:20-alpine',
            command: ['sh', '-c', 'cd /opt/app && exec node server.mjs'],
            volumeMounts: [{ name: 's', mountPath: '/opt/app' }],
            ports: [{ name: 'http', containerPort: 80 }],
            readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 30 },
          },
        ],
      },
      { namespace: 'shop' },
    ),
    cluster,
  );
  const nginx = rt.start(
    podSpec('nginx-1', '127.244.2.21', { containers: [{ name: 'nginx', image: 'nginx:alpine', ports: [{ containerPort: 80 }] }] }, { namespace: 'shop' }),
    cluster,
  );
  await Promise.all([waitForStatus(dns, ready), waitForStatus(web, ready), waitForStatus(nginx, ready)]);
  rt.datapath.setServices(
    servicesFromObjects(
      [
        { metadata: { namespace: 'kube-system', name: 'kube-dns' }, spec: { clusterIP: '127.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } },
        { metadata: { namespace: 'shop', name: 'web' }, spec: { clusterIP: '127.96.3.3', ports: [{ port: 80, targetPort: 'http' }] } },
        { metadata: { namespace: 'shop', name: 'nginx' }, spec: { clusterIP: '127.96.3.4', ports: [{ port: 8080, targetPort: 80 }] } },
      ],
      [
        {
          metadata: { namespace: 'kube-system', name: 'kube-dns' },
          subsets: [{ addresses: [{ ip: '127.244.0.2' }], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }],
        },
        { metadata: { namespace: 'shop', name: 'web' }, subsets: [{ addresses: [{ ip: '127.244.1.20' }], ports: [{ port: 80 }] }] },
        { metadata: { namespace: 'shop', name: 'nginx' }, subsets: [{ addresses: [{ ip: '127.244.2.21' }], ports: [{ port: 80 }] }] },
      ],
    ),
  );
  const client = rt.start(
    podSpec(
      'client',
      '127.244.3.30',
      {
        restartPolicy: 'Never',
        volumes: [{ name: 's', configMap: { name: 'scripts' } }],
        containers: [
          {
            name: 'c',
            image: 'node:20-alpine',
            command: ['node', '/s/fetch.mjs'],
            args: [
              'http://127.244.1.20/',
              'http://127.96.3.3/',
              'http://web.shop.svc.cluster.local/',
              'http://web/',
              'http://nginx:8080/',
              'http://127.244.2.21/nope',
            ],
            volumeMounts: [{ name: 's', mountPath: '/s' }],
          },
        ],
      },
      { namespace: 'shop' },
    ),
    cluster,
  );
  const [done] = await waitForStatus(client, terminated, 10_000);
  const lines = await logLines(client);
  t.equal(done?.state.state === 'terminated' && done.state.exitCode, 0, lines.join('\n'));
  t.same(lines, [
    'http://127.244.1.20/ 200 web-1 saw 127.244.3.30 null',
    'http://127.96.3.3/ 200 web-1 saw 127.244.3.30 null',
    'http://web.shop.svc.cluster.local/ 200 web-1 saw 127.244.3.30 null',
    'http://web/ 200 web-1 saw 127.244.3.30 null',
    'http://nginx:8080/ 200 <title>Welcome to nginx!</title> nginx/1.27.5',
    'http://127.244.2.21/nope 404 <head><title>404 Not Found</title></head>\r nginx/1.27.5',
  ]);
  const access = await logLines(nginx);
  t.ok(access.includes('/docker-entrypoint.sh: Configuration complete; ready for start up'));
  t.match(
    access.filter((l) => l.startsWith('127.')),
    [
      /^127\.244\.3\.30 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/ HTTP\/1\.1" 200 615 "-" "node" "-"$/,
      /^127\.244\.3\.30 - - \[.*\] "GET \/nope HTTP\/1\.1" 404 153 "-" "node" "-"$/,
    ],
    'nginx access log with the client pod IP',
  );
});

t.test('nginx answers like nginx:alpine, byte for byte, over dial', async (t) => {
  const rt = await runtime(t);
  const pod = rt.start(podSpec('nginx', '127.244.1.40', { containers: [{ name: 'nginx', image: 'docker.io/library/nginx:1.27' }] }), new FakeCluster());
  await waitForStatus(pod, ready);
  const get = async (path: string, method = 'GET') => {
    const socket = await pod.dial(80);
    return new Promise<{ status: number; raw: string[]; body: string }>((resolve, reject) => {
      const req = http.request({ method, path, headers: { host: 'nginx' }, createConnection: () => socket as never }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, raw: res.rawHeaders, body }));
      });
      req.on('error', reject);
      req.end();
    });
  };
  const index = await get('/');
  t.equal(index.status, 200);
  t.equal(index.body, welcomePage);
  t.equal(Buffer.byteLength(welcomePage), 615);
  t.same(
    index.raw.filter((_, i) => i % 2 === 0),
    ['Server', 'Date', 'Content-Type', 'Content-Length', 'Last-Modified', 'Connection', 'ETag', 'Accept-Ranges'],
  );
  t.match(index.raw, ['Server', 'nginx/1.27.5', 'Date', /GMT$/, 'Content-Type', 'text/html', 'Content-Length', '615']);
  const missing = await get('/api/v1/nothing');
  t.equal(missing.status, 404);
  t.equal(missing.body, errorPage(404, 'Not Found'));
  t.equal(Buffer.byteLength(missing.body), 153);
  const post = await get('/index.html', 'POST');
  t.equal(post.status, 405);
  t.match(post.body, '<center><h1>405 Not Allowed</h1></center>');
});

t.test('image hooks run in process on the pod network, replacing the idle default', async (t) => {
  const rt = await runtime(t);
  const seen: string[] = [];
  rt.registerImageHandler('quay.io/cilium/hubble-relay', async (ctx) => {
    seen.push(`${ctx.pod.name} ${ctx.env.HOSTNAME} hubble=${ctx.cluster.configMap('kube-system', 'cilium-config')?.['enable-hubble']}`);
    const server = http.createServer((_req, res) => res.end('relay here'));
    await ctx.net.listen(server, 4245);
    ctx.log('listening on 4245');
    return { stop: () => new Promise<void>((r) => server.close(() => r())) };
  });
  const cluster = new FakeCluster();
  cluster.configMaps.set('kube-system/cilium-config', { 'enable-hubble': 'false' });
  const relay = rt.start(podSpec('hubble-relay-1', '127.244.1.50', { containers: [{ name: 'relay', image: 'quay.io/cilium/hubble-relay:v1.14.5' }] }), cluster);
  const agent = rt.start(podSpec('cilium-1', '127.244.1.51', { containers: [{ name: 'agent', image: 'quay.io/cilium/cilium:v1.19.0' }] }), cluster);
  await Promise.all([waitForStatus(relay, ready), waitForStatus(agent, ready)]);
  t.same(seen, ['hubble-relay-1 hubble-relay-1 hubble=false'], 'the handler sees the pod, its env and cluster config');
  t.same(await logLines(relay), ['listening on 4245']);
  const socket = await relay.dial(4245);
  socket.end('GET / HTTP/1.0\r\n\r\n');
  let text = '';
  for await (const chunk of socket) text += chunk;
  t.match(text, /relay here$/);
  await t.rejects(agent.dial(4244), { code: 'ECONNREFUSED' }, 'without a hook the Cilium image runs with nothing listening');
});

t.test('stopping and shutdown leave no process behind', async (t) => {
  const rt = await createPodRuntime({ shutdownGraceMs: 300 });
  t.teardown(() => rt.shutdown());
  const cluster = new FakeCluster();
  cluster.configMaps.set('default/s', { 'forever.mjs': 'setInterval(() => {}, 1000); process.on("SIGTERM", () => {}); console.log("started");' });
  const specFor = (name: string, ip: string) =>
    podSpec(name, ip, {
      volumes: [{ name: 's', configMap: { name: 's' } }],
      containers: [{ name: 'c', image: 'node:20', command: ['node', '/s/forever.mjs'], volumeMounts: [{ name: 's', mountPath: '/s' }] }],
    });
  const a = rt.start(specFor('stubborn-a', '127.244.1.60'), cluster);
  rt.start(specFor('stubborn-b', '127.244.1.61'), cluster);
  for (const p of rt.pods()) {
    await waitForStatus(p, ready);
    for await (const line of p.logs({ follow: true })) if (line === 'started') break;
  }
  const ours = () =>
    execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('forever.mjs'));
  t.equal(ours().length, 2, 'both pods run a process');
  await a.stop(0.2);
  t.match(a.containerStatuses()[0]?.state, { state: 'terminated', exitCode: 137 }, 'SIGTERM ignored, SIGKILL after the grace period');
  t.equal(rt.pods().length, 1);
  await rt.shutdown();
  t.same(ours(), [], 'no pod process outlives the runtime');
});
