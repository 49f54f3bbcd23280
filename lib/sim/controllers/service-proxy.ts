// The sim's kube-proxy: keeps the datapath's Service table (ClusterIP:port → ready endpoints) in step with
// Services and Endpoints, so pods reach Services by ClusterIP and cluster DNS names.
import { R } from '../apiserver/resources.ts';
import type { Datapath } from '../net/datapath.ts';
import { servicesFromObjects } from '../net/services.ts';
import { is, type Controller, type ControllerContext } from './manager.ts';

const KEY = '/services';

export function serviceProxyController(ctx: ControllerContext, datapath: Datapath): Controller {
  return {
    name: 'service-proxy',
    keysFor: (ev) => (is(ev, R.services) || is(ev, R.endpoints) ? [KEY] : []),
    initialKeys: () => [KEY],
    reconcile() {
      datapath.setServices(servicesFromObjects(ctx.store.list(R.services), ctx.store.list(R.endpoints)));
    },
  };
}
