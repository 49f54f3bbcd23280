// Lab step 3: Hubble Relay and UI as in the guide, and the hubble-peer Service Relay finds the agents through.
import { manifestTask } from '../lib/lab/apply-task.ts';
import { runStandalone } from '../lib/lab/standalone.ts';
import { hubbleManifests } from '../lib/traffic/manifests.ts';

export const deployHubble = manifestTask({
  id: 'deploy-hubble',
  title: 'Deploy Hubble Relay and UI',
  objects: () => hubbleManifests(),
  skip: (ctx) => (ctx.shared.helmRelay ? 'Hubble Relay is managed by Helm: left as it is' : undefined),
});

export default deployHubble;
await runStandalone(import.meta.url, deployHubble);
