// Lab step 6: forward Hubble Relay to 127.0.0.1:4245 and the UI to 127.0.0.1:8080 (next free port if taken), for the run.
import { InfraError } from '../lib/errors.ts';
import { connectObserver } from '../lib/hubble/client.ts';
import { forwardService, type Forward } from '../lib/kube/port-forward.ts';
import { defineTask, type LabContext } from '../lib/lab/task.ts';
import { runStandalone } from '../lib/lab/standalone.ts';

export const relayLocalPort = 4245;
export const uiLocalPort = 8080;

/** Opens both forwards and checks Relay answers ServerStatus through its forward. */
export async function openHubbleForwards(ctx: LabContext): Promise<{ relay: Forward; ui: Forward }> {
  // Each forward follows its Service to a new pod (a restarted Relay) and says so in the run's log.
  const onEvent = (line: string) => ctx.report.info(line);
  const relay = await forwardService(ctx.kc, { namespace: 'kube-system', service: 'hubble-relay', servicePort: 80, localPort: relayLocalPort, onEvent });
  let ui: Forward;
  try {
    ui = await forwardService(ctx.kc, { namespace: 'kube-system', service: 'hubble-ui', servicePort: 80, localPort: uiLocalPort, onEvent });
  } catch (err) {
    await relay.close();
    throw err;
  }
  let client: Awaited<ReturnType<typeof connectObserver>> | undefined;
  try {
    client = await connectObserver(relay.address, { what: 'Hubble Relay', dialTimeoutMs: 10_000 });
    const status = await client.serverStatus();
    ctx.report.info(
      `Relay at ${relay.address}: ${status.num_connected_nodes ?? 0} node(s) connected, ${status.num_flows ?? 0}/${status.max_flows ?? 0} flows`,
    );
    if (status.num_unavailable_nodes) ctx.report.info(`unavailable nodes: ${(status.unavailable_nodes ?? []).join(', ')}`);
  } catch (err) {
    await relay.close();
    await ui.close();
    throw new InfraError(`Hubble Relay does not answer through its port-forward: ${(err as Error).message}`, { cause: err });
  } finally {
    client?.close();
  }
  return { relay, ui };
}

export const portForward = defineTask({
  id: 'port-forward',
  title: 'Port-forward Hubble Relay and UI',
  kind: 'action',
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
    ctx.report.info(`Hubble Relay: ${relay.address}   Hubble UI: http://${ui.address}/`);
    ctx.defer(() => relay.close());
    ctx.defer(() => ui.close());
  },
  async verify(ctx) {
    if (!ctx.shared.relayAddress) throw new InfraError('the Relay port-forward is not open');
  },
});

export default portForward;
await runStandalone(import.meta.url, portForward);
