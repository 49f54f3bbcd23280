// `hubble-lab run`: the lab's tasks in order against the embedded cluster (default) or a real one.
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { optionFlag, optionString, optionValues, type OptionSpec } from '../args.ts';
import type { Command } from '../command.ts';
import { ExitCode, formatError, HubbleLabError, UsageError } from '../errors.ts';
import { acquireRunLease } from '../kube/lease.ts';
import { analyzeCollected } from '../lab/analyze-run.ts';
import { clusterOptions, confirmOnTty, labContext, labTarget } from '../lab/context.ts';
import { parseDuration } from '../lab/duration.ts';
import { labPolicies } from '../lab/policies.ts';
import { displayPath, runFolder } from '../lab/run-folders.ts';
import type { LabOptions } from '../lab/task.ts';
import { makeOutDir } from '../report/write.ts';
import { runTasks, selectTasks } from '../runner.ts';
import { labTasks } from '../../tasks/index.ts';

export const scenarios = ['default', 'broken-policy'] as const;

const options: OptionSpec[] = [
  { name: 'from', type: 'string', valueName: 'TASK', description: 'start at this task (resume a run)', group: 'Tasks' },
  { name: 'until', type: 'string', valueName: 'TASK', description: 'stop after this task', group: 'Tasks' },
  { name: 'dry-run', type: 'boolean', description: "print each task's plan and change nothing", group: 'Tasks' },
  { name: 'yes', short: 'y', type: 'boolean', description: 'apply to a real cluster without asking', group: 'Tasks' },
  ...clusterOptions,
  { name: 'duration', type: 'string', valueName: 'DURATION', default: '20s', description: 'how long the traffic runs', group: 'Lab' },
  {
    name: 'scenario',
    type: 'string',
    valueName: 'NAME',
    default: 'default',
    description: `${scenarios.join(' | ')} (broken-policy drops part of the workflow, to show a FAIL)`,
    group: 'Lab',
  },
  {
    name: 'policy',
    type: 'string',
    repeatable: true,
    valueName: 'FILE|DIR',
    description: "apply these policies instead of the guide's NetworkPolicy (e.g. a report's suggested-policy.yaml); L7 visibility stays",
    group: 'Lab',
  },
  { name: 'out', type: 'string', valueName: 'DIR', description: 'report folder (default reports/<timestamp>/)', group: 'Output' },
  { name: 'json', type: 'boolean', description: 'progress as JSON lines, the last one how the run ended', group: 'Output' },
];

export const runCommand: Command = {
  name: 'run',
  summary: 'run the lab: enable Hubble, deploy Relay/UI and the demo, apply the policy, generate traffic, collect, analyze, gate',
  usage: 'run [task…] [flags]',
  options,
  details: [
    `Tasks, in order: ${labTasks.map((t) => t.id).join(', ')}.`,
    'Without --kubeconfig/--context the lab runs on a fresh embedded cluster. A real cluster sees the plan and must confirm (or --yes).',
    "analyze without collect reports the latest run's reports/<timestamp>/flows.jsonl.",
    'Exit codes: 0 PASS, 1 FAIL, 3 INCOMPLETE, 2 usage or infrastructure error.',
  ].join('\n'),
  async run(args, io) {
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
    const json = optionFlag(args, 'json');
    // In JSON mode stdout holds JSON lines only: the embedded cluster's line goes to stderr as always.
    const target = await labTarget(optionString(args, 'kubeconfig'), optionString(args, 'context'), io);
    // Made now so that a bad --out fails before any cluster is touched; removed again if no task wrote into it.
    const madeOutDir = !labOptions.dryRun && !existsSync(labOptions.outDir);
    if (!labOptions.dryRun) makeOutDir(labOptions.outDir);
    const ctx = labContext({ target, options: labOptions, io, json, tasks: labTasks, selected: tasks.map((t) => t.id) });
    const started = performance.now();
    const finish = (error?: unknown) =>
      ctx.progress.finish({
        seconds: (performance.now() - started) / 1000,
        verdict: ctx.shared.verdict,
        exitCode: error === undefined ? ctx.exitCode : error instanceof HubbleLabError ? error.exitCode : ExitCode.error,
        report: ctx.shared.reportPath ? displayPath(ctx.shared.reportPath) : undefined,
        error: error === undefined ? undefined : formatError(error).split('\n')[0],
      });
    try {
      try {
        // Two runs on one cluster would share (and report) one traffic Job: the second refuses while the first runs.
        if (!labOptions.dryRun) ctx.defer((await acquireRunLease(target.kc)).release);
        await runTasks(tasks, ctx, (q) => confirmOnTty(io, q));
      } catch (err) {
        // Once flows are being collected, a run that breaks (the cluster gone, a task failing) still reports them.
        if (!ctx.shared.aggregator || ctx.shared.verdict || !tasks.some((t) => t.id === 'analyze')) throw err;
        const why = formatError(err).split('\n')[0]!;
        ctx.progress.error(why);
        try {
          await analyzeCollected(ctx, why);
        } catch (reportErr) {
          ctx.progress.error(`no report from the flows collected: ${formatError(reportErr).split('\n')[0]}`);
          throw err;
        }
      } finally {
        await ctx.close();
        if (madeOutDir) removeIfEmpty(labOptions.outDir);
      }
    } catch (err) {
      finish(err);
      throw err;
    }
    finish();
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
