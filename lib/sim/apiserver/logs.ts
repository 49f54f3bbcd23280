// GET pods/{name}/log: the container's output from the pod runtime, with container choice, tailLines and follow.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RunningPod } from '../runtime/types.ts';
import { badRequest } from './errors.ts';
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
  const status = (pod.status?.containerStatuses ?? []).find((c: any) => c.name === container);
  if (!running || !status || (status.state?.waiting && (status.restartCount ?? 0) === 0)) {
    const reason = status?.state?.waiting?.reason ?? 'ContainerCreating';
    throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${reason}`);
  }
  const follow = query.get('follow') === 'true' || query.get('follow') === '1';
  const tail = query.get('tailLines');
  const abort = new AbortController();
  const stop = () => abort.abort();
  res.on('close', stop);
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  try {
    const opts = { container, follow, signal: abort.signal, ...(tail !== null ? { tailLines: Number(tail) } : {}) };
    for await (const line of running.logs(opts)) {
      if (res.writableEnded || abort.signal.aborted) break;
      res.write(line.endsWith('\n') ? line : `${line}\n`);
    }
  } catch (err) {
    if (!abort.signal.aborted) res.write(`error reading the log: ${err instanceof Error ? err.message : String(err)}\n`);
  } finally {
    res.off('close', stop);
    if (!res.writableEnded) res.end();
  }
}
