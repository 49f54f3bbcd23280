// The cluster a lab command works on and the context its tasks run in: shared by run, teardown, port-forward and
// doctor.
import { createInterface } from 'node:readline/promises';
import { VersionApi, type KubeConfig } from '@kubernetes/client-node';
import type { OptionSpec } from '../args.ts';
import type { CommandIO } from '../command.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { describeTarget, loadKubeConfig } from '../kube/config.ts';
import { chooseProgressMode, createProgress } from './progress.ts';
import type { LabContext, LabOptions, Task } from './task.ts';

export const clusterOptions: OptionSpec[] = [
  { name: 'kubeconfig', type: 'string', valueName: 'PATH', description: 'use this cluster instead of a fresh embedded one', group: 'Cluster' },
  { name: 'context', type: 'string', valueName: 'NAME', description: 'kubeconfig context (implies a real cluster)', group: 'Cluster' },
];

/** The cluster flags of the commands that work on a running cluster and never start one (doctor, port-forward, teardown). */
export const runningClusterOptions: OptionSpec[] = [
  {
    name: 'kubeconfig',
    type: 'string',
    valueName: 'PATH',
    description: 'kubeconfig file (default: $KUBECONFIG, else ~/.kube/config, as kubectl)',
    group: 'Cluster',
  },
  { name: 'context', type: 'string', valueName: 'NAME', description: "kubeconfig context (default: the kubeconfig's current context)", group: 'Cluster' },
];

/** A kubeconfig pointing at `hubble-lab sim start` is a sim: it needs no confirmation. */
async function isSim(kc: KubeConfig): Promise<boolean> {
  try {
    const v = await kc.makeApiClient(VersionApi).getCode();
    return /hubble-lab-sim/.test(v.gitVersion);
  } catch {
    return false;
  }
}

export interface LabTarget {
  kc: KubeConfig;
  sim: boolean;
  description: string;
  stop?: () => Promise<void>;
}

/**
 * The cluster of a command that never starts one: the named kubeconfig/context, else KUBECONFIG or ~/.kube/config
 * and its current context, as kubectl resolves them.
 */
export async function runningClusterTarget(kubeconfig: string | undefined, context: string | undefined): Promise<LabTarget> {
  const kc = loadKubeConfig({ kubeconfig, context });
  return { kc, sim: await isSim(kc), description: describeTarget(kc) };
}

/** The cluster a lab command works on: the named kubeconfig/context, or a fresh embedded cluster. */
export async function labTarget(kubeconfig: string | undefined, context: string | undefined, io: CommandIO, quiet = false): Promise<LabTarget> {
  if (kubeconfig || context) return runningClusterTarget(kubeconfig, context);
  const { startSimCluster } = await import('../sim/cluster.ts');
  const sim = await startSimCluster({});
  if (!quiet) io.stderr.write(`embedded cluster started (kubeconfig ${sim.kubeconfigPath})\n`);
  return { kc: loadKubeConfig({ kubeconfig: sim.kubeconfigPath }), sim: true, description: `embedded cluster (${sim.kubeconfigPath})`, stop: () => sim.stop() };
}

export async function confirmOnTty(io: CommandIO, question: string): Promise<boolean> {
  const stdin = io.stdin as NodeJS.ReadStream;
  if (!stdin.isTTY) throw new UsageError('a real cluster needs confirmation and there is no terminal to ask on', { hint: 'pass --yes to apply the plan' });
  const rl = createInterface({ input: stdin, output: io.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export interface LabRun {
  target: LabTarget;
  options: LabOptions;
  io: CommandIO;
  /** Progress as JSON lines. */
  json: boolean;
  /** Every task of the lab (the registry), and the ids of those this run executes. */
  tasks: readonly Task[];
  selected: string[];
}

/** A lab context whose close() runs the deferred cleanups (and stops an embedded cluster) in reverse order. */
export function labContext({ target, options, io, json, tasks, selected }: LabRun): LabContext & { close(): Promise<void> } {
  const progress = createProgress(io.stdout, chooseProgressMode(io.stdout as never, io.env, json), io.env);
  const cleanups: (() => Promise<void> | void)[] = [];
  if (target.stop) cleanups.push(target.stop);
  return {
    kc: target.kc,
    target: { sim: target.sim, description: target.description },
    options,
    progress,
    signal: io.signal,
    shared: {},
    selected,
    tasks,
    defer: (fn) => cleanups.push(fn),
    exitCode: ExitCode.pass,
    async close() {
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch (err) {
          progress.error(`cleanup: ${(err as Error).message}`);
        }
      }
      progress.close();
    },
  };
}
