// The CoreDNS image (kube-dns pods): answers cluster.local on the pod's port 53 (UDP and TCP) from the datapath's Service
// and pod tables, and serves CoreDNS's /health (8080) and /ready (8181) for the Deployment's probes.
import http from 'node:http';
import net from 'node:net';
import { ClusterZone } from '../../dns/zone.ts';
import { answerQuery, tcpConnectionHandler } from '../../dns/server.ts';
import type { Datapath } from '../../net/datapath.ts';
import type { ContainerContext, ContainerProcess, ImageHandler } from '../images.ts';

/** A zone kept in step with the datapath's tables. */
function liveZone(datapath: Datapath): { zone: ClusterZone; close(): void } {
  const zone = new ClusterZone();
  const update = () =>
    zone.update(
      datapath.services.list().map((s) => ({
        name: s.name,
        namespace: s.namespace,
        clusterIP: s.clusterIP ?? 'None',
        ports: s.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol })),
        endpoints: [...new Set(s.ports.flatMap((p) => p.backends.map((b) => b.ip)))],
      })),
      datapath.endpoints().map((e) => ({ ip: e.ip, namespace: e.namespace })),
    );
  update();
  return { zone, close: datapath.onChange(update) };
}

function okServer(path: string): http.Server {
  return http.createServer((req, res) => {
    const found = req.url === path;
    res.writeHead(found ? 200 : 404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(found ? 'OK' : '404 page not found\n');
  });
}

export function corednsImage(datapath: Datapath): ImageHandler {
  return async (ctx: ContainerContext): Promise<ContainerProcess> => {
    const { zone, close } = liveZone(datapath);
    const stopUdp = ctx.net.listenUdp(53, (payload, _from, reply) => {
      const answer = answerQuery(zone, payload);
      if (answer) reply(answer);
    });
    const tcp = net.createServer(tcpConnectionHandler(zone));
    await ctx.net.listen(tcp, 53);
    const health = okServer('/health');
    const ready = okServer('/ready');
    await ctx.net.listen(health, 8080);
    await ctx.net.listen(ready, 8181);
    for (const line of [
      '.:53',
      '[INFO] plugin/reload: Running configuration SHA512 = 1b226df79860026c6a52e67daa10d7f0d57ec5b023288ec00c5e05f93523c894564e15b91770d3a07ae1cfbe861d15b37d4a0027e69c546ab112970993a3b03b',
      'CoreDNS-1.11.3',
      `linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}, go1.21.11, a6338e9`,
    ])
      ctx.log(line);
    return {
      stop: async () => {
        stopUdp();
        close();
        await Promise.all([tcp, health, ready].map((s) => new Promise<void>((r) => s.close(() => r()))));
      },
    };
  };
}
