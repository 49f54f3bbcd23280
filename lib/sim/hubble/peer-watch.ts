// Relay's side of peer.Peer: follows Notify on the peer service and reports peers added, updated and deleted,
// reconnecting with backoff whenever the stream ends or the service cannot be reached.
import type { Duplex } from 'node:stream';
import { openH2Channel, type H2Channel } from '../../hubble/grpc/h2-client.ts';
import { GrpcStatusError } from '../../hubble/grpc/status.ts';
import { peerService } from '../../hubble/grpc/services.ts';
import { localForward, type LocalForward } from './forward.ts';
import { hubbleServerPort } from './hub.ts';

export interface PeerTarget {
  host: string;
  port: number;
}

/** host:port of a peer's address as Relay reads it: an IP alone means Hubble's default port 4244. */
export function peerTarget(address: string): PeerTarget | undefined {
  const a = address.trim();
  if (a === '') return undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(a);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : hubbleServerPort };
  const parts = a.split(':');
  if (parts.length === 2 && /^\d+$/.test(parts[1]!)) return { host: parts[0]!, port: Number(parts[1]) };
  return { host: a, port: hubbleServerPort };
}

export type PeerEvent = { type: 'PEER_ADDED' | 'PEER_UPDATED' | 'PEER_DELETED'; name: string; address: string };

export interface PeerWatchOptions {
  /** The peer service, as given to --peer-service. */
  service: PeerTarget;
  /** Opens a TCP stream from the Relay pod. */
  dial(host: string, port: number): Promise<Duplex>;
  onEvent(event: PeerEvent): void;
  /** Longest wait between reconnection attempts. */
  maxBackoffMs: number;
  log(line: string): void;
}

const notify = peerService.Notify;
const notifyRequest = notify.requestCodec.encode({});

/** Watches the peer service until stop(). */
export function watchPeers(opts: PeerWatchOptions): { stop(): Promise<void> } {
  let stopped = false;
  let forward: LocalForward | undefined;
  let channel: H2Channel | undefined;
  let call: AbortController | undefined;
  let wake: (() => void) | undefined;
  const where = `${opts.service.host}:${opts.service.port}`;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  /** One Notify stream; resolves when it ends, with whether it delivered anything. */
  const follow = async (target: string): Promise<boolean> => {
    let delivered = false;
    call = new AbortController();
    try {
      channel = await openH2Channel(target, { dialTimeoutMs: 5000, what: 'the peer service' });
      const notifications = channel.serverStream(notify.path, notifyRequest, notify.responseCodec.decodeRange, { signal: call.signal });
      for await (const n of notifications) {
        delivered = true;
        if (n.type === 'PEER_ADDED' || n.type === 'PEER_UPDATED' || n.type === 'PEER_DELETED') {
          opts.onEvent({ type: n.type, name: n.name ?? '', address: n.address ?? '' });
        }
      }
    } catch (err) {
      const reason = err instanceof GrpcStatusError ? err.details : (err as Error).message;
      if (!stopped) opts.log(`level=warning msg="Failed to receive peer change notifications" target=${where} error="${reason}"`);
    }
    return delivered;
  };

  const loop = async () => {
    let backoff = 200;
    while (!stopped) {
      forward = await localForward(() => opts.dial(opts.service.host, opts.service.port));
      if (stopped) {
        await forward.close();
        break;
      }
      const delivered = await follow(forward.address);
      channel?.close();
      await forward.close();
      if (stopped) break;
      backoff = delivered ? 200 : Math.min(backoff * 2, opts.maxBackoffMs);
      await sleep(backoff);
    }
  };
  const running = loop();

  return {
    async stop() {
      stopped = true;
      call?.abort();
      wake?.();
      await running;
    },
  };
}
