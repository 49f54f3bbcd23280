// The agent's Hubble metrics endpoint (hubble-metrics-server): GET /metrics in Prometheus' text format, or
// OpenMetrics when enabled and the scraper's Accept header asks for it, as promhttp negotiates.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { HubbleMetrics } from './metrics.ts';
import { openMetricsContentType, textContentType } from './metrics-registry.ts';

export interface MetricsServer {
  /** The real 127.0.0.1 port (outside the pod network). */
  port: number;
  close(): Promise<void>;
}

function wantsOpenMetrics(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => part.trim().toLowerCase().startsWith('application/openmetrics-text'));
}

export async function startMetricsServer(metrics: HubbleMetrics, opts: { openMetrics: boolean }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    const om = opts.openMetrics && wantsOpenMetrics(req.headers.accept);
    const body = metrics.render(om);
    res.writeHead(200, { 'Content-Type': om ? openMetricsContentType : textContentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
