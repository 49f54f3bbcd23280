// Lab step 7: the guide's genai-network-policy (or the broken variant) and the L7 visibility CiliumNetworkPolicies.
import { manifestTask } from '../lib/lab/apply-task.ts';
import { runStandalone } from '../lib/lab/standalone.ts';
import { policyManifests } from '../lib/traffic/manifests.ts';

export const applyPolicy = manifestTask({
  id: 'apply-policy',
  title: 'Apply the network policy and L7 visibility',
  objects: (ctx) => policyManifests(ctx.options.scenario),
});

export default applyPolicy;
await runStandalone(import.meta.url, applyPolicy);
