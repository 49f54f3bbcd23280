// Run by unprivileged.test.ts as an ordinary user: a small cluster of pods on port 80, DNS and nginx, reported as JSON.
import { createPodRuntime } from '../../../lib/sim/runtime/index.ts';
import { servicesFromObjects } from '../../../lib/sim/net/services.ts';
import { FakeCluster, logLines, podSpec, ready, terminated, waitForStatus } from './helpers.ts';

const rt = await createPodRuntime({ shutdownGraceMs: 300 });
try {
  const cluster = new FakeCluster();
  cluster.configMaps.set('default/app', {
    'server.mjs': `
      import http from 'node:http';
      const s = http.createServer((req, res) => res.end('uid ' + process.getuid() + ' port ' + s.address().port));
      s.listen(80);
    `,
    'client.mjs': `
      for (const url of ['http://api/', 'http://nginx/']) {
        const r = await fetch(url);
        console.log(url + ' ' + r.status + ' ' + (r.headers.get('server') ?? (await r.text())));
      }
    `,
  });
  const volume = { volumes: [{ name: 'app', configMap: { name: 'app' } }] };
  const mount = { volumeMounts: [{ name: 'app', mountPath: '/app' }] };
  const pods = [
    rt.start(
      podSpec('coredns', '127.244.0.2', { containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3' }] }, { namespace: 'kube-system' }),
      cluster,
    ),
    rt.start(
      podSpec('api', '127.244.1.2', {
        ...volume,
        containers: [{ name: 'api', image: 'node:20', command: ['node', '/app/server.mjs'], ...mount, readinessProbe: { tcpSocket: { port: 80 } } }],
      }),
      cluster,
    ),
    rt.start(podSpec('nginx', '127.244.2.2', { containers: [{ name: 'nginx', image: 'nginx:alpine' }] }), cluster),
  ];
  await Promise.all(pods.map((p) => waitForStatus(p, ready, 10_000)));
  const svc = (ns: string, name: string, ip: string, backend: string, protocol = 'TCP', port = 80) => ({
    service: { metadata: { namespace: ns, name }, spec: { clusterIP: ip, ports: [{ port, protocol }] } },
    endpoints: { metadata: { namespace: ns, name }, subsets: [{ addresses: [{ ip: backend }], ports: [{ port, protocol }] }] },
  });
  const all = [
    svc('kube-system', 'kube-dns', '127.96.0.10', '127.244.0.2', 'UDP', 53),
    svc('default', 'api', '127.96.1.1', '127.244.1.2'),
    svc('default', 'nginx', '127.96.1.2', '127.244.2.2'),
  ];
  rt.datapath.setServices(
    servicesFromObjects(
      all.map((s) => s.service),
      all.map((s) => s.endpoints),
    ),
  );
  const client = rt.start(
    podSpec('client', '127.244.3.3', {
      ...volume,
      restartPolicy: 'Never',
      containers: [{ name: 'c', image: 'node:20', command: ['node', '/app/client.mjs'], ...mount }],
    }),
    cluster,
  );
  const [status] = await waitForStatus(client, terminated, 10_000);
  process.stdout.write(
    `${JSON.stringify({ uid: process.getuid?.(), exitCode: status?.state.state === 'terminated' ? status.state.exitCode : null, logs: await logLines(client) })}\n`,
  );
} finally {
  await rt.shutdown();
}
