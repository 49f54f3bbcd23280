// Watch streams: initial ADDED events, resume from a resourceVersion (410 when too old), selector transitions, bookmarks, timeouts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gone } from './errors.ts';
import { apiVersionOf, type ResourceInfo } from './resources.ts';
import type { FieldMatcher, LabelMatcher } from './selectors.ts';
import type { KObject, Store, StoreEvent } from './store.ts';

export interface WatchOptions {
  namespace: string;
  resourceVersion: string | undefined;
  labels: LabelMatcher;
  fields: FieldMatcher;
  bookmarks: boolean;
  sendInitialEvents: boolean | undefined;
  timeoutSeconds: number | undefined;
  /** Turns an object into what the client asked for (the object itself, or a Table). */
  render: (obj: KObject) => unknown;
  bookmarkIntervalMs?: number;
}

const DEFAULT_TIMEOUT_SECONDS = 1800;

export function serveWatch(req: IncomingMessage, res: ServerResponse, store: Store, info: ResourceInfo, opts: WatchOptions): void {
  const inScope = (obj: KObject) =>
    (!opts.namespace || !info.namespaced || obj.metadata.namespace === opts.namespace) && opts.labels(obj.metadata.labels) && opts.fields(obj);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  // Clients wait for the headers before they read events; send them now, not with the first event.
  res.flushHeaders();
  const write = (type: string, object: unknown) => {
    if (!res.writableEnded) res.write(JSON.stringify({ type, object }) + '\n');
  };
  const send = (ev: StoreEvent) => {
    const now = inScope(ev.object);
    const before = ev.old ? inScope(ev.old) : false;
    if (ev.type === 'ADDED') {
      if (now) write('ADDED', opts.render(ev.object));
    } else if (ev.type === 'DELETED') {
      if (before || now) write('DELETED', opts.render(ev.object));
    } else if (now && before) write('MODIFIED', opts.render(ev.object));
    else if (now) write('ADDED', opts.render(ev.object));
    else if (before) write('DELETED', opts.render(ev.object));
  };
  const bookmark = (annotations?: Record<string, string>) => {
    const metadata: Record<string, unknown> = { resourceVersion: String(store.resourceVersion) };
    if (annotations) metadata.annotations = annotations;
    write('BOOKMARK', { kind: info.kind, apiVersion: apiVersionOf(info), metadata });
  };

  const rv = opts.resourceVersion;
  const fromScratch = rv === undefined || rv === '' || rv === '0' || opts.sendInitialEvents === true;
  if (fromScratch) {
    for (const obj of store.list(info, opts.namespace || undefined)) if (inScope(obj)) write('ADDED', opts.render(obj));
    if (opts.sendInitialEvents && opts.bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    const n = Number(rv);
    const events = Number.isFinite(n) ? store.eventsSince(n) : 'gone';
    if (events === 'gone') {
      write('ERROR', gone(`too old resource version: ${rv} (${store.oldestResumable})`).status);
      res.end();
      return;
    }
    for (const ev of events) if (ev.res === info) send(ev);
  }
  const unsubscribe = store.subscribe((ev) => {
    if (ev.res === info) send(ev);
  });
  const ticker = opts.bookmarks ? setInterval(() => bookmark(), opts.bookmarkIntervalMs ?? 15_000) : undefined;
  const timeout = setTimeout(() => res.end(), (opts.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000);
  const stop = () => {
    unsubscribe();
    if (ticker) clearInterval(ticker);
    clearTimeout(timeout);
  };
  res.on('close', stop);
  req.on('close', stop);
}
