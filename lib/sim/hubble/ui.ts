// Hubble UI in the sim: follows Relay (FLOWS_API_ADDR) for flows and serves the service map page and its JSON
// on the UI pod's port.
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { connectObserver, type ObserverClient } from '../../hubble/client.ts';
import type { GetFlowsRequest } from '../../flows/types.ts';
import { localForward, type LocalForward } from './forward.ts';
import { resumeRequest } from './relay-source.ts';
import { ServiceMap } from './ui-map.ts';
import { renderPage, type RelayState } from './ui-page.ts';

export interface HubbleUiOptions {
  /** FLOWS_API_ADDR: Relay's host:port as the pod reaches it (hubble-relay:80). */
  relayAddress: string;
  /** Opens a TCP stream from the UI pod. */
  dial(host: string, port: number): Promise<Duplex>;
  /** Serves a TCP server on the UI pod's port. */
  listen(server: net.Server, port: number): Promise<number>;
  /** Pod port of the page (8081). */
  port?: number;
  /** Flows per node read on connecting, before following. */
  initialFlows?: number;
  /** Longest wait between attempts to reach Relay. */
  maxBackoffMs?: number;
  log?(line: string): void;
}

export interface HubbleUi {
  readonly map: ServiceMap;
  relay(): RelayState;
  stop(): Promise<void>;
}

function splitAddress(address: string): { host: string; port: number } {
  const m = /^(.*?)(?::(\d+))?$/.exec(address.trim())!;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 80 };
}

export async function startHubbleUi(opts: HubbleUiOptions): Promise<HubbleUi> {
  const log = opts.log ?? (() => {});
  const map = new ServiceMap();
  const state: RelayState = { address: opts.relayAddress, connected: false, nodes: [] };
  const target = splitAddress(opts.relayAddress);
  const stop = new AbortController();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hubble-ui');
    const namespace = url.searchParams.get('namespace') || undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    } else if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(renderPage(map.snapshot(namespace), state));
    } else if (url.pathname === '/api/service-map') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify({ relay: state, ...map.snapshot(namespace) }));
    } else if (url.pathname === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok\n');
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
    }
  });
  await opts.listen(server, opts.port ?? 8081);

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      stop.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });

  const follow = async () => {
    const request: GetFlowsRequest = { number: opts.initialFlows ?? 10_000, follow: true };
    let lastTime: string | undefined;
    let backoff = 250;
    while (!stop.signal.aborted) {
      let forward: LocalForward | undefined;
      let client: ObserverClient | undefined;
      try {
        forward = await localForward(() => opts.dial(target.host, target.port));
        client = await connectObserver(forward.address, { what: `Hubble Relay at ${opts.relayAddress}`, dialTimeoutMs: 5000 });
        Object.assign(state, { connected: true, error: undefined });
        backoff = 250;
        for await (const r of client.getFlows(resumeRequest(request, lastTime), { signal: stop.signal })) {
          if (r.flow) {
            map.add(r.flow);
            lastTime = r.flow.time ?? lastTime;
          } else if (r.node_status?.state_change === 'NODE_CONNECTED') {
            state.nodes = [...new Set([...state.nodes, ...(r.node_status.node_names ?? [])])].sort();
          } else if (r.node_status) {
            const gone = new Set(r.node_status.node_names ?? []);
            state.nodes = state.nodes.filter((n) => !gone.has(n));
          }
        }
        if (!stop.signal.aborted) state.error = 'Relay ended the flow stream';
      } catch (err) {
        if (!stop.signal.aborted) {
          state.error = err instanceof Error ? err.message : String(err);
          log(`level=error msg="flow stream from Relay failed" error="${state.error}"`);
        }
      } finally {
        client?.close();
        await forward?.close();
        Object.assign(state, { connected: false, nodes: [] });
      }
      await sleep(backoff);
      backoff = Math.min(backoff * 2, opts.maxBackoffMs ?? 5000);
    }
  };
  const following = follow();

  return {
    map,
    relay: () => ({ ...state, nodes: [...state.nodes] }),
    async stop() {
      stop.abort();
      await following;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
