// A node's Hubble observer inside its Cilium agent: a ring buffer the hub writes the node's flows into, served
// (Observer, health and peer.Peer) on the agent pod's hubble-listen-address port.
import { FlowRing } from '../../hubble/server/ring.ts';
import { RingObserverSource } from '../../hubble/server/ring-source.ts';
import { startObserverServer, type RunningServer } from '../../hubble/server/observer-server.ts';
import type { HubbleAgentConfig } from './agent-config.ts';
import { redactResponse, type HubbleRedactConfig } from './agent-redact.ts';
import { servePodPort, type PodPorts } from './forward.ts';
import type { SimHubble } from './hub.ts';
import { peerNotifyMethod } from './peer-service.ts';
import { HubbleMetrics } from './metrics.ts';
import { startMetricsServer, type MetricsServer } from './metrics-server.ts';
import type { GetFlowsResponse } from '../../flows/types.ts';

/**
 * The ring the hub writes into. Flows are redacted first, as the agent's parser does before anything sees them,
 * then stored and fed to the agent's metrics (Cilium's OnDecodedFlow hook).
 */
class AgentRing extends FlowRing {
  constructor(
    capacity: number,
    private readonly metrics: HubbleMetrics | undefined,
    private readonly redact: HubbleRedactConfig,
  ) {
    super(capacity);
  }

  override write(response: GetFlowsResponse): void {
    const stored = this.redact.enabled ? redactResponse(response, this.redact) : response;
    super.write(stored);
    if (stored.flow) this.metrics?.process(stored.flow);
  }
}

export interface HubbleAgentOptions {
  hub: SimHubble;
  /** Kubernetes node the agent runs on. */
  node: string;
  /** The agent pod's IP (its node's: the agent runs in the host network), announced to peers. */
  ip: string;
  /** Hubble settings as read from cilium-config when the pod started. */
  config: HubbleAgentConfig;
  /** The agent pod's network, to serve on its port. */
  net: PodPorts;
  /** Reported in ServerStatus.version and by Relay's GetNodes. */
  version: string;
  log?(line: string): void;
}

export interface HubbleAgent {
  /** Hubble runs: the node's flows are recorded. */
  readonly enabled: boolean;
  readonly ring: FlowRing | undefined;
  /** The pod port Hubble serves on, when it serves over TCP. */
  readonly port: number | undefined;
  /** The gRPC server's own 127.0.0.1 address (outside the pod network), when it serves. */
  readonly localAddress: string | undefined;
  /** The metrics, when hubble-metrics-server is set. */
  readonly metrics: HubbleMetrics | undefined;
  /** The metrics server's own 127.0.0.1 address, when it serves. */
  readonly metricsAddress: string | undefined;
  /** Stops recording and serving; the node stays a peer (its agent is only restarting). */
  stop(): Promise<void>;
}

export async function startHubbleAgent(opts: HubbleAgentOptions): Promise<HubbleAgent> {
  const { hub, node, config } = opts;
  const log = opts.log ?? (() => {});
  if (!config.enabled) {
    const detach = hub.agentStarted(node, { ip: opts.ip });
    log('level=info msg="Hubble server is disabled" subsys=hubble');
    return {
      enabled: false,
      ring: undefined,
      port: undefined,
      localAddress: undefined,
      metrics: undefined,
      metricsAddress: undefined,
      stop: async () => detach(),
    };
  }

  const metricsConfig = config.metrics;
  const metrics = metricsConfig.port !== undefined ? new HubbleMetrics(metricsConfig.metrics, { openMetrics: metricsConfig.openMetrics }) : undefined;
  const ring = new AgentRing(config.capacity, metrics, config.redact);
  const source = new RingObserverSource(ring, { nodeName: hub.nodeName(node), version: opts.version });
  const stopping = new AbortController();
  let server: RunningServer | undefined;
  let withdraw: (() => Promise<void>) | undefined;
  if (config.listenPort !== undefined) {
    server = await startObserverServer('127.0.0.1:0', source, {
      what: `Hubble on ${node}`,
      methods: [peerNotifyMethod(hub, stopping.signal)],
    });
    try {
      withdraw = await servePodPort(opts.net, config.listenPort, server.port, { loopback: config.loopbackOnly });
    } catch (err) {
      stopping.abort();
      await server.close();
      throw err;
    }
  }
  let metricsServer: MetricsServer | undefined;
  let withdrawMetrics: (() => Promise<void>) | undefined;
  let forgetMetrics: (() => void) | undefined;
  if (metrics && metricsConfig.port !== undefined) {
    try {
      metricsServer = await startMetricsServer(metrics, { openMetrics: metricsConfig.openMetrics });
      withdrawMetrics = await servePodPort(opts.net, metricsConfig.port, metricsServer.port, { loopback: metricsConfig.loopbackOnly });
    } catch (err) {
      stopping.abort();
      await withdraw?.();
      await server?.close();
      await metricsServer?.close();
      throw err;
    }
    forgetMetrics = hub.metricsStarted({ node, podIP: opts.ip, port: metricsConfig.port, address: `127.0.0.1:${metricsServer.port}` });
    log(
      `level=info msg="Starting Hubble Metrics server" subsys=hubble address=":${metricsConfig.port}" metrics="${metricsConfig.metrics.map((m) => m.name).join(',')}"`,
    );
  }
  const detach = hub.agentStarted(node, { ip: opts.ip, ring, ...(config.listenPort !== undefined ? { port: config.listenPort } : {}) });
  log(
    `level=info msg="Starting Hubble server" subsys=hubble bufferCapacity=${config.capacity}` +
      (config.listenPort !== undefined ? ` address=":${config.listenPort}"` : ''),
  );
  if (config.listenPort === undefined) {
    log('level=info msg="hubble-listen-address is empty: Hubble serves only its local socket, Relay cannot reach this node" subsys=hubble');
  }

  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    ring,
    port: config.listenPort,
    localAddress: server?.address,
    metrics,
    metricsAddress: metricsServer ? `127.0.0.1:${metricsServer.port}` : undefined,
    stop() {
      stopped ??= (async () => {
        detach();
        forgetMetrics?.();
        stopping.abort();
        await withdraw?.();
        await server?.close();
        await withdrawMetrics?.();
        await metricsServer?.close();
      })();
      return stopped;
    },
  };
}
