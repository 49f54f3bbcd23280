// Lab step 8: follow the demo namespace's flows from Relay, into flows.jsonl and the analysis, for the traffic's run.
import { parseArgs } from '../lib/args.ts';
import { FlowAggregator } from '../lib/analysis/aggregate.ts';
import { InfraError } from '../lib/errors.ts';
import { observeFilterOptions, buildGetFlowsRequest } from '../lib/hubble/filter/flags.ts';
import { FlowCollector } from '../lib/lab/collector.ts';
import { flowsPath } from '../lib/lab/analyze-run.ts';
import { relayAddress } from '../lib/lab/forwards.ts';
import { demoNamespace } from '../lib/lab/manifests.ts';
import { defineTask } from '../lib/lab/task.ts';
import { isEntryPoint, runTaskStandalone } from './standalone.ts';

/** `hubble observe --namespace genai-network-demo` as a request: flows from or to the demo's pods. */
export function collectRequest() {
  const { whitelist, blacklist } = buildGetFlowsRequest(parseArgs(['--namespace', demoNamespace], observeFilterOptions, 'collect'), { live: true });
  return { whitelist, blacklist };
}

export const collect = defineTask({
  id: 'collect',
  title: 'Collect flows from Hubble Relay',
  kind: 'action',
  access: [{ verb: 'create', group: '', resource: 'pods', namespace: 'kube-system', subresource: 'portforward' }],
  async plan(ctx) {
    return { changes: [], notes: [`follow flows of namespace ${demoNamespace} into ${flowsPath(ctx)}`] };
  },
  async apply(ctx) {
    const aggregator = new FlowAggregator();
    const since = new Date(Date.now() - 1000).toISOString();
    const collector = new FlowCollector(
      await relayAddress(ctx),
      { ...collectRequest(), since },
      flowsPath(ctx),
      (resp) => aggregator.add(resp),
      (line) => ctx.progress.info(line),
    );
    await collector.start();
    ctx.shared.collector = collector;
    // A run that fails before analyze ends the stream at once (before the port-forward it reads through closes).
    ctx.defer(async () => {
      if (ctx.shared.collector !== collector) return;
      ctx.shared.collector = undefined;
      await collector.stop(0);
    });
    ctx.shared.aggregator = aggregator;
    // Run alone, collect for the traffic's duration; otherwise the analyze task ends it after the traffic.
    if (!ctx.selected.includes('traffic')) {
      ctx.progress.progress(`collecting for ${ctx.options.durationMs / 1000}s`);
      const stats = await collector.stop(ctx.options.durationMs);
      ctx.shared.collector = undefined;
      ctx.progress.info(`${stats.flows} flows written to ${flowsPath(ctx)}`);
    }
  },
  async verify(ctx) {
    if (!ctx.shared.aggregator) throw new InfraError('no flow collection is running');
  },
});

export default collect;
if (isEntryPoint(import.meta.url)) runTaskStandalone(collect);
