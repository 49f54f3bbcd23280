// Cluster DNS answers real queries over UDP and TCP: Services, headless endpoints, SRV, pods, NXDOMAIN, bad packets.
import t from 'tap';
import { Resolver } from 'node:dns/promises';
import { createSocket } from 'node:dgram';
import { ClusterZone } from '../../../lib/sim/dns/zone.ts';
import { startDnsServer } from '../../../lib/sim/dns/server.ts';
import { decodeMessage, query, rrType } from '../../../lib/sim/dns/wire.ts';

const zone = new ClusterZone();
zone.update(
  [
    { name: 'llm-service', namespace: 'genai-network-demo', clusterIP: '127.96.0.42', ports: [{ name: 'http', port: 80 }], endpoints: ['127.244.1.9'] },
    { name: 'kube-dns', namespace: 'kube-system', clusterIP: '127.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }], endpoints: [] },
    { name: 'peers', namespace: 'default', clusterIP: 'None', ports: [], endpoints: ['127.244.1.3', '127.244.2.4'] },
  ],
  [{ ip: '127.244.2.4', namespace: 'default' }],
);

t.test('node:dns resolves cluster names against the server (UDP)', async (t) => {
  const server = await startDnsServer(zone);
  t.teardown(() => server.close());
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${server.udpPort}`]);
  t.same(await resolver.resolve4('llm-service.genai-network-demo.svc.cluster.local'), ['127.96.0.42']);
  t.same((await resolver.resolve4('peers.default.svc.cluster.local')).sort(), ['127.244.1.3', '127.244.2.4']);
  t.same(await resolver.resolve4('127-244-2-4.default.pod.cluster.local'), ['127.244.2.4']);
  t.same(await resolver.resolveSrv('_http._tcp.llm-service.genai-network-demo.svc.cluster.local'), [
    { name: 'llm-service.genai-network-demo.svc.cluster.local', port: 80, priority: 0, weight: 100 },
  ]);
  await t.rejects(resolver.resolve4('nope.genai-network-demo.svc.cluster.local'), { code: 'ENOTFOUND' });
  await t.rejects(resolver.resolve4('api.openai.com'), { code: 'ENOTFOUND' });
  await t.rejects(resolver.resolve6('llm-service.genai-network-demo.svc.cluster.local'), { code: 'ENODATA' });
});

t.test('TCP framing answers several queries on one connection', async (t) => {
  const server = await startDnsServer(zone);
  t.teardown(() => server.close());
  const { connect } = await import('node:net');
  const socket = connect(server.tcpPort, '127.0.0.1');
  const frames = [query(1, 'kube-dns.kube-system.svc.cluster.local', rrType.A), query(2, 'llm-service.genai-network-demo.svc.cluster.local', rrType.A)];
  for (const f of frames) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(f.length);
    socket.write(Buffer.concat([len, f]));
  }
  const replies: Buffer[] = [];
  let buf = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (replies.length === 2) resolve();
    });
  });
  socket.destroy();
  const [a, b] = replies.map(decodeMessage);
  t.equal(a!.id, 1);
  t.same(
    a!.answers.map((x) => x.data),
    ['127.96.0.10'],
  );
  t.equal(b!.id, 2);
  t.same(
    b!.answers.map((x) => [x.name, x.ttl, x.data]),
    [['llm-service.genai-network-demo.svc.cluster.local.', 30, '127.96.0.42']],
  );
});

t.test('a malformed packet gets FORMERR with its id, and the server keeps serving', async (t) => {
  const server = await startDnsServer(zone);
  t.teardown(() => server.close());
  const udp = createSocket('udp4');
  t.teardown(() => udp.close());
  const reply = await new Promise<Buffer>((resolve) => {
    udp.once('message', resolve);
    udp.send(Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x05, 0x61]), server.udpPort, '127.0.0.1');
  });
  const msg = decodeMessage(reply);
  t.equal(msg.id, 0x1234);
  t.equal(msg.rcode, 1);
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${server.udpPort}`]);
  t.same(await resolver.resolve4('kube-dns.kube-system.svc.cluster.local'), ['127.96.0.10']);
});
