// peer.Peer as a Cilium agent serves it next to Hubble: Notify lists every node as PEER_ADDED, then streams the
// cluster's node changes until the caller leaves or the agent stops.
import type * as grpc from '@grpc/grpc-js';
import type { ChangeNotification } from '../../hubble/grpc/messages.ts';
import { peerService } from '../../hubble/grpc/services.ts';
import type { SimHubble } from './hub.ts';

type Empty = Record<string, never>;

export function peerNotifyService(
  hub: SimHubble,
  signal: AbortSignal,
): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
  const Notify: grpc.handleServerStreamingCall<Empty, ChangeNotification> = (call) => {
    // Peers are written as they change; the stream never needs more than the node count buffered.
    const unsubscribe = hub.onPeerChange((type, peer) => {
      if (!call.cancelled) call.write({ name: peer.name, address: peer.address, type });
    });
    for (const peer of hub.peers()) call.write({ name: peer.name, address: peer.address, type: 'PEER_ADDED' });
    const finish = () => {
      unsubscribe();
      signal.removeEventListener('abort', finish);
      if (!call.cancelled && !call.writableEnded) call.end();
    };
    call.on('cancelled', finish);
    call.on('error', finish);
    if (signal.aborted) finish();
    else signal.addEventListener('abort', finish, { once: true });
  };
  return { definition: peerService, implementation: { Notify } as grpc.UntypedServiceImplementation };
}
