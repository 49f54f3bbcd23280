// The datapath with real pod processes: virtual addresses, Services and DNS, hooks, drop/reject, UDP, loopback.
import t from 'tap';
import http from 'node:http';
import type net from 'node:net';
import { once } from 'node:events';
import { createDatapath, type Connection, type Datapath, type PodNetwork } from '../../../lib/sim/net/datapath.ts';
import { ClusterZone } from '../../../lib/sim/dns/zone.ts';
import { answerQuery } from '../../../lib/sim/dns/server.ts';
import { runInPod, type PodProcess } from './pod-process.ts';
import { within } from '../../fixtures/within.ts';

const httpServer = `
import http from 'node:http';
import os from 'node:os';
const server = http.createServer((req, res) => {
  const s = req.socket;
  res.end(JSON.stringify({ host: os.hostname(), remote: s.remoteAddress, remotePort: s.remotePort, local: s.localAddress, localPort: s.localPort }));
});
server.listen(80, () => console.log('listening ' + JSON.stringify(server.address())));
`;

const httpClient = `
for (const url of process.argv.slice(2)) {
  try {
    const r = await fetch(url);
    console.log('GET ' + url + ' ' + r.status + ' ' + (await r.text()));
  } catch (e) {
    console.log('GET ' + url + ' ERR ' + (e.cause?.code ?? e.code ?? e.message));
  }
}
`;

/** Connects to each host:port[:own timeout ms] argument at once; prints one line per target. */
const tcpProbe = `
import net from 'node:net';
for (const target of process.argv.slice(2)) {
  const [host, port, timeout] = target.split(':');
  const t0 = Date.now();
  const say = (what) => console.log(host + ':' + port + ' ' + what + ' after ' + (Date.now() - t0) + 'ms');
  const s = net.connect(Number(port), host);
  if (Number(timeout)) s.setTimeout(Number(timeout));
  s.on('connect', () => { say('connected ' + s.localAddress + ':' + s.localPort + ' -> ' + s.remoteAddress + ':' + s.remotePort); s.end(); });
  s.on('timeout', () => { say('timeout'); s.destroy(); });
  s.on('error', (e) => say('error ' + e.code + ' ' + e.message));
}
`;

const ids = { n: 0 };
function attach(dp: Datapath, ip: string, name: string, namespace = 'default'): PodNetwork {
  return dp.attachPod({ ip, name, namespace, uid: `uid-${++ids.n}`, nodeName: `node-${ip.split('.')[2]}`, labels: { app: name } });
}

function parseReply(line: string): Record<string, unknown> {
  return JSON.parse(line.slice(line.indexOf('{')));
}

// One datapath for the file, with an HTTP server pod and a client pod; tests add the pods they need and set hooks.
const dp = await createDatapath({ synRtoMs: 100, synRetries: 2 });
const procs: PodProcess[] = [];
const run = (pod: PodNetwork, source: string, args: string[] = []) => {
  const p = runInPod(pod, source, args);
  procs.push(p);
  return p;
};
t.teardown(async () => {
  for (const p of procs) p.child.kill('SIGKILL');
  await dp.close();
});
t.afterEach(() => {
  dp.setHooks({});
  dp.setServices([]);
});
const server = attach(dp, '127.244.1.10', 'server');
const client = attach(dp, '127.244.2.20', 'client');
const serverProcess = run(server, httpServer);
const serverListening = (await serverProcess.waitFor(/listening (.*)/))[1];

t.test('a pod reaches another pod by its IP and both ends see pod addresses, not the machine', async (t) => {
  t.match(serverListening, '"port":80', 'server.address() shows the pod port');
  t.same(dp.ports('127.244.1.10'), [{ ip: '127.244.1.10', protocol: 'TCP', port: 80, loopback: false }]);

  const c = run(client, httpClient, ['http://127.244.1.10/']);
  const reply = parseReply((await c.waitFor(/GET \S+ 200 (.*)/))[0]);
  t.equal(reply.host, 'server', 'os.hostname() is the pod name');
  t.equal(reply.remote, '127.244.2.20', 'the server sees the client pod IP');
  t.ok(Number(reply.remotePort) >= 32768 && Number(reply.remotePort) <= 60999, 'from an ephemeral port');
  t.equal(reply.local, '127.244.1.10');
  t.equal(reply.localPort, 80);

  const probe = run(client, tcpProbe, ['127.244.1.10:80']);
  t.match((await probe.waitFor(/connected .*/))[0], /^connected 127\.244\.2\.20:\d+ -> 127\.244\.1\.10:80 after/, 'the client socket shows pod addresses');
});

t.test('processes a pod script starts belong to the pod too', async (t) => {
  const c = run(
    client,
    `
    import { fork } from 'node:child_process';
    import { writeFileSync } from 'node:fs';
    const child = new URL('./forked-child.mjs', import.meta.url);
    writeFileSync(child, "import os from 'node:os'; const r = await fetch('http://127.244.1.10/'); console.log(os.hostname() + ' got ' + (await r.json()).remote + ' leaked ' + Object.keys(process.env).filter((k) => k.startsWith('HUBBLE_LAB')).length);");
    fork(child);
  `,
  );
  await c.exited;
  t.match(c.output(), 'client got 127.244.2.20 leaked 0', 'a forked node process is in the pod and sees no sim settings');
});

t.test('Services: ClusterIP load-balanced over ready backends, DNS names through the cluster DNS', async (t) => {
  const web2 = attach(dp, '127.244.2.12', 'web-2', 'shop');
  const dns = attach(dp, '127.244.0.2', 'coredns', 'kube-system');
  const shopClient = attach(dp, '127.244.3.30', 'client', 'shop');
  const zone = new ClusterZone();
  const services = [
    {
      namespace: 'shop',
      name: 'web',
      clusterIP: '127.96.5.5',
      ports: [
        {
          protocol: 'TCP' as const,
          port: 8080,
          backends: [
            { ip: '127.244.1.10', port: 80 },
            { ip: '127.244.2.12', port: 80 },
          ],
        },
      ],
    },
    {
      namespace: 'kube-system',
      name: 'kube-dns',
      clusterIP: '127.96.0.10',
      ports: [{ name: 'dns', protocol: 'UDP' as const, port: 53, backends: [{ ip: '127.244.0.2', port: 53 }] }],
    },
  ];
  dp.setServices(services);
  zone.update(
    services.map((s) => ({ name: s.name, namespace: s.namespace, clusterIP: s.clusterIP, ports: s.ports, endpoints: [] })),
    [],
  );
  const queries: string[] = [];
  t.teardown(() => {
    web2.close();
    dns.close();
    shopClient.close();
  });
  dns.listenUdp(53, (payload, from, reply) => {
    queries.push(from.ip);
    const answer = answerQuery(zone, payload);
    if (answer) reply(answer);
  });
  await run(web2, httpServer).waitFor(/listening/);

  const urls = ['http://127.96.5.5:8080/', 'http://127.96.5.5:8080/', 'http://web.shop.svc.cluster.local:8080/', 'http://web:8080/', 'http://nope:8080/'];
  const c = run(shopClient, httpClient, urls);
  await c.waitFor(/GET http:\/\/nope\S+ ERR/);
  const lines = c.output().trim().split('\n');
  const hosts = lines.slice(0, 4).map((l) => parseReply(l).host);
  t.same(hosts.slice(0, 2).sort(), ['server', 'web-2'], 'two requests to the ClusterIP reach both backends');
  t.ok(
    hosts.slice(2).every((h) => h === 'server' || h === 'web-2'),
    'the FQDN and the short name reach the Service',
  );
  t.match(lines[4], /ERR ENOTFOUND/, 'an unknown name is NXDOMAIN after the search path');
  t.ok(queries.length >= 4 && queries.every((ip) => ip === '127.244.3.30'), 'DNS queries came from the client pod, through the datapath');
  t.equal(parseReply(lines[0]!).remote, '127.244.3.30', 'the backend sees the client pod, not the ClusterIP');
  const resolver = run(
    shopClient,
    `
    import dns from 'node:dns';
    console.log('promises ' + (await dns.promises.resolve4('web')));
    dns.resolve4('web.shop.svc.cluster.local', (err, ips) => console.log('callback ' + ips));
    new dns.Resolver().resolve('nope', (err) => console.log('missing ' + err.code));
  `,
  );
  await resolver.exited;
  t.match(resolver.output(), /promises 127\.96\.5\.5\n/);
  t.match(resolver.output(), /callback 127\.96\.5\.5\n/);
  t.match(resolver.output(), /missing ENOTFOUND\n/, 'dns.resolve* answers from the cluster DNS too');
});

t.test('hooks see the SYN, the open connection, its bytes, both FINs and the close', async (t) => {
  const before = dp.stats().connections;
  const events: string[] = [];
  let seen: Connection | undefined;
  let bytes = 0;
  dp.setHooks({
    onConnect: (c) => {
      seen = c;
      events.push(`syn ${c.src.ip}->${c.dst.ip}:${c.dst.port} #${c.attempt}`);
      return 'allow';
    },
    onOpen: () => events.push('open'),
    onData: (_c, dir, n) => {
      if (dir === 'reply') bytes += n;
    },
    onEnd: (_c, side) => events.push(`fin ${side}`),
    onClose: () => events.push('close'),
  });
  const c = run(
    client,
    `
    import http from 'node:http';
    http.get({ host: '127.244.1.10', port: 80, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => console.log('body ' + body.length));
    });
  `,
  );
  const bodyLength = Number((await c.waitFor(/body (\d+)/))[1]);
  await c.exited;
  const deadline = Date.now() + 2000;
  while (!events.includes('close') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.equal(events[0], 'syn 127.244.2.20->127.244.1.10:80 #1');
  t.equal(events[1], 'open');
  t.ok(events.includes('fin client') && events.includes('fin server'), 'both sides sent FIN');
  t.equal(events.at(-1), 'close');
  t.ok(bytes > bodyLength, 'reply bytes include the response');
  t.equal(seen?.source?.name, 'client');
  t.equal(seen?.destination?.name, 'server');
  const after = dp.stats().connections;
  t.same([after.accepted - before.accepted, after.refused - before.refused, after.active], [1, 0, 0], 'one connection accepted, none open');
});

t.test('a proxy verdict hands the accepted client to an L7 proxy that answers or goes upstream', async (t) => {
  const upstreams = new WeakMap<object, () => Promise<net.Socket>>();
  const proxy = http.createServer((req, res) => {
    if (req.url === '/denied') {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Access denied\r\n');
      return;
    }
    void upstreams.get(req.socket)!().then((up) => {
      const forward = http.request({ createConnection: () => up, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      req.pipe(forward);
    });
  });
  dp.setHooks({
    onConnect: (c) => ({
      proxy: (socket, conn, upstream) => {
        t.equal(conn, c, 'the proxy gets the connection it was decided for');
        upstreams.set(socket, upstream);
        proxy.emit('connection', socket);
      },
    }),
  });
  const c = run(client, httpClient, ['http://127.244.1.10/allowed', 'http://127.244.1.10/denied']);
  await c.exited;
  const [allowed, denied] = c.output().trim().split('\n');
  t.match(allowed, /^GET http:\/\/127\.244\.1\.10\/allowed 200 /);
  t.equal(parseReply(allowed!).remote, '127.244.2.20', 'upstream, the server still sees the client pod');
  t.equal(denied?.trimEnd(), 'GET http://127.244.1.10/denied 403 Access denied');
});

t.test('a dropped SYN never connects: the client times out and every retransmission is a new attempt', async (t) => {
  const accepted = dp.stats().connections.accepted;
  const attempts: number[] = [];
  dp.setHooks({
    onConnect: (c) => {
      attempts.push(c.attempt);
      return 'drop';
    },
  });
  const probe = run(client, tcpProbe, ['127.244.1.10:80:250', '127.96.0.1:80:0']);
  dp.setServices([
    { namespace: 'default', name: 'server', clusterIP: '127.96.0.1', ports: [{ protocol: 'TCP', port: 80, backends: [{ ip: '127.244.1.10', port: 80 }] }] },
  ]);
  await probe.waitFor(/127\.244\.1\.10:80 timeout after/);
  const [line] = await probe.waitFor(/127\.96\.0\.1:80 error .*/);
  await probe.exited;
  t.notMatch(probe.output(), /connected/, 'the app never saw connect');
  t.match(
    line,
    /^127\.96\.0\.1:80 error ETIMEDOUT connect ETIMEDOUT 127\.96\.0\.1:80 after (\d+)ms/,
    'without its own timeout: ETIMEDOUT after the last retransmission',
  );
  const after = Number(/after (\d+)ms/.exec(line)![1]);
  t.ok(after >= 700 && after < 3000, `gave up after 100+200+400 ms of retransmissions (${after} ms)`);
  t.same(attempts.filter((a) => a === 1).length, 2, 'two connections');
  t.ok(attempts.includes(3), `each retransmitted SYN was decided again: ${attempts}`);
  t.equal(dp.stats().connections.accepted, accepted, 'nothing was accepted');
});

t.test("a retransmitted SYN to a Service goes to the first SYN's backend, as the load balancer's conntrack sends it", async (t) => {
  const backends: string[] = [];
  dp.setHooks({
    onConnect: (c) => {
      backends.push(`#${c.attempt} ${c.backend.ip}`);
      return 'drop';
    },
  });
  dp.setServices([
    {
      namespace: 'default',
      name: 'pair',
      clusterIP: '127.96.0.2',
      ports: [
        {
          protocol: 'TCP',
          port: 80,
          backends: [
            { ip: '127.244.1.10', port: 80 },
            { ip: '127.244.1.11', port: 80 },
          ],
        },
      ],
    },
  ]);
  const probe = run(client, tcpProbe, ['127.96.0.2:80:0']);
  await probe.exited;
  t.same(backends, ['#1 127.244.1.10', '#2 127.244.1.10', '#3 127.244.1.10']);
  backends.length = 0;
  const next = run(client, tcpProbe, ['127.96.0.2:80:0']);
  await next.exited;
  t.same(backends, ['#1 127.244.1.11', '#2 127.244.1.11', '#3 127.244.1.11'], 'a new connection takes the next backend');
});

t.test('a Service port without backends: refused by default, dropped when the hook says so', async (t) => {
  const seen: string[] = [];
  let response: 'reject' | 'drop' = 'reject';
  dp.setHooks({
    onNoBackend: (c) => {
      seen.push(`${c.protocol} ${c.dst.ip}:${c.dst.port} ${c.service?.name} #${'attempt' in c ? c.attempt : '-'}`);
      return response;
    },
  });
  dp.setServices([{ namespace: 'default', name: 'empty', clusterIP: '127.96.0.3', ports: [{ protocol: 'TCP', port: 80, backends: [] }] }]);
  const refused = run(client, tcpProbe, ['127.96.0.3:80:0', '127.96.0.3:81:0']);
  await refused.exited;
  t.match(refused.output(), /127\.96\.0\.3:80 error ECONNREFUSED/);
  t.match(refused.output(), /127\.96\.0\.3:81 error ECONNREFUSED/, 'a port the Service does not have is no backend question');
  t.same(seen, ['TCP 127.96.0.3:80 empty #1']);
  seen.length = 0;
  response = 'drop';
  const dropped = run(client, tcpProbe, ['127.96.0.3:80:0']);
  const [line] = await dropped.waitFor(/127\.96\.0\.3:80 error .*/);
  t.match(line, /ETIMEDOUT/, 'the client retransmits, then times out');
  t.same(seen, ['TCP 127.96.0.3:80 empty #1', 'TCP 127.96.0.3:80 empty #2', 'TCP 127.96.0.3:80 empty #3']);
});

t.test('reject and a port nothing listens on both give ECONNREFUSED at once', async (t) => {
  const refused: string[] = [];
  dp.setHooks({
    onConnect: (c) => (c.dst.port === 80 ? 'reject' : 'allow'),
    onRefused: (c, reason) => refused.push(`${c.dst.port} ${reason}`),
  });
  const probe = run(client, tcpProbe, ['127.244.1.10:80', '127.244.1.10:81']);
  await probe.exited;
  t.match(probe.output(), /127\.244\.1\.10:80 error ECONNREFUSED connect ECONNREFUSED 127\.244\.1\.10:80/);
  t.match(probe.output(), /127\.244\.1\.10:81 error ECONNREFUSED connect ECONNREFUSED 127\.244\.1\.10:81/);
  t.same(refused.sort(), ['80 rejected', '81 no-listener']);
});

t.test('UDP between pods and through a Service: replies come back from the address the client used', async (t) => {
  dp.setServices([
    { namespace: 'default', name: 'echo', clusterIP: '127.96.7.7', ports: [{ protocol: 'UDP', port: 7, backends: [{ ip: '127.244.1.10', port: 5353 }] }] },
  ]);
  await run(
    server,
    `
    import dgram from 'node:dgram';
    const s = dgram.createSocket('udp4');
    s.on('message', (msg, rinfo) => s.send('echo ' + msg + ' from ' + rinfo.address + ':' + rinfo.port, rinfo.port, rinfo.address));
    s.bind(5353, () => console.log('bound ' + JSON.stringify(s.address())));
  `,
  ).waitFor(/bound .*"port":5353/);
  // Two sockets: one flow to the pod and one to the Service, as their replies would otherwise share a tuple.
  const c = run(
    client,
    `
    import dgram from 'node:dgram';
    for (const [text, port, host] of [['direct', 5353, '127.244.1.10'], ['via-service', 7, '127.96.7.7']]) {
      const s = dgram.createSocket('udp4');
      s.on('message', (msg, rinfo) => {
        console.log('got "' + msg + '" from ' + rinfo.address + ':' + rinfo.port);
        s.close();
      });
      s.send(text, port, host);
    }
  `,
  );
  await c.exited;
  t.match(c.output(), /got "echo direct from 127\.244\.2\.20:\d+" from 127\.244\.1\.10:5353/);
  t.match(c.output(), /got "echo via-service from 127\.244\.2\.20:\d+" from 127\.96\.7\.7:7/, 'the reply appears to come from the ClusterIP');
});

t.test("a port is a pod's own: EADDRINUSE twice, loopback only from inside the pod", async (t) => {
  const pod = attach(dp, '127.244.1.77', 'pod');
  t.teardown(() => pod.close());
  const p = run(
    pod,
    `
    import net from 'node:net';
    const a = net.createServer((s) => s.end('hi ' + s.remoteAddress + '\\n')).listen(9000, '127.0.0.1', () => {
      console.log('a listening');
      net.createServer().listen(9000).on('error', (e) => console.log('b ' + e.code));
      const c = net.connect(9000, 'localhost');
      c.on('data', (d) => console.log('loopback said ' + d.toString().trim()));
    });
  `,
  );
  await p.waitFor(/b EADDRINUSE/);
  t.match((await p.waitFor(/loopback said .*/))[0], 'loopback said hi 127.0.0.1');
  t.same(dp.ports('127.244.1.77'), [{ ip: '127.244.1.77', protocol: 'TCP', port: 9000, loopback: true }]);
  const probe = run(client, tcpProbe, ['127.244.1.77:9000', '127.0.0.1:9000']);
  await probe.exited;
  t.match(probe.output(), /127\.244\.1\.77:9000 error ECONNREFUSED/, 'a port bound to 127.0.0.1 is not reachable from another pod');
  t.match(probe.output(), /127\.0\.0\.1:9000 error ECONNREFUSED/, "another pod's 127.0.0.1 is its own");
});

t.test('a port the sim already serves can be exposed on a node IP, e.g. the API server', async (t) => {
  const api = http.createServer((req, res) => res.end(`api saw ${req.socket.remoteAddress}`));
  api.listen(0, '127.0.0.1');
  await once(api, 'listening');
  const node = dp.attachPod({
    ip: '127.18.0.2',
    namespace: 'kube-system',
    name: 'kube-apiserver-sim-control-plane',
    uid: 'apiserver',
    nodeName: 'sim-control-plane',
    labels: {},
    hostNetwork: true,
  });
  const withdraw = node.expose(6443, (api.address() as net.AddressInfo).port);
  t.teardown(() => {
    node.close();
    api.close();
  });
  dp.setServices([
    {
      namespace: 'default',
      name: 'kubernetes',
      clusterIP: '127.96.0.1',
      ports: [{ name: 'https', protocol: 'TCP', port: 443, backends: [{ ip: '127.18.0.2', port: 6443 }] }],
    },
  ]);
  const c = run(client, httpClient, ['http://127.96.0.1:443/']);
  await c.exited;
  t.match(c.output(), 'GET http://127.96.0.1:443/ 200 api saw 127.0.0.1');
  t.equal(dp.endpoint('127.18.0.2'), undefined, 'a host-network pod has no endpoint of its own');
  withdraw();
  t.same(dp.ports('127.18.0.2'), []);
});

t.test('dial reaches a pod port as from inside the pod; processes end when the datapath goes away', async (t) => {
  const own = await createDatapath();
  const pod = attach(own, '127.244.1.10', 'server');
  const srv = runInPod(pod, httpServer);
  t.teardown(() => srv.child.kill('SIGKILL'));
  await srv.waitFor(/listening/);
  const socket = await pod.dial(80);
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  let text = '';
  for await (const chunk of socket) text += chunk;
  t.match(text, /"remote":"127\.0\.0\.1"/, "a port-forward connection comes from the pod's loopback");
  await t.rejects(pod.dial(81), { code: 'ECONNREFUSED' });
  await own.close();
  const code = await within(srv.exited, 3000, 'still running');
  t.not(code, 'still running', 'the pod process exited');
});
