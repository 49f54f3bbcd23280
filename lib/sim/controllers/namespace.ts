// Namespace lifecycle: a new namespace gets its default ServiceAccount and root CA ConfigMap; a deleted one is emptied, then removed.
import { R, RESOURCES } from '../apiserver/resources.ts';
import type { Controller, ControllerContext } from './manager.ts';

const NAMESPACED = RESOURCES.filter((r) => r.namespaced && !r.virtual);

export function namespaceController(ctx: ControllerContext, rootCA: () => string): Controller {
  const { store, registry } = ctx;
  const terminating = (ns: string | undefined) => !!ns && !!store.get(R.namespaces, '', ns)?.metadata.deletionTimestamp;
  return {
    name: 'namespace',
    keysFor(ev) {
      if (ev.res === R.namespaces) return ev.type === 'DELETED' ? [] : [ev.object.metadata.name!];
      const ns = ev.object.metadata.namespace;
      return ev.res.namespaced && terminating(ns) ? [ns!] : [];
    },
    initialKeys: () => store.list(R.namespaces).map((n) => n.metadata.name!),
    reconcile(name) {
      const ns = store.get(R.namespaces, '', name);
      if (!ns) return;
      if (!ns.metadata.deletionTimestamp) {
        if (!store.get(R.serviceaccounts, name, 'default')) registry.create(R.serviceaccounts, name, { metadata: { name: 'default' } });
        if (!store.get(R.configmaps, name, 'kube-root-ca.crt')) {
          registry.create(R.configmaps, name, {
            metadata: {
              name: 'kube-root-ca.crt',
              annotations: {
                'kubernetes.io/description':
                  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
              },
            },
            data: { 'ca.crt': rootCA() },
          });
        }
        return;
      }
      let left = 0;
      for (const info of NAMESPACED) {
        for (const obj of store.list(info, name)) {
          left++;
          if (obj.metadata.deletionTimestamp) continue;
          try {
            registry.delete(info, name, obj.metadata.name!, { propagationPolicy: 'Background' });
          } catch {
            // Deleted meanwhile.
          }
        }
      }
      if (left > 0) return 1000;
      registry.purge(R.namespaces, ns);
    },
  };
}
