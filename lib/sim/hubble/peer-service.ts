// peer.Peer as a Cilium agent serves it next to Hubble: Notify lists every node as PEER_ADDED, then streams the
// cluster's node changes until the caller leaves or the agent stops.
import type { ChangeNotification } from '../../hubble/grpc/messages.ts';
import { peerService } from '../../hubble/grpc/services.ts';
import { streamMethod } from '../../hubble/grpc/h2-server.ts';
import type { SimHubble } from './hub.ts';

export function peerNotifyMethod(hub: SimHubble, signal: AbortSignal) {
  return streamMethod(peerService.Notify, async (_req, out, ctx) => {
    // Peers are written as they change; the stream never needs more than the node count buffered.
    const send = (n: ChangeNotification) => void out.send(n);
    const unsubscribe = hub.onPeerChange((type, peer) => send({ name: peer.name, address: peer.address, type }));
    try {
      for (const peer of hub.peers()) send({ name: peer.name, address: peer.address, type: 'PEER_ADDED' });
      // Until the caller leaves or the agent stops.
      await new Promise<void>((resolve) => {
        if (signal.aborted || ctx.signal.aborted) return resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
        ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      unsubscribe();
    }
  });
}
