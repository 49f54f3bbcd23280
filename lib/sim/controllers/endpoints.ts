// Endpoints controller: each Service with a selector gets an Endpoints object listing its pods' addresses and ports.
import { R } from '../apiserver/resources.ts';
import { mapSelectorMatcher } from '../apiserver/selectors.ts';
import type { KObject } from '../apiserver/store.ts';
import { clone } from '../apiserver/json.ts';
import { is, keyOf, splitKey, type Controller, type ControllerContext } from './manager.ts';
import { isReady } from './podutil.ts';

/** A Service port's target on one pod: a number, or a named container port looked up in the pod. */
function targetPort(pod: KObject, port: any): number | undefined {
  const t = port.targetPort ?? port.port;
  if (typeof t === 'number') return t;
  if (/^\d+$/.test(String(t))) return Number(t);
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === t && (p.protocol ?? 'TCP') === (port.protocol ?? 'TCP')) return p.containerPort;
  }
  return undefined;
}

function address(pod: KObject): Record<string, unknown> {
  return {
    ip: pod.status.podIP,
    nodeName: pod.spec?.nodeName,
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
  };
}

/** Subsets grouped by the resolved port list, as the endpoints controller groups them. */
export function endpointSubsets(svc: KObject, pods: KObject[]): any[] {
  const groups = new Map<string, { addresses: any[]; notReadyAddresses: any[]; ports: any[] }>();
  for (const pod of pods) {
    if (!pod.status?.podIP || pod.metadata.deletionTimestamp) continue;
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    const ports = (svc.spec?.ports ?? [])
      .map((p: any) => {
        const n = targetPort(pod, p);
        if (n === undefined) return undefined;
        const out: Record<string, unknown> = { port: n, protocol: p.protocol ?? 'TCP' };
        if (p.name) out.name = p.name;
        if (p.appProtocol) out.appProtocol = p.appProtocol;
        return out;
      })
      .filter((p: unknown) => p !== undefined);
    if (ports.length === 0) continue;
    const k = JSON.stringify(ports);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { addresses: [], notReadyAddresses: [], ports }));
    if (isReady(pod) || svc.spec?.publishNotReadyAddresses) g.addresses.push(address(pod));
    else g.notReadyAddresses.push(address(pod));
  }
  const subsets: any[] = [];
  for (const g of groups.values()) {
    const s: Record<string, unknown> = {};
    const byIp = (a: any, b: any) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0);
    if (g.addresses.length) s.addresses = g.addresses.sort(byIp);
    if (g.notReadyAddresses.length) s.notReadyAddresses = g.notReadyAddresses.sort(byIp);
    s.ports = g.ports;
    subsets.push(s);
  }
  return subsets;
}

export function endpointsController(ctx: ControllerContext): Controller {
  const { store, registry } = ctx;
  return {
    name: 'endpoints',
    keysFor: (ev) => {
      if (is(ev, R.services)) return [keyOf(ev.object)];
      if (is(ev, R.endpoints) && ev.type === 'DELETED') return [keyOf(ev.object)];
      if (!is(ev, R.pods)) return [];
      const ns = ev.object.metadata.namespace;
      return store
        .list(R.services, ns)
        .filter((s) => {
          const m = mapSelectorMatcher(s.spec?.selector);
          return m(ev.object.metadata.labels) || (ev.old !== undefined && m(ev.old.metadata.labels));
        })
        .map(keyOf);
    },
    initialKeys: () => store.list(R.services).map(keyOf),
    reconcile(key) {
      const [ns, name] = splitKey(key);
      const svc = store.get(R.services, ns, name);
      if (!svc || !svc.spec?.selector || Object.keys(svc.spec.selector).length === 0 || svc.metadata.deletionTimestamp) return;
      const match = mapSelectorMatcher(svc.spec.selector);
      const subsets = endpointSubsets(
        svc,
        store.list(R.pods, ns).filter((p) => match(p.metadata.labels)),
      );
      const labels = clone(svc.metadata.labels ?? {});
      const body: KObject = { metadata: { name, namespace: ns, labels }, ...(subsets.length ? { subsets } : {}) };
      if (Object.keys(labels).length === 0) delete body.metadata.labels;
      const existing = store.get(R.endpoints, ns, name);
      if (!existing) {
        if (store.get(R.namespaces, '', ns)?.metadata.deletionTimestamp) return;
        registry.create(R.endpoints, ns, body);
        return;
      }
      registry.mutate(R.endpoints, ns, name, (o) => {
        o.metadata.labels = body.metadata.labels;
        if (!o.metadata.labels) delete o.metadata.labels;
        if (subsets.length) o.subsets = subsets;
        else delete o.subsets;
      });
    },
  };
}
