// Port-forward to sim pods: client-node's PortForward through a small server that mounts handlePortForward, and kubectl.
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { KubeConfig, PortForward } from '@kubernetes/client-node';
import { handlePortForward } from '../../../lib/sim/apiserver/portforward.ts';
import { createPodRuntime } from '../../../lib/sim/runtime/index.ts';
import { welcomePage } from '../../../lib/sim/runtime/images/nginx.ts';
import type { RunningPod } from '../../../lib/sim/runtime/types.ts';
import { startSimCluster } from '../../../lib/sim/cluster.ts';
import { FakeCluster, podSpec, ready, waitForStatus } from '../runtime/helpers.ts';

const execFileAsync = promisify(execFile);

const rt = await createPodRuntime({ shutdownGraceMs: 200 });
const nginx = rt.start(podSpec('web', '127.244.1.5', { containers: [{ name: 'nginx', image: 'nginx:alpine' }] }, { namespace: 'shop' }), new FakeCluster());
await waitForStatus(nginx, ready);
const pods = new Map<string, RunningPod>([['shop/web', nginx]]);

const api = http.createServer((_req, res) => res.writeHead(404).end());
api.on('upgrade', (req, socket, head) => {
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward/.exec(req.url ?? '');
  const pod = m && pods.get(`${m[1]}/${m[2]}`);
  if (!pod) {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  handlePortForward(req, socket, head, (port) => pod.dial(port));
});
api.listen(0, '127.0.0.1');
await once(api, 'listening');
const apiPort = (api.address() as net.AddressInfo).port;
t.teardown(async () => {
  api.close();
  await rt.shutdown();
});

const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'sim', server: `http://127.0.0.1:${apiPort}`, skipTLSVerify: true }],
  users: [{ name: 'admin', token: 'sim-token' }],
  contexts: [{ name: 'sim', cluster: 'sim', user: 'admin' }],
  currentContext: 'sim',
});

/** What `kubectl port-forward` does with client-node: a local port whose every connection is forwarded. */
async function forwardLocally(podName: string, port: number, errors: PassThrough): Promise<net.Server> {
  const forward = new PortForward(kc);
  const local = net.createServer((socket) => {
    void forward.portForward('shop', podName, [port], socket, errors, socket);
  });
  local.listen(0, '127.0.0.1');
  await once(local, 'listening');
  t.teardown(() => local.close());
  return local;
}

// Before the first test: an await between tests could let tap end the file before the last one is declared.
const hasKubectl = await execFileAsync('kubectl', ['version', '--client']).then(
  () => true,
  () => false,
);

t.test('client-node PortForward reaches the pod port; every new connection is forwarded', async (t) => {
  const local = await forwardLocally('web', 80, new PassThrough());
  const url = `http://127.0.0.1:${(local.address() as net.AddressInfo).port}/`;
  for (let i = 0; i < 3; i++) {
    const res = await fetch(url, { headers: { connection: 'close' } });
    t.equal(res.status, 200);
    t.equal(res.headers.get('server'), 'nginx/1.27.5');
    t.equal(await res.text(), welcomePage);
  }
  const missing = await fetch(`${url}missing`);
  t.equal(missing.status, 404);
});

t.test('a port nothing listens on: the kubelet error on the error channel', async (t) => {
  const errors = new PassThrough();
  const local = await forwardLocally('web', 8080, errors);
  const socket = net.connect((local.address() as net.AddressInfo).port, '127.0.0.1');
  const [chunk] = await once(errors, 'data');
  t.match(String(chunk), /^error forwarding port 8080 to pod web, uid : failed to connect to localhost:8080 .*connection refused/);
  socket.destroy();
});

t.test('bad requests get Kubernetes Status errors', async (t) => {
  const upgrade = (path: string, headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: apiPort, path, headers: { connection: 'Upgrade', ...headers } });
      req.on('response', async (res) => {
        let body = '';
        for await (const c of res) body += c;
        resolve({ status: res.statusCode!, body });
      });
      req.end();
    });
  const ws = { upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };
  const noPort = await upgrade('/api/v1/namespaces/shop/pods/web/portforward', ws);
  t.equal(noPort.status, 400);
  t.match(JSON.parse(noPort.body), { kind: 'Status', code: 400, reason: 'BadRequest', message: 'query parameter "port" is required' });
  const spdy = await upgrade('/api/v1/namespaces/shop/pods/web/portforward', { upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'channel.k8s.io' });
  t.equal(spdy.status, 403);
  t.match(JSON.parse(spdy.body).message, /unable to negotiate protocol/);
  const wrongProtocol = await upgrade('/api/v1/namespaces/shop/pods/web/portforward?ports=80', { ...ws, 'sec-websocket-protocol': 'v5.channel.k8s.io' });
  t.equal(wrongProtocol.status, 400);
});

t.test(
  'kubectl port-forward: SPDY tunnelled in WebSocket (kubectl ≥ 1.31) and plain SPDY',
  { skip: hasKubectl ? false : 'kubectl is not installed' },
  async (t) => {
    const sim = await startSimCluster();
    t.teardown(() => sim.stop());
    const kc = ['--kubeconfig', sim.kubeconfigPath];
    await execFileAsync('kubectl', [...kc, 'run', 'web', '--image=nginx:alpine']);
    await execFileAsync('kubectl', [...kc, 'wait', '--for=condition=ready', 'pod/web', '--timeout=30s']);
    for (const websockets of ['true', 'false']) {
      for (const [remote, expect] of [
        ['80', 200],
        ['8080', 'refused'],
      ] as const) {
        const pf = spawn('kubectl', [...kc, 'port-forward', 'pod/web', `:${remote}`], { env: { ...process.env, KUBECTL_PORT_FORWARD_WEBSOCKETS: websockets } });
        t.teardown(() => pf.kill());
        // Waited on from the start: kubectl may end by itself once a forwarded connection failed.
        const exited = once(pf, 'exit');
        let out = '';
        const local = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`kubectl did not start forwarding:\n${out}`)), 15_000);
          const onData = (d: Buffer) => {
            out += d;
            const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
            if (m) {
              clearTimeout(timer);
              resolve(m[1]!);
            }
          };
          pf.stdout.on('data', onData);
          pf.stderr.on('data', onData);
        });
        const what = `websockets=${websockets}, port ${remote}`;
        if (expect === 200) {
          for (let i = 0; i < 2; i++) {
            const res = await fetch(`http://127.0.0.1:${local}/`, { headers: { connection: 'close' } });
            t.equal(res.status, 200, what);
            t.equal(await res.text(), welcomePage, what);
          }
        } else {
          await t.rejects(fetch(`http://127.0.0.1:${local}/`), what);
          const deadline = Date.now() + 5000;
          while (!/connection refused/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
          t.match(out, /error forwarding port 8080 to pod web.*connection refused/, `${what}: kubectl shows the kubelet's error`);
        }
        pf.kill();
        await exited;
      }
    }
  },
);
