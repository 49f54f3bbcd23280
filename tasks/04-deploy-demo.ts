// Lab step 4: the genai-network-demo namespace, the agents' code and the guide's Deployments and Services.
import { manifestTask } from '../lib/lab/apply-task.ts';
import { runStandalone } from '../lib/lab/standalone.ts';
import { demoManifests } from '../lib/traffic/manifests.ts';

export const deployDemo = manifestTask({
  id: 'deploy-demo',
  title: 'Deploy the GenAI demo agents',
  objects: () => demoManifests(),
});

export default deployDemo;
await runStandalone(import.meta.url, deployDemo);
