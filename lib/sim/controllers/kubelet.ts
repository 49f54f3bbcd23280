// Kubelet: gives scheduled pods their IPs, starts them in the pod runtime, mirrors container states into pod status, stops deleted pods.
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { R } from '../apiserver/resources.ts';
import { timestamp } from '../apiserver/names.ts';
import type { KObject } from '../apiserver/store.ts';
import type { ContainerStatusUpdate, PodRuntime, RunningPod, RuntimeClusterView } from '../runtime/types.ts';
import { is, keyOf, splitKey, type Controller, type ControllerContext } from './manager.ts';
import { setCondition, type Condition } from './podutil.ts';

const SOURCE = 'kubelet';

interface PodState {
  uid: string;
  node: string;
  ipOctet?: number;
  running?: RunningPod;
  unsubscribe?: () => void;
  /** Last state reported per container, to record Events on changes only. */
  seen: Map<string, string>;
  terminating?: boolean;
}

function hex(text: string, n = 64): string {
  return createHash('sha256').update(text).digest('hex').slice(0, n);
}

function normalizedImage(image: string): string {
  const first = image.split('/')[0]!;
  const hasRegistry = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const repo = hasRegistry ? image : `docker.io/${image.includes('/') ? image : `library/${image}`}`;
  return repo.replace(/[:@][^/]*$/, '');
}

/** The node's index from its podCIDR 127.244.<i>.0/24. */
export function nodeIndex(node: KObject | undefined): number | undefined {
  const m = /^127\.244\.(\d+)\.0\/24$/.exec(node?.spec?.podCIDR ?? '');
  return m ? Number(m[1]) : undefined;
}

export function internalIP(node: KObject | undefined): string | undefined {
  return (node?.status?.addresses ?? []).find((a: any) => a.type === 'InternalIP')?.address;
}

/** How long a forced stop may take before the kubelet moves on (the runtime's shutdown kills what is left). */
const STOP_BOUND_MS = 5000;

async function boundedStop(running: RunningPod, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), STOP_BOUND_MS)));
  const result = await Promise.race([running.stop(0).then(() => 'ok' as const), late]);
  clearTimeout(timer);
  if (result === 'late') process.emitWarning(`sim kubelet: pod ${what} did not stop within ${STOP_BOUND_MS / 1000}s`);
}

export class Kubelet implements Controller {
  readonly name = 'kubelet';
  private readonly states = new Map<string, PodState>();
  private readonly usedOctets = new Map<string, Set<number>>();
  private enqueue: (key: string) => void = () => {};
  private readonly view: RuntimeClusterView;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly runtime: PodRuntime,
  ) {
    const { store } = ctx;
    this.view = {
      configMap: (ns, name) => store.get(R.configmaps, ns, name)?.data,
      secret: (ns, name) => {
        const s = store.get(R.secrets, ns, name);
        if (!s) return undefined;
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries((s.data ?? {}) as Record<string, string>)) out[k] = Buffer.from(v, 'base64').toString('utf8');
        for (const [k, v] of Object.entries((s.stringData ?? {}) as Record<string, string>)) out[k] = v;
        return out;
      },
    };
  }

  attach(enqueue: (key: string) => void): void {
    this.enqueue = enqueue;
  }

  keysFor(ev: Parameters<Controller['keysFor']>[0]): string[] {
    if (!is(ev, R.pods)) return [];
    return ev.object.spec?.nodeName || this.states.has(keyOf(ev.object)) ? [keyOf(ev.object)] : [];
  }

  initialKeys(): string[] {
    return this.ctx.store
      .list(R.pods)
      .filter((p) => p.spec?.nodeName)
      .map(keyOf);
  }

  /** The running pod behind a Pod object (kept after it finishes, for its logs). */
  running(namespace: string, name: string, uid?: string): RunningPod | undefined {
    const st = this.states.get(`${namespace}/${name}`);
    return st && (!uid || st.uid === uid) ? st.running : undefined;
  }

  async dial(namespace: string, name: string, port: number): Promise<Duplex> {
    const running = this.running(namespace, name);
    if (!running) throw new Error(`pod ${namespace}/${name} is not running`);
    return running.dial(port);
  }

  async reconcile(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const pod = this.ctx.store.get(R.pods, ns, name);
    let st = this.states.get(key);
    if (st && (!pod || pod.metadata.uid !== st.uid)) {
      await this.forget(key, st);
      st = undefined;
    }
    if (!pod || !pod.spec?.nodeName) return;
    if (pod.metadata.deletionTimestamp) {
      if (!st) {
        this.ctx.registry.purge(R.pods, pod);
        return;
      }
      if (st.terminating) return;
      st.terminating = true;
      for (const c of pod.spec.containers ?? []) {
        if (this.isRunning(st, c.name)) this.event(pod, 'Normal', 'Killing', `Stopping container ${c.name}`, c.name);
      }
      await st.running?.stop(pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30);
      const now = this.ctx.store.get(R.pods, ns, name);
      if (now && now.metadata.uid === st.uid) this.ctx.registry.purge(R.pods, now);
      await this.forget(key, st);
      return;
    }
    if (!st) {
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
      this.start(key, pod);
      return;
    }
    this.sync(key, pod, st);
  }

  private isRunning(st: PodState, container: string): boolean {
    return (st.running?.containerStatuses() ?? []).some((c) => c.name === container && c.state.state === 'running');
  }

  private event(pod: KObject, type: 'Normal' | 'Warning', reason: string, message: string, container?: string): void {
    this.ctx.events.record(
      pod,
      type,
      reason,
      message,
      { component: SOURCE, host: pod.spec?.nodeName },
      container ? `spec.containers{${container}}` : undefined,
    );
  }

  private allocate(node: KObject, hostNetwork: boolean): { ip: string; octet?: number } {
    const nodeIP = internalIP(node) ?? '127.0.0.1';
    const index = nodeIndex(node);
    if (hostNetwork || index === undefined) return { ip: nodeIP };
    const used = this.usedOctets.get(node.metadata.name!) ?? new Set<number>();
    this.usedOctets.set(node.metadata.name!, used);
    for (let o = 2; o < 255; o++) {
      if (!used.has(o)) {
        used.add(o);
        return { ip: `127.244.${index}.${o}`, octet: o };
      }
    }
    throw new Error(`node ${node.metadata.name} has no free pod IP in 127.244.${index}.0/24`);
  }

  private start(key: string, pod: KObject): void {
    const { store, registry } = this.ctx;
    const node = store.get(R.nodes, '', pod.spec.nodeName);
    if (!node) return;
    const hostIP = internalIP(node) ?? '127.0.0.1';
    const { ip, octet } = this.allocate(node, pod.spec.hostNetwork === true);
    const st: PodState = { uid: pod.metadata.uid!, node: pod.spec.nodeName, seen: new Map() };
    if (octet !== undefined) st.ipOctet = octet;
    this.states.set(key, st);
    const now = timestamp();
    const started = registry.mutate(
      R.pods,
      pod.metadata.namespace!,
      pod.metadata.name!,
      (o) => {
        o.status = {
          ...o.status,
          phase: 'Pending',
          hostIP,
          hostIPs: [{ ip: hostIP }],
          podIP: ip,
          podIPs: [{ ip }],
          startTime: now,
          containerStatuses: (o.spec.containers ?? []).map((c: any) => ({
            name: c.name,
            image: c.image,
            imageID: '',
            ready: false,
            restartCount: 0,
            started: false,
            state: { waiting: { reason: 'ContainerCreating' } },
            lastState: {},
          })),
        };
        o.status.conditions = this.conditions(o, 'Pending', false, true);
      },
      { subresource: 'status' },
    );
    try {
      st.running = this.runtime.start(
        {
          namespace: started.metadata.namespace!,
          name: started.metadata.name!,
          uid: st.uid,
          nodeName: st.node,
          podIP: ip,
          labels: started.metadata.labels ?? {},
          pod: started,
        },
        this.view,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.event(started, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${message}`);
      return;
    }
    st.unsubscribe = st.running.onStatus(() => this.enqueue(key));
    this.sync(key, started, st);
  }

  private conditions(pod: KObject, phase: string, ready: boolean, initialized: boolean, unready: string[] = []): Condition[] {
    let list: Condition[] = pod.status?.conditions ?? [];
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    list = setCondition(list, { type: 'PodReadyToStartContainers', status: terminal ? 'False' : 'True', lastProbeTime: null });
    list = setCondition(list, { type: 'Initialized', status: initialized ? 'True' : 'False', lastProbeTime: null });
    const readyCond: Condition = ready
      ? { type: 'Ready', status: 'True', lastProbeTime: null }
      : terminal
        ? { type: 'Ready', status: 'False', reason: 'PodCompleted', lastProbeTime: null }
        : {
            type: 'Ready',
            status: 'False',
            reason: 'ContainersNotReady',
            message: `containers with unready status: [${unready.join(' ')}]`,
            lastProbeTime: null,
          };
    list = setCondition(list, readyCond);
    list = setCondition(list, { ...readyCond, type: 'ContainersReady' });
    list = setCondition(list, { type: 'PodScheduled', status: 'True', lastProbeTime: null });
    const order = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'];
    return list.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
  }

  private phase(pod: KObject, statuses: ContainerStatusUpdate[]): string {
    const policy = pod.spec?.restartPolicy ?? 'Always';
    if (statuses.length && statuses.every((s) => s.state.state === 'terminated')) {
      if (policy === 'Always') return 'Running';
      const ok = statuses.every((s) => s.state.state === 'terminated' && s.state.exitCode === 0);
      if (ok) return 'Succeeded';
      return policy === 'Never' ? 'Failed' : 'Running';
    }
    if (statuses.some((s) => s.state.state === 'running' || s.state.state === 'terminated' || s.restartCount > 0)) return 'Running';
    return 'Pending';
  }

  private recordTransitions(pod: KObject, st: PodState, statuses: ContainerStatusUpdate[]): void {
    for (const s of statuses) {
      const sig = s.state.state === 'waiting' ? `waiting:${s.state.reason}:${s.restartCount}` : `${s.state.state}:${s.restartCount}`;
      if (st.seen.get(s.name) === sig) continue;
      st.seen.set(s.name, sig);
      if (s.state.state === 'running') {
        this.event(pod, 'Normal', 'Pulled', `Container image "${s.image}" already present on machine`, s.name);
        this.event(pod, 'Normal', 'Created', `Created container: ${s.name}`, s.name);
        this.event(pod, 'Normal', 'Started', `Started container ${s.name}`, s.name);
      } else if (s.state.state === 'waiting') {
        const { reason, message } = s.state;
        if (reason === 'ErrImagePull') {
          this.event(pod, 'Normal', 'Pulling', `Pulling image "${s.image}"`, s.name);
          this.event(pod, 'Warning', 'Failed', `Failed to pull image "${s.image}": ${message ?? 'not found'}`, s.name);
          this.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull', s.name);
        } else if (reason === 'ImagePullBackOff') {
          this.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${s.image}"`, s.name);
          this.event(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff', s.name);
        } else if (reason === 'CrashLoopBackOff') {
          this.event(
            pod,
            'Warning',
            'BackOff',
            `Back-off restarting failed container ${s.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
            s.name,
          );
        } else if (reason === 'CreateContainerConfigError' || reason === 'CreateContainerError') {
          this.event(pod, 'Warning', 'Failed', `Error: ${message ?? reason}`, s.name);
        }
      }
    }
  }

  private sync(key: string, pod: KObject, st: PodState): void {
    if (!st.running || st.terminating) return;
    const statuses = st.running.containerStatuses();
    this.recordTransitions(pod, st, statuses);
    const phase = this.phase(pod, statuses);
    const containerStatuses = statuses.map((s) => {
      // The runtime runs readiness probes; a container is ready when it runs and its probe (if any) passes.
      const ready = s.state.state === 'running' && s.ready;
      const id = `containerd://${hex(`${st.uid}/${s.name}/${s.restartCount}`)}`;
      let state: Record<string, unknown>;
      if (s.state.state === 'waiting') state = { waiting: { reason: s.state.reason, ...(s.state.message ? { message: s.state.message } : {}) } };
      else if (s.state.state === 'running') state = { running: { startedAt: s.state.startedAt } };
      else {
        const t = s.state;
        state = {
          terminated: {
            exitCode: t.exitCode,
            reason: t.reason,
            ...(t.message ? { message: t.message } : {}),
            startedAt: t.startedAt ?? t.finishedAt,
            finishedAt: t.finishedAt,
            containerID: id,
          },
        };
      }
      const out: Record<string, unknown> = {
        name: s.name,
        state,
        lastState: {},
        ready,
        restartCount: s.restartCount,
        image: s.image,
        imageID: s.state.state === 'waiting' && s.restartCount === 0 ? '' : `${normalizedImage(s.image)}@sha256:${hex(s.image)}`,
        started: s.state.state === 'running',
      };
      if (s.state.state !== 'waiting' || s.restartCount > 0) out.containerID = id;
      return out;
    });
    const unready = containerStatuses.filter((c) => !c.ready).map((c) => c.name as string);
    const allReady = containerStatuses.length > 0 && unready.length === 0 && phase === 'Running';
    this.ctx.registry.mutate(
      R.pods,
      pod.metadata.namespace!,
      pod.metadata.name!,
      (o) => {
        o.status.phase = phase;
        o.status.containerStatuses = containerStatuses;
        o.status.conditions = this.conditions(o, phase, allReady, true, unready);
      },
      { subresource: 'status' },
    );
  }

  private async forget(key: string, st: PodState): Promise<void> {
    this.states.delete(key);
    st.unsubscribe?.();
    if (st.ipOctet !== undefined) this.usedOctets.get(st.node)?.delete(st.ipOctet);
    if (!st.terminating && st.running) await boundedStop(st.running, `${key}`);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.states].map(([key, st]) => this.forget(key, st)));
  }
}
