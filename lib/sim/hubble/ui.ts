// Hubble UI in the sim: follows Relay (FLOWS_API_ADDR) for flows and serves, on the UI pod's port, the page, the
// service map (JSON and SVG) and the latest flows, each narrowed by the UI's filters.
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { connectObserver, type ObserverClient } from '../../hubble/client.ts';
import type { GetFlowsRequest } from '../../flows/types.ts';
import { localForward, type LocalForward } from './forward.ts';
import { resumeRequest } from './relay-source.ts';
import { ServiceMap } from './ui-map.ts';
import { renderPage, svg, type RelayState } from './ui-page.ts';
import { FilterError, FlowLog, parseUiFilter, type UiFilter } from './ui-flows.ts';

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

  const flowLog = new FlowLog();
  /** The map for a view: all flows since start by namespace, or the kept flows that pass the filters. */
  const mapFor = (filter: UiFilter) => {
    if (!filter.verdict && filter.entries.length === 0) return map.snapshot(filter.namespace);
    const filtered = new ServiceMap();
    // A chosen edge narrows the flow list, not the map it was chosen on.
    const { edge: _edge, ...rest } = filter;
    for (const flow of flowLog.flows(rest)) filtered.add(flow);
    return filtered.snapshot(filter.namespace);
  };
  const json = (res: http.ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(body));

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hubble-ui');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    let filter: UiFilter;
    try {
      filter = parseUiFilter(url.searchParams);
    } catch (err) {
      if (!(err instanceof FilterError)) throw err;
      json(res, 400, { error: err.message });
      return;
    }
    if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(renderPage(mapFor(filter), state));
    } else if (url.pathname === '/api/service-map') {
      json(res, 200, { relay: state, ...mapFor(filter) });
    } else if (url.pathname === '/api/map.svg') {
      const snapshot = mapFor(filter);
      res
        .writeHead(200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'no-store' })
        .end(snapshot.edges.length ? svg(snapshot) : '<p>No flows match.</p>');
    } else if (url.pathname === '/api/flows') {
      const after = Number(url.searchParams.get('after') ?? 0);
      if (!Number.isInteger(after) || after < 0) {
        json(res, 400, { error: `after "${url.searchParams.get('after')}": expected a flow number (0 for the latest)` });
        return;
      }
      json(res, 200, { rows: flowLog.rows(after, filter), last: flowLog.last });
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
      stop.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
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
            flowLog.add(r.flow);
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
