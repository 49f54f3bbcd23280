// Lab step 3: Hubble Relay and UI as in the guide, and the hubble-peer Service Relay finds the agents through.
import { manifestTask } from '../lib/lab/apply-task.ts';
import { hubbleManifests } from '../lib/lab/manifests.ts';
import { isEntryPoint, runTaskStandalone } from './standalone.ts';

export const deployHubble = manifestTask({
  id: 'deploy-hubble',
  title: 'Deploy Hubble Relay and UI',
  access: [
    { verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'kube-system' },
    { verb: 'patch', group: '', resource: 'services', namespace: 'kube-system' },
  ],
  objects: () => hubbleManifests(),
  skip: (ctx) => (ctx.shared.helmRelay ? 'Hubble Relay is managed by Helm: left as it is' : undefined),
});

export default deployHubble;
if (isEntryPoint(import.meta.url)) runTaskStandalone(deployHubble);
