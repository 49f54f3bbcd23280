// The run's port-forwards to Hubble Relay and UI: opened by port-forward (or collect, run without it), and the
// local ports doctor and the port-forward command use.
import { InfraError } from '../errors.ts';
import { connectObserver } from '../hubble/client.ts';
import { forwardService, type Forward } from '../kube/port-forward.ts';
import type { LabContext } from './task.ts';

export const relayLocalPort = 4245;
export const uiLocalPort = 8080;

/** Opens both forwards and checks Relay answers ServerStatus through its forward. */
export async function openHubbleForwards(ctx: LabContext): Promise<{ relay: Forward; ui: Forward }> {
  // Each forward follows its Service to a new pod (a restarted Relay) and says so in the run's log.
  const onEvent = (line: string) => ctx.progress.info(line);
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
    ctx.progress.info(
      `Relay at ${relay.address}: ${status.num_connected_nodes ?? 0} node(s) connected, ${status.num_flows ?? 0}/${status.max_flows ?? 0} flows`,
    );
    if (status.num_unavailable_nodes) ctx.progress.info(`unavailable nodes: ${(status.unavailable_nodes ?? []).join(', ')}`);
  } catch (err) {
    await relay.close();
    await ui.close();
    throw new InfraError(`Hubble Relay does not answer through its port-forward: ${(err as Error).message}`, { cause: err });
  } finally {
    client?.close();
  }
  return { relay, ui };
}

/** The forwarded Relay's address for this run: the port-forward task's, or forwards opened now and closed when the run ends. */
export async function relayAddress(ctx: LabContext): Promise<string> {
  if (ctx.shared.relayAddress) return ctx.shared.relayAddress;
  const { relay, ui } = await openHubbleForwards(ctx);
  ctx.defer(() => relay.close());
  ctx.defer(() => ui.close());
  ctx.shared.relayAddress = relay.address;
  return relay.address;
}
