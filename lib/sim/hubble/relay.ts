// Hubble Relay in the sim: finds the agents through the Peer service, keeps a client per agent, and serves the
// merged Observer API (the shared server over RelayObserverSource) on the Relay pod's port.
import type { Duplex } from 'node:stream';
import { startObserverServer } from '../../hubble/server/observer-server.ts';
import { servePodPort, type PodPorts } from './forward.ts';
import { PeerPool } from './peer-pool.ts';
import { watchPeers } from './peer-watch.ts';
import type { RelayConfig } from './relay-config.ts';
import { RelayObserverSource } from './relay-source.ts';

export interface HubbleRelayOptions {
  config: RelayConfig;
  /** Opens a TCP stream from the Relay pod (through the datapath). */
  dial(host: string, port: number): Promise<Duplex>;
  /** The Relay pod's network, to serve on its port. */
  net: PodPorts;
  version: string;
  /** node_name on the node_status records Relay makes. */
  relayNodeName: string;
  /** How often connected agents are health-checked (default 1 s). */
  healthIntervalMs?: number;
  log?(line: string): void;
}

export interface HubbleRelay {
  readonly source: RelayObserverSource;
  readonly pool: PeerPool;
  /** The gRPC server's own 127.0.0.1 address, outside the pod network. */
  readonly localAddress: string;
  stop(): Promise<void>;
}

export async function startHubbleRelay(opts: HubbleRelayOptions): Promise<HubbleRelay> {
  const { config } = opts;
  const log = opts.log ?? (() => {});
  const pool = new PeerPool({
    dial: opts.dial,
    dialTimeoutMs: config.dialTimeoutMs,
    maxBackoffMs: config.retryTimeoutMs,
    healthIntervalMs: opts.healthIntervalMs ?? 1000,
    log,
  });
  const source = new RelayObserverSource({
    pool,
    version: opts.version,
    relayNodeName: opts.relayNodeName,
    sortBufferMaxLen: config.sortBufferMaxLen,
    sortBufferDrainMs: config.sortBufferDrainMs,
  });
  const server = await startObserverServer('127.0.0.1:0', source, { what: 'Hubble Relay' });
  let withdraw: () => Promise<void>;
  try {
    withdraw = await servePodPort(opts.net, config.listenPort, server.port);
  } catch (err) {
    await server.close();
    throw err;
  }
  log(
    `level=info msg="Starting gRPC server..." options="{peerTarget:${config.peerService.host}:${config.peerService.port} listenAddress::${config.listenPort}}" subsys=hubble-relay`,
  );
  const peers = watchPeers({
    service: config.peerService,
    dial: opts.dial,
    maxBackoffMs: config.retryTimeoutMs,
    log,
    onEvent: (e) => {
      if (e.type === 'PEER_DELETED') pool.remove(e.name);
      else pool.upsert(e.name, e.address);
    },
  });

  let stopped: Promise<void> | undefined;
  return {
    source,
    pool,
    localAddress: server.address,
    stop() {
      stopped ??= (async () => {
        await peers.stop();
        await withdraw();
        await server.close();
        await pool.close();
      })();
      return stopped;
    },
  };
}
