// What deploy-monitoring applies (Prometheus, Grafana and the Secret with Grafana's password), also for teardown.
import type { KubernetesObject } from '@kubernetes/client-node';
import path from 'node:path';
import { loadManifests, manifestsDir } from './manifests.ts';

/** Where Prometheus and Grafana run. */
export const monitoringNamespace = 'kube-system';

const rbacKinds = new Set(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

/**
 * manifests/monitoring (Prometheus) and manifests/grafana (Grafana, the guide's example dashboard and the lab's).
 * The embedded cluster serves no RBAC API (its pods reach nothing through the API), so no roles there.
 */
export function monitoringManifests(sim: boolean): KubernetesObject[] {
  const objects = [...loadManifests(path.join(manifestsDir, 'monitoring')), ...loadManifests(path.join(manifestsDir, 'grafana'))];
  return sim ? objects.filter((o) => !rbacKinds.has(o.kind ?? '')) : objects;
}

/** The Secret holding Grafana's admin password: made once, never part of the manifests (no default password). */
export const grafanaSecret = 'grafana-admin';

/** Everything the task may create, for teardown: the manifests and the password's Secret. */
export function monitoringObjects(sim: boolean): KubernetesObject[] {
  return [...monitoringManifests(sim), { apiVersion: 'v1', kind: 'Secret', metadata: { name: grafanaSecret, namespace: monitoringNamespace } }];
}
