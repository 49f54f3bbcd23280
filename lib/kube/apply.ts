// Idempotent server-side apply: plan (read-only) which objects would change, then apply exactly those.
import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { apiError, isNotFound } from './errors.ts';
import { comparableDesired, objectRef, subsetDifferences, toModel, toPlain } from './objects.ts';

export const fieldManager = 'hubble-lab';

export interface ObjectChange {
  action: 'create' | 'update' | 'unchanged';
  ref: string;
  /** Paths that differ from the live object (update only). */
  paths: string[];
  object: KubernetesObject;
}

export async function planApply(kc: KubeConfig, objects: KubernetesObject[]): Promise<ObjectChange[]> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  const changes: ObjectChange[] = [];
  for (const object of objects) {
    const ref = objectRef(object);
    let live: KubernetesObject | undefined;
    try {
      live = await client.read({
        apiVersion: object.apiVersion!,
        kind: object.kind!,
        metadata: { name: object.metadata!.name!, namespace: object.metadata?.namespace },
      } as KubernetesObject & { metadata: { name: string } });
    } catch (err) {
      if (!isNotFound(err)) throw apiError(`read ${ref}`, err);
    }
    if (!live) {
      changes.push({ action: 'create', ref, paths: [], object });
      continue;
    }
    const paths = subsetDifferences(comparableDesired(object), toPlain(live));
    changes.push({ action: paths.length ? 'update' : 'unchanged', ref, paths, object });
  }
  return changes;
}

/** Server-side applies the objects of the changes that are not `unchanged`, in order. */
export async function applyChanges(kc: KubeConfig, changes: ObjectChange[]): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const change of changes) {
    if (change.action === 'unchanged') continue;
    try {
      await client.patch(toModel(change.object), undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
    } catch (err) {
      throw apiError(`apply ${change.ref}`, err);
    }
  }
}

export function describeChange(change: ObjectChange): string {
  if (change.action === 'update') {
    const shown = change.paths.slice(0, 4).join(', ');
    return `update ${change.ref} (${shown}${change.paths.length > 4 ? `, +${change.paths.length - 4} more` : ''})`;
  }
  return `${change.action} ${change.ref}`;
}
