// Lab step 4: the genai-network-demo namespace, the agents' code and the guide's Deployments and Services.
import { manifestTask } from '../lib/lab/apply-task.ts';
import { demoManifests, demoNamespace } from '../lib/lab/manifests.ts';
import { isEntryPoint, runTaskStandalone } from './standalone.ts';

export const deployDemo = manifestTask({
  id: 'deploy-demo',
  title: 'Deploy the GenAI demo agents',
  access: [
    { verb: 'patch', group: '', resource: 'namespaces' },
    { verb: 'patch', group: 'apps', resource: 'deployments', namespace: demoNamespace },
    { verb: 'patch', group: '', resource: 'services', namespace: demoNamespace },
    { verb: 'patch', group: '', resource: 'configmaps', namespace: demoNamespace },
  ],
  objects: () => demoManifests(),
});

export default deployDemo;
if (isEntryPoint(import.meta.url)) runTaskStandalone(deployDemo);
