// `hubble-lab teardown`: removes what the lab created and restores the cilium-config values it changed.
import { optionFlag, optionString, type OptionSpec } from '../args.ts';
import type { Command } from '../command.ts';
import { teardown } from '../lab/teardown.ts';
import { runTasks } from '../runner.ts';
import { confirmOnTty, labContext, runningClusterOptions, runningClusterTarget } from '../lab/context.ts';

const options: OptionSpec[] = [
  ...runningClusterOptions,
  { name: 'dry-run', type: 'boolean', description: 'print what would be removed and change nothing' },
  { name: 'yes', short: 'y', type: 'boolean', description: 'do it without asking' },
  { name: 'json', type: 'boolean', description: 'progress as JSON lines' },
];

export const teardownCommand: Command = {
  name: 'teardown',
  summary: 'remove what the lab created and restore the cilium-config values it changed',
  usage: 'teardown [--kubeconfig PATH] [--context NAME] [flags]',
  options,
  async run(args, io) {
    const kubeconfig = optionString(args, 'kubeconfig');
    const context = optionString(args, 'context');
    const target = await runningClusterTarget(kubeconfig, context);
    const options = { durationMs: 0, scenario: 'default' as const, outDir: '.', dryRun: optionFlag(args, 'dry-run'), yes: optionFlag(args, 'yes') };
    const ctx = labContext({ target, options, io, json: optionFlag(args, 'json'), tasks: [teardown], selected: ['teardown'] });
    try {
      await runTasks([teardown], ctx, (q) => confirmOnTty(io, q));
    } finally {
      await ctx.close();
    }
    return ctx.exitCode;
  },
};
