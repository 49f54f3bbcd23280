// Readiness and liveness probes as the kubelet runs them: httpGet and tcpSocket from the node to the pod's port.
import http from 'node:http';
import type { PodNetwork } from '../net/datapath.ts';

export interface ProbeTargets {
  net: PodNetwork;
  container: Record<string, any>;
  /** Is the container running (probes only run then)? */
  running(): boolean;
  setReady(ready: boolean): void;
  /** Liveness failed failureThreshold times in a row. */
  onLivenessFailure(): void;
}

const kubeletUserAgent = 'kube-probe/1.32';

function resolvePort(container: Record<string, any>, port: unknown): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  const named = ((container.ports ?? []) as Record<string, any>[]).find((p) => p.name === port);
  return named ? Number(named.containerPort) : undefined;
}

/** One probe attempt: true on success (HTTP 200–399, or a TCP connection). exec and other kinds pass. */
export async function probeOnce(net: PodNetwork, container: Record<string, any>, probe: Record<string, any>): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  const check = probe.httpGet ?? probe.tcpSocket ?? probe.grpc;
  if (!check) return true;
  const port = resolvePort(container, check.port);
  if (port === undefined) return false;
  const socket = await net.dial(port, { from: 'node' }).catch(() => undefined);
  if (!socket) return false;
  if (!probe.httpGet) {
    socket.destroy();
    return true;
  }
  return new Promise<boolean>((resolve) => {
    const headers: Record<string, string> = { 'User-Agent': kubeletUserAgent, Accept: '*/*', Connection: 'close' };
    for (const h of (probe.httpGet.httpHeaders ?? []) as { name: string; value: string }[]) headers[h.name] = h.value;
    const req = http.request({
      createConnection: () => socket,
      method: 'GET',
      path: probe.httpGet.path ?? '/',
      headers: { Host: `${net.info.ip}:${port}`, ...headers },
      timeout: timeoutMs,
    });
    req.on('response', (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Runs the container's readiness and liveness probes until the returned function is called. */
export function startProbes(t: ProbeTargets): () => void {
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  const run = (probe: Record<string, any>, onResult: (ok: boolean) => void) => {
    const period = (probe.periodSeconds ?? 10) * 1000;
    let busy = false;
    let begun = false;
    const tick = async () => {
      if (stopped || busy || !begun || !t.running()) return;
      busy = true;
      const ok = await probeOnce(t.net, t.container, probe);
      busy = false;
      if (!stopped) onResult(ok);
    };
    timers.push(
      setTimeout(
        () => {
          begun = true;
          void tick();
          timers.push(setInterval(() => void tick(), period));
        },
        (probe.initialDelaySeconds ?? 0) * 1000,
      ),
    );
    return tick;
  };
  let unwatch = () => {};
  const readiness = t.container.readinessProbe;
  if (readiness) {
    let ok = 0;
    let failed = 0;
    let ready = false;
    const tick = run(readiness, (success) => {
      ok = success ? ok + 1 : 0;
      failed = success ? 0 : failed + 1;
      if (!ready && ok >= (readiness.successThreshold ?? 1)) ready = true;
      if (ready && failed >= (readiness.failureThreshold ?? 3)) ready = false;
      t.setReady(ready);
    });
    // A port opening is the moment a not-yet-ready server is most likely to pass: probe then instead of a period later.
    unwatch = t.net.onPortsChanged(() => {
      if (!ready) setTimeout(() => void tick(), 0);
    });
  }
  const liveness = t.container.livenessProbe;
  if (liveness) {
    let failed = 0;
    run(liveness, (success) => {
      failed = success ? 0 : failed + 1;
      if (failed >= (liveness.failureThreshold ?? 3)) {
        failed = 0;
        t.onLivenessFailure();
      }
    });
  }
  return () => {
    stopped = true;
    unwatch();
    for (const timer of timers) clearTimeout(timer);
  };
}
