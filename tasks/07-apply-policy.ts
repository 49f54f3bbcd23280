// Lab step 7: the guide's genai-network-policy (or the broken variant, or the user's with --policy) and the L7
// visibility CiliumNetworkPolicies.
import { manifestTask } from '../lib/lab/apply-task.ts';
import { runStandalone } from '../lib/lab/standalone.ts';
import { labPolicyObjects } from '../lib/lab/policies.ts';

export const applyPolicy = manifestTask({
  id: 'apply-policy',
  title: 'Apply the network policy and L7 visibility',
  objects: (ctx) => labPolicyObjects(ctx.options),
});

export default applyPolicy;
await runStandalone(import.meta.url, applyPolicy);
