// `hubble-lab port-forward`: Hubble Relay on 127.0.0.1:4245 and the UI on 127.0.0.1:8080 until Ctrl-C.
import { optionString } from '../args.ts';
import type { Command } from '../command.ts';
import { labContext, runningClusterOptions, runningClusterTarget } from '../lab/context.ts';
import { openHubbleForwards } from '../lab/forwards.ts';

export const portForwardCommand: Command = {
  name: 'port-forward',
  summary: 'forward Hubble Relay to 127.0.0.1:4245 and Hubble UI to 127.0.0.1:8080 until interrupted',
  usage: 'port-forward [--kubeconfig PATH] [--context NAME]',
  options: runningClusterOptions,
  details: 'Then: hubble observe --server 127.0.0.1:4245 …, or hubble-lab observe --server 127.0.0.1:4245 …',
  async run(args, io) {
    const kubeconfig = optionString(args, 'kubeconfig');
    const context = optionString(args, 'context');
    const target = await runningClusterTarget(kubeconfig, context);
    const options = { durationMs: 0, scenario: 'default' as const, outDir: '.', dryRun: false, yes: true };
    const ctx = labContext({ target, options, io, json: false, tasks: [], selected: [] });
    try {
      const { relay, ui } = await openHubbleForwards(ctx);
      ctx.defer(() => relay.close());
      ctx.defer(() => ui.close());
      io.stdout.write(
        `Hubble Relay: ${relay.address}  (hubble observe --server ${relay.address})\nHubble UI:    http://${ui.address}/\nPress Ctrl-C to stop.\n`,
      );
      await new Promise<void>((resolve) => {
        if (io.signal.aborted) resolve();
        io.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      await ctx.close();
    }
    return 0;
  },
};
