// Lab step 10: end the flow collection after the traffic, then report and gate against manifests/expectations.yaml.
// Run without collect, it analyses the latest earlier run's flows.jsonl instead.
import { InfraError } from '../lib/errors.ts';
import { analyzeCollected, analyzeLatestRun, expectationsPath } from '../lib/lab/analyze-run.ts';
import { displayPath, latestRunFlows, reportsDir } from '../lib/lab/run-folders.ts';
import { defineTask } from '../lib/lab/task.ts';
import { isEntryPoint, runTaskStandalone } from './standalone.ts';

export const analyze = defineTask({
  id: 'analyze',
  title: 'Analyze the flows and gate',
  kind: 'action',
  // The report explains policy drops with the cluster's own policies (it falls back to the lab's manifests).
  access: [
    { verb: 'list', group: 'networking.k8s.io', resource: 'networkpolicies' },
    { verb: 'list', group: 'cilium.io', resource: 'ciliumnetworkpolicies' },
    { verb: 'list', group: 'cilium.io', resource: 'ciliumclusterwidenetworkpolicies' },
  ],
  async plan(ctx) {
    const latest = ctx.selected.includes('collect') ? undefined : latestRunFlows(reportsDir, ctx.options.outDir);
    const flows = ctx.selected.includes('collect')
      ? 'the flows collected'
      : latest
        ? `the latest run's flows, ${displayPath(latest)},`
        : "the latest run's flows.jsonl (there is none yet)";
    return { changes: [], notes: [`report and gate ${flows} with ${expectationsPath} into ${ctx.options.outDir}`] };
  },
  async apply(ctx) {
    if (ctx.shared.aggregator || ctx.selected.includes('collect')) await analyzeCollected(ctx);
    else await analyzeLatestRun(ctx);
  },
  async verify(ctx) {
    if (!ctx.shared.verdict) throw new InfraError('no verdict was reached');
  },
});

export default analyze;
if (isEntryPoint(import.meta.url)) runTaskStandalone(analyze);
