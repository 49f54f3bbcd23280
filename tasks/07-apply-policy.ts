// Lab step 7: the guide's genai-network-policy (or the broken variant, or the user's with --policy) and the L7
// visibility CiliumNetworkPolicies.
import { manifestTask } from '../lib/lab/apply-task.ts';
import { demoNamespace } from '../lib/lab/manifests.ts';
import { labPolicyObjects } from '../lib/lab/policies.ts';
import { isEntryPoint, runTaskStandalone } from './standalone.ts';

export const applyPolicy = manifestTask({
  id: 'apply-policy',
  title: 'Apply the network policy and L7 visibility',
  access: [
    { verb: 'patch', group: 'networking.k8s.io', resource: 'networkpolicies', namespace: demoNamespace },
    { verb: 'patch', group: 'cilium.io', resource: 'ciliumnetworkpolicies', namespace: demoNamespace },
  ],
  objects: (ctx) => labPolicyObjects(ctx.options),
});

export default applyPolicy;
if (isEntryPoint(import.meta.url)) runTaskStandalone(applyPolicy);
