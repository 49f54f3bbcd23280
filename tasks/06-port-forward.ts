// Lab step 6: forward Hubble Relay to 127.0.0.1:4245 and the UI to 127.0.0.1:8080 (next free port if taken), for the run.
import { InfraError } from '../lib/errors.ts';
import { openHubbleForwards, relayLocalPort, uiLocalPort } from '../lib/lab/forwards.ts';
import { defineTask } from '../lib/lab/task.ts';
import { isEntryPoint, runTaskStandalone } from './standalone.ts';

export const portForward = defineTask({
  id: 'port-forward',
  title: 'Port-forward Hubble Relay and UI',
  kind: 'action',
  access: [{ verb: 'create', group: '', resource: 'pods', namespace: 'kube-system', subresource: 'portforward' }],
  async plan() {
    return {
      changes: [],
      notes: [`forward 127.0.0.1:${relayLocalPort} → svc/hubble-relay:80 and 127.0.0.1:${uiLocalPort} → svc/hubble-ui:80 (next free port if taken)`],
    };
  },
  async apply(ctx) {
    const { relay, ui } = await openHubbleForwards(ctx);
    ctx.shared.relayAddress = relay.address;
    ctx.shared.uiUrl = `http://${ui.address}/`;
    ctx.progress.info(`Hubble Relay: ${relay.address}   Hubble UI: http://${ui.address}/`);
    ctx.defer(() => relay.close());
    ctx.defer(() => ui.close());
  },
  async verify(ctx) {
    if (!ctx.shared.relayAddress) throw new InfraError('the Relay port-forward is not open');
  },
});

export default portForward;
if (isEntryPoint(import.meta.url)) runTaskStandalone(portForward);
