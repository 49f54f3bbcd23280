// A stand-in pod runtime for control-plane tests: containers "run" without processes, finishing as their env says.
import type { ContainerStatusUpdate, PodRuntime, PodSpecForRuntime, RunningPod } from '../../lib/sim/runtime/types.ts';

/**
 * Behaviour by container: image `bad.example/*` fails to pull; with restartPolicy Never/OnFailure the container
 * prints env LOG (lines split on `|`) and exits with env EXIT_CODE (default 0) after EXIT_AFTER_MS (default 30).
 * Anything else runs until stopped.
 */
export function trivialRuntime(): PodRuntime & { started: PodSpecForRuntime[] } {
  const pods = new Set<RunningPod>();
  const started: PodSpecForRuntime[] = [];
  return {
    started,
    start(spec) {
      started.push(spec);
      const containers: any[] = spec.pod.spec?.containers ?? [];
      const policy = spec.pod.spec?.restartPolicy ?? 'Always';
      const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const logs = new Map<string, string[]>();
      const listeners = new Set<(s: ContainerStatusUpdate[]) => void>();
      const timers: NodeJS.Timeout[] = [];
      const env = (c: any, name: string) => (c.env ?? []).find((e: any) => e.name === name)?.value as string | undefined;
      let statuses: ContainerStatusUpdate[] = containers.map((c) => ({
        name: c.name,
        image: c.image,
        ready: false,
        restartCount: 0,
        state: { state: 'waiting', reason: 'ContainerCreating' },
      }));
      const emit = () => {
        for (const l of listeners) l(statuses);
      };
      const set = (i: number, s: Partial<ContainerStatusUpdate>) => {
        statuses = statuses.map((x, j) => (j === i ? { ...x, ...s } : x));
        emit();
      };
      containers.forEach((c, i) => {
        logs.set(c.name, []);
        timers.push(
          setTimeout(() => {
            if (String(c.image).startsWith('bad.example/')) {
              set(i, { state: { state: 'waiting', reason: 'ErrImagePull', message: `failed to resolve reference "${c.image}": not found` } });
              return;
            }
            const startedAt = now();
            set(i, { ready: true, state: { state: 'running', startedAt } });
            if (policy === 'Always') return;
            timers.push(
              setTimeout(
                () => {
                  logs.get(c.name)!.push(...(env(c, 'LOG') ?? '').split('|').filter(Boolean), `pod ip ${spec.podIP}`);
                  const exitCode = Number(env(c, 'EXIT_CODE') ?? 0);
                  set(i, { ready: false, state: { state: 'terminated', exitCode, reason: exitCode ? 'Error' : 'Completed', startedAt, finishedAt: now() } });
                },
                Number(env(c, 'EXIT_AFTER_MS') ?? 30),
              ),
            );
          }, 5),
        );
      });
      const pod: RunningPod = {
        spec,
        containerStatuses: () => statuses,
        onStatus(l) {
          listeners.add(l);
          return () => listeners.delete(l);
        },
        async *logs(opts) {
          const lines = logs.get(opts.container ?? containers[0]?.name) ?? [];
          yield* opts.tailLines !== undefined ? lines.slice(-opts.tailLines) : lines;
        },
        dial: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
        async stop() {
          for (const t of timers) clearTimeout(t);
          listeners.clear();
          pods.delete(pod);
        },
      };
      pods.add(pod);
      return pod;
    },
    async shutdown() {
      await Promise.all([...pods].map((p) => p.stop()));
    },
  };
}
