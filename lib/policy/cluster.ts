// The policies a cluster holds (NetworkPolicy, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy), read through
// its API: apart from load.ts so that reading policy files does not load the Kubernetes client.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { callApi } from '../kube/errors.ts';
import type { LocatedPolicy } from './load.ts';

const clusterResources = [
  { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', kind: 'NetworkPolicy' },
  { group: 'cilium.io', version: 'v2', plural: 'ciliumnetworkpolicies', kind: 'CiliumNetworkPolicy' },
  { group: 'cilium.io', version: 'v2', plural: 'ciliumclusterwidenetworkpolicies', kind: 'CiliumClusterwideNetworkPolicy' },
];

/**
 * Every policy in the cluster, read as plain JSON (typed clients rename fields such as NetworkPolicy `from`).
 * A cluster without Cilium's CRDs simply has no Cilium policies.
 */
export async function readClusterPolicies(kc: KubeConfig): Promise<LocatedPolicy[]> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const out: LocatedPolicy[] = [];
  for (const r of clusterResources) {
    let list: { items?: Record<string, unknown>[] };
    try {
      list = (await callApi(`list ${r.plural}`, () => api.listClusterCustomObject({ group: r.group, version: r.version, plural: r.plural }))) as typeof list;
    } catch (err) {
      if (r.group === 'cilium.io' && / \(HTTP 404\)$/.test((err as Error).message)) continue;
      throw err;
    }
    for (const item of list.items ?? []) {
      const meta = (item.metadata ?? {}) as { name?: string; namespace?: string };
      out.push({
        object: { apiVersion: `${r.group}/${r.version}`, kind: r.kind, ...item },
        source: `cluster ${r.kind} ${meta.namespace ? `${meta.namespace}/` : ''}${meta.name ?? ''}`,
      });
    }
  }
  return out;
}
