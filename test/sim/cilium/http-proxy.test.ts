// The L7 HTTP proxy: requests checked against http rules one by one on keep-alive connections, 403 Access denied for
// the refused, REQUEST/RESPONSE flows where the rules are, and in the started sim the exact flows of one request.
import t from 'tap';
import http from 'node:http';
import type net from 'node:net';
import type { Flow } from '../../../lib/flows/types.ts';
import type { HttpRule } from '../../../lib/policy/index.ts';
import { R } from '../../../lib/sim/apiserver/resources.ts';
import { proxyHttp, type HttpPolicySide } from '../../../lib/sim/cilium/http-proxy.ts';
import { ConnectionTrace } from '../../../lib/sim/cilium/trace.ts';
import { ConnectionFlows, type SimEndpoint } from '../../../lib/sim/hubble/flows.ts';
import { createDatapath } from '../../../lib/sim/net/datapath.ts';
import { agentFlows, enableHubble, jobOutcome, nodeScriptSpec, scriptConfigMap, startCiliumSim, waitFor } from './helpers.ts';

const endpoint = (name: string, ip: string, node: string, identity: number): SimEndpoint => ({
  ip,
  node,
  endpoint: { identity, namespace: 'demo', labels: [`k8s:app=${name}`], pod_name: name },
});
const clientEnd = endpoint('client', '127.244.2.20', 'sim-worker2', 1001);
const serverEnd = endpoint('web', '127.244.1.10', 'sim-worker', 1002);

// One datapath for the bare-proxy tests: a web server pod and a client pod, every connection handed to the proxy.
const dp = await createDatapath({ synRtoMs: 50, synRetries: 1 });
t.teardown(() => dp.close());
const serverPod = dp.attachPod({ ip: serverEnd.ip, namespace: 'demo', name: 'web', uid: 'web', nodeName: 'sim-worker', labels: { app: 'web' } });
const clientPod = dp.attachPod({ ip: clientEnd.ip, namespace: 'demo', name: 'client', uid: 'client', nodeName: 'sim-worker2', labels: { app: 'client' } });
const seenByServer: { method: string; url: string; body: string; remotePort: number }[] = [];
const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d: string) => (body += d));
  req.on('end', () => {
    seenByServer.push({ method: req.method!, url: req.url!, body, remotePort: req.socket.remotePort! });
    if (req.url === '/chunked') {
      res.write('part one, ');
      res.end('part two');
    } else res.end(`${req.method} ${req.url} ${body}`);
  });
});
await serverPod.listen(server, 80);
t.teardown(() => server.close());

let sides: HttpPolicySide[] = [];
let seen: { flow: Flow; node: string }[] = [];
dp.setHooks({
  onConnect: (conn) => ({
    proxy: (client, _c, upstream) => {
      const flows = new ConnectionFlows(
        { client: clientEnd, server: serverEnd, protocol: 'TCP', clientPort: conn.src.port, serverPort: conn.backend.port },
        (flow, node) => seen.push({ flow, node }),
        { clusterName: 'kind-sim' },
      );
      proxyHttp(client, upstream, new ConnectionTrace(flows), { sides, defaultHost: conn.dst.ip });
    },
  }),
});

/** A keep-alive client whose connections go from the client pod through the datapath. */
function podAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: unknown }).createConnection = (
    o: { host: string; port: number },
    cb: (err: Error | null, s?: net.Socket) => void,
  ) => {
    clientPod.connect(o.host, o.port).then(
      (s) => cb(null, s),
      (err: Error) => cb(err),
    );
  };
  return agent;
}

function request(
  agent: http.Agent,
  method: string,
  path: string,
  body?: string | string[],
  port = 80,
): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: serverEnd.ip, port, method, path, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, text, headers: res.headers }));
    });
    req.on('error', reject);
    if (typeof body === 'string') req.setHeader('content-length', Buffer.byteLength(body));
    for (const part of typeof body === 'string' ? [body] : (body ?? [])) req.write(part);
    req.end();
  });
}

const l7 = (s: { flow: Flow; node: string }) => {
  const f = s.flow;
  const h = f.l7?.http;
  return `${s.node} ${f.traffic_direction} ${f.l7?.type} ${f.verdict} ${h?.method} ${h?.url}${h?.code ? ` ${h.code}` : ''}`;
};
const l7Flows = () => seen.filter((s) => s.flow.Type === 'L7').map(l7);
const rules = (...r: HttpRule[]) => r;

t.test('keep-alive: each request is forwarded unchanged and reported, bodies by length or chunks', async (t) => {
  sides = [{ side: 'ingress', rules: rules({}) }];
  seen = [];
  seenByServer.length = 0;
  const agent = podAgent();
  t.teardown(() => agent.destroy());
  t.same((await request(agent, 'GET', '/a')).text, 'GET /a ');
  t.same((await request(agent, 'POST', '/echo', 'a body of 19 bytes.')).text, 'POST /echo a body of 19 bytes.');
  t.same((await request(agent, 'PUT', '/echo', ['chunk one / ', 'chunk two'])).text, 'PUT /echo chunk one / chunk two');
  const chunked = await request(agent, 'GET', '/chunked');
  t.same([chunked.text, chunked.headers['transfer-encoding']], ['part one, part two', 'chunked']);
  t.equal(new Set(seenByServer.map((r) => r.remotePort)).size, 1, 'all four on one upstream connection');
  t.same(
    seenByServer.map((r) => r.remotePort),
    Array(4).fill(seenByServer[0]!.remotePort),
  );
  const url = `http://${serverEnd.ip}`;
  t.same(l7Flows(), [
    `sim-worker INGRESS REQUEST FORWARDED GET ${url}/a`,
    `sim-worker INGRESS RESPONSE FORWARDED GET ${url}/a 200`,
    `sim-worker INGRESS REQUEST FORWARDED POST ${url}/echo`,
    `sim-worker INGRESS RESPONSE FORWARDED POST ${url}/echo 200`,
    `sim-worker INGRESS REQUEST FORWARDED PUT ${url}/echo`,
    `sim-worker INGRESS RESPONSE FORWARDED PUT ${url}/echo 200`,
    `sim-worker INGRESS REQUEST FORWARDED GET ${url}/chunked`,
    `sim-worker INGRESS RESPONSE FORWARDED GET ${url}/chunked 200`,
  ]);
  const responses = seen.filter((s) => s.flow.l7?.type === 'RESPONSE').map((s) => s.flow);
  t.ok(
    responses.every((f) => /^\d+$/.test(f.l7!.latency_ns!) && BigInt(f.l7!.latency_ns!) > 0n),
    'responses carry their latency',
  );
  t.ok(
    responses.every((f) => f.is_reply === true && f.source === serverEnd.endpoint),
    'a response flows from the server',
  );
  const trace = seen.filter((s) => s.flow.Type === 'L3_L4' && s.node === 'sim-worker').map((s) => s.flow.Summary);
  t.same(trace, ['TCP Flags: SYN, ACK', 'TCP Flags: ACK', 'TCP Flags: ACK, PSH', 'TCP Flags: ACK, PSH'], 'handshake and the first data each way, once');
});

t.test('a request the rules do not allow gets 403 Access denied; the connection serves the next one', async (t) => {
  sides = [{ side: 'ingress', rules: rules({ method: 'GET', path: '/public(/.*)?' }) }];
  seen = [];
  seenByServer.length = 0;
  const agent = podAgent();
  t.teardown(() => agent.destroy());
  const denied = await request(agent, 'POST', '/private', 'secret payload');
  t.same([denied.status, denied.text, denied.headers['content-type'], denied.headers.server], [403, 'Access denied\r\n', 'text/plain', 'envoy']);
  const chunkedDenied = await request(agent, 'PUT', '/public/x', ['a', 'b']);
  t.equal(chunkedDenied.status, 403, 'the method must match too');
  const allowed = await request(agent, 'GET', '/public/page');
  t.same([allowed.status, allowed.text], [200, 'GET /public/page ']);
  t.same(
    seenByServer.map((r) => r.url),
    ['/public/page'],
    'refused requests never reach the server, their bodies are discarded',
  );
  const url = `http://${serverEnd.ip}`;
  t.same(l7Flows(), [
    `sim-worker INGRESS REQUEST DROPPED POST ${url}/private`,
    `sim-worker INGRESS RESPONSE FORWARDED POST ${url}/private 403`,
    `sim-worker INGRESS REQUEST DROPPED PUT ${url}/public/x`,
    `sim-worker INGRESS RESPONSE FORWARDED PUT ${url}/public/x 403`,
    `sim-worker INGRESS REQUEST FORWARDED GET ${url}/public/page`,
    `sim-worker INGRESS RESPONSE FORWARDED GET ${url}/public/page 200`,
  ]);
});

t.test('egress and ingress rules: both proxies report, the first to refuse answers', async (t) => {
  sides = [
    { side: 'egress', rules: rules({ path: '/(api|admin)/.*' }) },
    { side: 'ingress', rules: rules({ method: 'GET' }) },
  ];
  seen = [];
  const agent = podAgent();
  t.teardown(() => agent.destroy());
  t.equal((await request(agent, 'GET', '/api/x')).status, 200);
  t.equal((await request(agent, 'DELETE', '/api/x')).status, 403);
  t.equal((await request(agent, 'GET', '/other')).status, 403);
  const url = `http://${serverEnd.ip}`;
  t.same(l7Flows(), [
    `sim-worker2 EGRESS REQUEST FORWARDED GET ${url}/api/x`,
    `sim-worker INGRESS REQUEST FORWARDED GET ${url}/api/x`,
    `sim-worker INGRESS RESPONSE FORWARDED GET ${url}/api/x 200`,
    `sim-worker2 EGRESS RESPONSE FORWARDED GET ${url}/api/x 200`,
    `sim-worker2 EGRESS REQUEST FORWARDED DELETE ${url}/api/x`,
    `sim-worker INGRESS REQUEST DROPPED DELETE ${url}/api/x`,
    `sim-worker INGRESS RESPONSE FORWARDED DELETE ${url}/api/x 403`,
    `sim-worker2 EGRESS RESPONSE FORWARDED DELETE ${url}/api/x 403`,
    `sim-worker2 EGRESS REQUEST DROPPED GET ${url}/other`,
    `sim-worker2 EGRESS RESPONSE FORWARDED GET ${url}/other 403`,
  ]);
});

t.test('nothing listening behind the proxy: 503 as Envoy answers it', async (t) => {
  sides = [{ side: 'ingress', rules: rules({}) }];
  seen = [];
  const agent = podAgent();
  t.teardown(() => agent.destroy());
  const r = await request(agent, 'GET', '/', undefined, 8080);
  t.equal(r.status, 503);
  t.match(r.text, /^upstream connect error or disconnect\/reset before headers\. reset reason: remote connection failure/);
  t.same(l7Flows(), [
    `sim-worker INGRESS REQUEST FORWARDED GET http://${serverEnd.ip}:8080/`,
    `sim-worker INGRESS RESPONSE FORWARDED GET http://${serverEnd.ip}:8080/ 503`,
  ]);
});

t.test('a malformed request gets 400 and the connection closes', async (t) => {
  sides = [{ side: 'ingress', rules: rules({}) }];
  seen = [];
  const socket = await clientPod.connect(serverEnd.ip, 80);
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (text += d));
  const ended = new Promise((r) => socket.on('end', r));
  socket.write('NONSENSE\r\n\r\n');
  await ended;
  socket.destroy();
  t.match(text, /^HTTP\/1\.1 400 Bad Request\r\n[^]*connection: close\r\n\r\nBad Request$/);
});

// ——— in the started sim ———

const ns = 'l7';
const clientScript = `
import http from 'node:http';
const get = (path) => new Promise((resolve) => {
  http.get({ host: 'web.${ns}.svc.cluster.local', path, agent: false }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => resolve(res.statusCode + ' ' + (body.split('\\n').find((l) => l.includes('<title>')) ?? body).trim()));
  }).on('error', (e) => resolve('error ' + e.code));
});
console.log('GET / ' + await get('/'));
console.log('GET /private ' + await get('/private'));
`;

const objects = `
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: ${ns}, labels: {app: web}}
spec:
  nodeName: sim-worker
  containers: [{name: nginx, image: nginx:alpine, ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-get-root, namespace: ${ns}}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http: [{method: GET, path: /}]
`;

/** A flow as one line: node, what (L7 record, policy verdict with its match type, or trace point), direction, reply or not, summary. */
function line(f: Flow): string {
  const node = f.node_name!.split('/').pop();
  const what =
    f.Type === 'L7'
      ? `L7 ${f.l7!.type} ${f.verdict}`
      : f.event_type?.type === 5
        ? `policy-verdict:${f.policy_match_type} ${f.verdict}`
        : `${f.trace_observation_point} ${f.verdict}`;
  return `${node} ${what} ${f.traffic_direction} reply=${f.is_reply} ${f.Summary!.replace(/\d+ms/, 'Nms')}`;
}

t.test('one HTTP request through an ingress http rule, as Hubble shows it', async (t) => {
  const sim = await startCiliumSim(t);
  await enableHubble(sim);
  await sim.apply(objects);
  await sim.apply([scriptConfigMap(ns, 'client', { 'client.mjs': clientScript })]);
  await waitFor('web ready', async () => (await sim.core.readNamespacedEndpoints({ name: 'web', namespace: ns })).subsets?.[0]?.addresses?.length, 20_000);
  await sim.apply([
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'client', namespace: ns },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels: { app: 'client' } },
          spec: { restartPolicy: 'Never', nodeName: 'sim-worker2', ...nodeScriptSpec('client', 'client.mjs') },
        },
      },
    },
  ]);
  const job = await jobOutcome(sim, ns, 'client');
  t.equal(job.log, 'GET / 200 <title>Welcome to nginx!</title>\nGET /private 403 Access denied\n');

  const webIP = (await sim.core.readNamespacedPod({ name: 'web', namespace: ns })).status!.podIP!;
  const between = (await agentFlows(sim)).filter((f) => [f.source?.pod_name, f.destination?.pod_name].sort().join() === [job.pod, 'web'].sort().join());
  const firstPort = between[0]!.l4!.TCP!.source_port;
  const first = between.filter((f) => f.l4!.TCP!.source_port === firstPort || f.l4!.TCP!.destination_port === firstPort);
  const url = `http://web.${ns}.svc.cluster.local/`;
  // The documented sequence: the client (sim-worker2) opens one connection to web (sim-worker) through the Service,
  // sends GET /, gets nginx's 200, and the connection closes (the request said Connection: close, so the proxy
  // closes first). Crossing nodes, each packet is seen leaving its node (TO_OVERLAY) and arriving at the endpoint
  // (TO_ENDPOINT); the proxy on web's node reports the request and its response between the data packets. web's
  // ingress policy reports its verdict for the first SYN before the SYN is delivered: allowed by a peer-and-port
  // entry (L3-L4, 2) that redirects to the proxy.
  t.same(first.map(line), [
    'sim-worker2 TO_OVERLAY FORWARDED EGRESS reply=false TCP Flags: SYN',
    'sim-worker policy-verdict:2 REDIRECTED INGRESS reply=false TCP Flags: SYN',
    'sim-worker TO_ENDPOINT FORWARDED INGRESS reply=false TCP Flags: SYN',
    'sim-worker TO_OVERLAY FORWARDED INGRESS reply=true TCP Flags: SYN, ACK',
    'sim-worker2 TO_ENDPOINT FORWARDED EGRESS reply=true TCP Flags: SYN, ACK',
    'sim-worker2 TO_OVERLAY FORWARDED EGRESS reply=false TCP Flags: ACK',
    'sim-worker TO_ENDPOINT FORWARDED INGRESS reply=false TCP Flags: ACK',
    'sim-worker2 TO_OVERLAY FORWARDED EGRESS reply=false TCP Flags: ACK, PSH',
    'sim-worker TO_ENDPOINT FORWARDED INGRESS reply=false TCP Flags: ACK, PSH',
    `sim-worker L7 REQUEST FORWARDED INGRESS reply=false HTTP/1.1 GET ${url}`,
    `sim-worker L7 RESPONSE FORWARDED INGRESS reply=true HTTP/1.1 200 Nms (GET ${url})`,
    'sim-worker TO_OVERLAY FORWARDED INGRESS reply=true TCP Flags: ACK, PSH',
    'sim-worker2 TO_ENDPOINT FORWARDED EGRESS reply=true TCP Flags: ACK, PSH',
    'sim-worker TO_OVERLAY FORWARDED INGRESS reply=true TCP Flags: ACK, FIN',
    'sim-worker2 TO_ENDPOINT FORWARDED EGRESS reply=true TCP Flags: ACK, FIN',
    'sim-worker2 TO_OVERLAY FORWARDED EGRESS reply=false TCP Flags: ACK, FIN',
    'sim-worker TO_ENDPOINT FORWARDED INGRESS reply=false TCP Flags: ACK, FIN',
  ]);
  const policy = sim.cluster.internals.store.get(R.ciliumnetworkpolicies, ns, 'web-get-root')!;
  t.match(first[1], {
    verdict: 'REDIRECTED',
    Type: 'L3_L4',
    event_type: { type: 5 },
    traffic_direction: 'INGRESS',
    policy_match_type: 2,
    is_reply: false,
    Summary: 'TCP Flags: SYN',
    l4: { TCP: { source_port: firstPort, destination_port: 80, flags: { SYN: true } } },
    source: { pod_name: job.pod },
    destination: { pod_name: 'web' },
    destination_service: { name: 'web', namespace: ns },
    node_name: 'kind-sim/sim-worker',
    ingress_allowed_by: [
      {
        name: 'web-get-root',
        namespace: ns,
        kind: 'CiliumNetworkPolicy',
        revision: /^[1-9]\d*$/,
        labels: [
          'k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy',
          'k8s:io.cilium.k8s.policy.name=web-get-root',
          `k8s:io.cilium.k8s.policy.namespace=${ns}`,
          `k8s:io.cilium.k8s.policy.uid=${policy.metadata.uid}`,
        ],
      },
    ],
  });
  t.notOk(first[1]!.event_type!.sub_type || first[1]!.drop_reason_desc, 'sub-type 0, no drop reason');
  const [request, response] = first.filter((f) => f.Type === 'L7');
  t.match(request, {
    verdict: 'FORWARDED',
    Type: 'L7',
    event_type: { type: 129 },
    traffic_direction: 'INGRESS',
    is_reply: false,
    IP: { source: first[0]!.IP!.source, destination: webIP, ipVersion: 'IPv4' },
    l4: { TCP: { source_port: firstPort, destination_port: 80 } },
    source: { namespace: ns, pod_name: job.pod, labels: [`k8s:app=client`] },
    destination: { namespace: ns, pod_name: 'web' },
    destination_service: { name: 'web', namespace: ns },
    l7: { type: 'REQUEST', http: { method: 'GET', url, protocol: 'HTTP/1.1' } },
    node_name: 'kind-sim/sim-worker',
  });
  t.notOk(request!.l7!.latency_ns, 'a request has no latency');
  t.match(response, {
    verdict: 'FORWARDED',
    Type: 'L7',
    traffic_direction: 'INGRESS',
    is_reply: true,
    IP: { source: webIP, destination: first[0]!.IP!.source },
    l4: { TCP: { source_port: 80, destination_port: firstPort } },
    source: { pod_name: 'web' },
    destination: { pod_name: job.pod },
    source_service: { name: 'web', namespace: ns },
    l7: { type: 'RESPONSE', latency_ns: /^[1-9]\d*$/, http: { code: 200, method: 'GET', url, protocol: 'HTTP/1.1' } },
  });

  const denied = between.filter((f) => f.Type === 'L7' && f.l7?.http?.url === `http://web.${ns}.svc.cluster.local/private`).map(line);
  t.same(denied, [
    `sim-worker L7 REQUEST DROPPED INGRESS reply=false HTTP/1.1 GET http://web.${ns}.svc.cluster.local/private`,
    `sim-worker L7 RESPONSE FORWARDED INGRESS reply=true HTTP/1.1 403 Nms (GET http://web.${ns}.svc.cluster.local/private)`,
  ]);
});
