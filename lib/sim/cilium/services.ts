// Service load balancing as the Cilium agent programs it: the datapath's Service table follows the API server's
// Services and Endpoints (ready addresses only), so ClusterIPs, cluster DNS among them, reach their pods.
import { R } from '../apiserver/resources.ts';
import type { Store } from '../apiserver/store.ts';
import type { Datapath } from '../net/datapath.ts';
import { servicesFromObjects } from '../net/services.ts';

/** Keeps the Service table in step with the store until the returned function is called. */
export function syncServices(store: Store, datapath: Datapath): () => void {
  let scheduled = false;
  let stopped = false;
  const apply = () => {
    scheduled = false;
    if (stopped) return;
    datapath.setServices(servicesFromObjects(store.list(R.services), store.list(R.endpoints)));
  };
  apply();
  const unsubscribe = store.subscribe((ev) => {
    if (ev.res !== R.services && ev.res !== R.endpoints) return;
    // A burst of changes (a Deployment's pods becoming ready) rebuilds the table once.
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(apply);
  });
  return () => {
    stopped = true;
    unsubscribe();
  };
}
