// Test helpers for the pod runtime: a cluster view from plain maps, pod specs, and waiting for container states.
import type { ContainerStatusUpdate, PodSpecForRuntime, RunningPod, RuntimeClusterView } from '../../../lib/sim/runtime/types.ts';

export class FakeCluster implements RuntimeClusterView {
  readonly configMaps = new Map<string, Record<string, string>>();
  readonly secrets = new Map<string, Record<string, string>>();
  configMap(namespace: string, name: string) {
    return this.configMaps.get(`${namespace}/${name}`);
  }
  secret(namespace: string, name: string) {
    return this.secrets.get(`${namespace}/${name}`);
  }
}

let uid = 0;

/** A pod spec as the kubelet controller hands it over: metadata, spec, and the IP it was given. */
export function podSpec(
  name: string,
  podIP: string,
  spec: Record<string, any>,
  opts: { namespace?: string; labels?: Record<string, string> } = {},
): PodSpecForRuntime {
  const namespace = opts.namespace ?? 'default';
  const labels = opts.labels ?? { app: name };
  const nodeName = `sim-worker${podIP.split('.')[2] === '0' ? '' : podIP.split('.')[2]}`;
  const id = `00000000-0000-4000-8000-${String(++uid).padStart(12, '0')}`;
  return {
    namespace,
    name,
    uid: id,
    nodeName,
    podIP,
    labels,
    pod: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, uid: id, labels },
      spec: { nodeName, ...spec },
      status: { podIP, hostIP: '127.18.0.3' },
    },
  };
}

/** Resolves with the statuses once pred holds (checked now and on every change); rejects after timeoutMs. */
export function waitForStatus(pod: RunningPod, pred: (s: ContainerStatusUpdate[]) => boolean, timeoutMs = 5000): Promise<ContainerStatusUpdate[]> {
  return new Promise((resolve, reject) => {
    const check = (s: ContainerStatusUpdate[]) => {
      if (!pred(s)) return;
      clearTimeout(timer);
      off();
      resolve(s);
    };
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out; statuses: ${JSON.stringify(pod.containerStatuses())}`));
    }, timeoutMs);
    const off = pod.onStatus(check);
    check(pod.containerStatuses());
  });
}

export const terminated = (s: ContainerStatusUpdate[]) => s.every((c) => c.state.state === 'terminated');
export const ready = (s: ContainerStatusUpdate[]) => s.every((c) => c.ready);

export async function logLines(pod: RunningPod, opts: Parameters<RunningPod['logs']>[0] = {}): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of pod.logs(opts)) lines.push(line);
  return lines;
}
