// `hubble-lab run`: the lab's tasks in order against the embedded cluster (default) or a real one.
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { VersionApi, type KubeConfig } from '@kubernetes/client-node';
import { optionFlag, optionString, optionValues, type OptionSpec } from '../args.ts';
import type { Command, CommandIO } from '../command.ts';
import { ExitCode, formatError, UsageError } from '../errors.ts';
import { describeTarget, loadKubeConfig } from '../kube/config.ts';
import { acquireRunLease } from '../kube/lease.ts';
import { parseDuration } from '../lab/duration.ts';
import { chooseMode, createReporter } from '../lab/reporter.ts';
import { labPolicies } from '../lab/policies.ts';
import type { LabContext, LabOptions } from '../lab/task.ts';
import { makeOutDir } from '../report/write.ts';
import { runTasks, selectTasks } from '../runner.ts';

export const scenarios = ['default', 'broken-policy'] as const;

export const clusterOptions: OptionSpec[] = [
  { name: 'kubeconfig', type: 'string', valueName: 'PATH', description: 'use this cluster instead of a fresh embedded one', group: 'Cluster' },
  { name: 'context', type: 'string', valueName: 'NAME', description: 'kubeconfig context (implies a real cluster)', group: 'Cluster' },
];

const options: OptionSpec[] = [
  { name: 'from', type: 'string', valueName: 'TASK', description: 'start at this task (resume a run)', group: 'Tasks' },
  { name: 'until', type: 'string', valueName: 'TASK', description: 'stop after this task', group: 'Tasks' },
  { name: 'dry-run', type: 'boolean', description: 'print each task\'s plan and change nothing', group: 'Tasks' },
  { name: 'yes', short: 'y', type: 'boolean', description: 'apply to a real cluster without asking', group: 'Tasks' },
  ...clusterOptions,
  { name: 'duration', type: 'string', valueName: 'DURATION', default: '20s', description: 'how long the traffic runs', group: 'Lab' },
  { name: 'scenario', type: 'string', valueName: 'NAME', default: 'default', description: `${scenarios.join(' | ')} (broken-policy drops part of the workflow, to show a FAIL)`, group: 'Lab' },
  { name: 'policy', type: 'string', repeatable: true, valueName: 'FILE|DIR', description: "apply these policies instead of the guide's NetworkPolicy (e.g. a report's suggested-policy.yaml); L7 visibility stays", group: 'Lab' },
  { name: 'out', type: 'string', valueName: 'DIR', description: 'report folder (default reports/<timestamp>/)', group: 'Output' },
  { name: 'json', type: 'boolean', description: 'progress as JSON lines', group: 'Output' },
];

export function runFolder(now = new Date()): string {
  return join('reports', now.toISOString().replace(/[:.]/g, '-'));
}

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

/** The cluster a lab command works on: the named kubeconfig/context, or a fresh embedded cluster. */
export async function labTarget(kubeconfig: string | undefined, context: string | undefined, io: CommandIO, quiet = false): Promise<LabTarget> {
  if (kubeconfig || context) {
    const kc = loadKubeConfig({ kubeconfig, context });
    return { kc, sim: await isSim(kc), description: describeTarget(kc) };
  }
  const { startSimCluster } = await import('../sim/cluster.ts');
  const sim = await startSimCluster({});
  if (!quiet) io.stderr.write(`embedded cluster started (kubeconfig ${sim.kubeconfigPath})\n`);
  return { kc: sim.kubeConfig, sim: true, description: `embedded cluster (${sim.kubeconfigPath})`, stop: () => sim.stop() };
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

/** A lab context whose close() runs the deferred cleanups (and stops an embedded cluster) in reverse order. */
export function labContext(target: LabTarget, options: LabOptions, io: CommandIO, json: boolean, selected: string[]): LabContext & { close(): Promise<void> } {
  const report = createReporter(io.stdout, chooseMode(io.stdout as never, io.env, json), io.env);
  const cleanups: (() => Promise<void> | void)[] = [];
  if (target.stop) cleanups.push(target.stop);
  return {
    kc: target.kc,
    target: { sim: target.sim, description: target.description },
    options,
    report,
    signal: io.signal,
    shared: {},
    selected,
    defer: (fn) => cleanups.push(fn),
    exitCode: ExitCode.pass,
    async close() {
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch (err) {
          report.error(`cleanup: ${(err as Error).message}`);
        }
      }
      report.close();
    },
  };
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run the lab: enable Hubble, deploy Relay/UI and the demo, apply the policy, generate traffic, collect, analyze, gate',
  usage: 'run [task…] [flags]',
  options,
  details: [
    'Tasks, in order: preflight, enable-hubble, deploy-hubble, deploy-monitoring, deploy-demo, wait, port-forward, apply-policy, collect, traffic, analyze.',
    'Without --kubeconfig/--context the lab runs on a fresh embedded cluster. A real cluster sees the plan and must confirm (or --yes).',
    'Exit codes: 0 PASS, 1 FAIL, 3 INCOMPLETE, 2 usage or infrastructure error.',
  ].join('\n'),
  async run(args, io) {
    const { labTasks } = await import('../lab/tasks.ts');
    const tasks = selectTasks(labTasks, { only: args.positionals, from: optionString(args, 'from'), until: optionString(args, 'until') });
    const scenario = optionString(args, 'scenario') ?? 'default';
    if (!(scenarios as readonly string[]).includes(scenario)) {
      throw new UsageError(`--scenario: unknown scenario "${scenario}"`, { hint: `scenarios: ${scenarios.join(', ')}` });
    }
    const labOptions: LabOptions = {
      durationMs: parseDuration(optionString(args, 'duration') ?? '20s', '--duration'),
      scenario: scenario as LabOptions['scenario'],
      outDir: resolve(optionString(args, 'out') ?? runFolder()),
      dryRun: optionFlag(args, 'dry-run'),
      yes: optionFlag(args, 'yes'),
    };
    const policy = optionValues(args, 'policy');
    if (policy.length) {
      if (scenario !== 'default') throw new UsageError(`--policy replaces the policy of --scenario ${scenario}: give one or the other`);
      labOptions.policy = policy;
      // Read now: a file that is not policy YAML fails before any cluster is touched.
      labPolicies(labOptions);
    }
    const target = await labTarget(optionString(args, 'kubeconfig'), optionString(args, 'context'), io);
    // Made now so that a bad --out fails before any cluster is touched; removed again if no task wrote into it.
    const madeOutDir = !labOptions.dryRun && !existsSync(labOptions.outDir);
    if (!labOptions.dryRun) makeOutDir(labOptions.outDir);
    const ctx = labContext(target, labOptions, io, optionFlag(args, 'json'), tasks.map((t) => t.id));
    const started = performance.now();
    try {
      // Two runs on one cluster would share (and report) one traffic Job: the second refuses while the first runs.
      if (!labOptions.dryRun) ctx.defer((await acquireRunLease(target.kc)).release);
      await runTasks(tasks, ctx, (q) => confirmOnTty(io, q));
    } catch (err) {
      // Once flows are being collected, a run that breaks (the cluster gone, a task failing) still reports them.
      if (!ctx.shared.aggregator || ctx.shared.verdict || !tasks.some((t) => t.id === 'analyze')) throw err;
      const why = formatError(err).split('\n')[0]!;
      ctx.report.error(why);
      const { analyzeCollected } = await import('../../tasks/10-analyze.ts');
      try {
        await analyzeCollected(ctx, why);
      } catch (reportErr) {
        ctx.report.error(`no report from the flows collected: ${formatError(reportErr).split('\n')[0]}`);
        throw err;
      }
    } finally {
      await ctx.close();
      if (madeOutDir) removeIfEmpty(labOptions.outDir);
    }
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    io.stdout.write(`lab finished in ${secs}s${ctx.shared.verdict ? `: ${String(ctx.shared.verdict)}` : ''}\n`);
    return ctx.exitCode;
  },
};

/** A run whose tasks wrote no report leaves no empty folder behind. */
function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // Gone already, or not ours to judge: leave it.
  }
}
