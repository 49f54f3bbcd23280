// GET pods/{name}/log: the container's output from the pod runtime, with container choice, tailLines and follow.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RunningPod } from '../runtime/types.ts';
import { ApiError, badRequest } from './errors.ts';
import type { KObject } from './store.ts';

/** Finds the running (or finished) pod behind a Pod object; the kubelet provides it. */
export type PodLogSource = (namespace: string, name: string, uid: string) => RunningPod | undefined;

export async function servePodLog(req: IncomingMessage, res: ServerResponse, pod: KObject, query: URLSearchParams, source: PodLogSource): Promise<void> {
  const name = pod.metadata.name!;
  const containers: string[] = (pod.spec?.containers ?? []).map((c: any) => c.name);
  let container = query.get('container') ?? '';
  if (!container) {
    if (containers.length !== 1) {
      throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
    }
    container = containers[0]!;
  } else if (!containers.includes(container)) {
    throw badRequest(`container ${container} is not valid for pod ${name}`);
  }
  const running = source(pod.metadata.namespace ?? '', name, pod.metadata.uid ?? '');
  if (!running) {
    const status = (pod.status?.containerStatuses ?? []).find((c: any) => c.name === container);
    const reason = status?.state?.waiting?.reason ?? 'ContainerCreating';
    throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${reason}`);
  }
  const follow = query.get('follow') === 'true' || query.get('follow') === '1';
  const tail = query.get('tailLines');
  const since = query.get('sinceSeconds');
  const sinceTime = query.get('sinceTime');
  const abort = new AbortController();
  const stop = () => abort.abort();
  res.on('close', stop);
  const it = running
    .logs({
      container,
      follow,
      signal: abort.signal,
      timestamps: query.get('timestamps') === 'true',
      previous: query.get('previous') === 'true',
      ...(tail !== null ? { tailLines: Number(tail) } : {}),
      ...(since !== null ? { sinceSeconds: Number(since) } : {}),
      ...(sinceTime !== null ? { sinceTime } : {}),
    })
    [Symbol.asyncIterator]();
  // The runtime refuses logs of containers that never started with Kubernetes' message: answer that as a Status,
  // which needs the first line (or a short wait for a follow with nothing yet) before the headers go out.
  const first = it.next();
  const early = await Promise.race([first.then(() => 'line' as const), new Promise<'wait'>((r) => setTimeout(() => r('wait'), 200).unref())]).catch(
    (err: unknown) => {
      res.off('close', stop);
      const code = (err as { code?: unknown }).code;
      if (code === 400 || code === 404) throw new ApiError(code, code === 404 ? 'NotFound' : 'BadRequest', (err as Error).message);
      throw err;
    },
  );
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  // Clients wait for the headers before they read lines; send them now, not with the first line.
  if (early === 'wait') res.flushHeaders();
  try {
    for (let r = await first; !r.done; r = await it.next()) {
      if (res.writableEnded || abort.signal.aborted) break;
      res.write(`${r.value}\n`);
    }
  } catch (err) {
    if (!abort.signal.aborted) res.write(`error reading the log: ${err instanceof Error ? err.message : String(err)}\n`);
  } finally {
    res.off('close', stop);
    await it.return?.();
    if (!res.writableEnded) res.end();
  }
}
