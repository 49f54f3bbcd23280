// Deleting objects and waiting until they are gone; reading a finished pod's log.
import { CoreV1Api, KubernetesObjectApi, type KubeConfig, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { apiError, callApi, isNotFound } from './errors.ts';
import { objectRef } from './objects.ts';
import { pollUntil, type WaitOptions } from './rollout.ts';

/** Deletes the object (dependents in the background) and waits until the API no longer has it. */
export async function deleteAndWait(kc: KubeConfig, obj: KubernetesObject, opts: WaitOptions): Promise<boolean> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  const ref = objectRef(obj);
  const key = { apiVersion: obj.apiVersion!, kind: obj.kind!, metadata: { name: obj.metadata!.name!, namespace: obj.metadata?.namespace } };
  try {
    await client.delete(key as KubernetesObject, undefined, undefined, 0, undefined, 'Background');
  } catch (err) {
    if (isNotFound(err)) return false;
    throw apiError(`delete ${ref}`, err);
  }
  await pollUntil(
    `${ref} to be deleted`,
    async () => {
      try {
        await client.read(key as KubernetesObject & { metadata: { name: string } });
        return 'still there';
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw apiError(`read ${ref}`, err);
      }
    },
    opts,
  );
  return true;
}

export async function podsOfJob(kc: KubeConfig, namespace: string, job: string): Promise<V1Pod[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const list = await callApi(`list pods of Job ${namespace}/${job}`, () => core.listNamespacedPod({ namespace, labelSelector: `job-name=${job}` }));
  return list.items;
}

export async function podLog(kc: KubeConfig, namespace: string, pod: string, container?: string): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  return callApi(`read the log of pod ${namespace}/${pod}`, () => core.readNamespacedPodLog({ namespace, name: pod, container }));
}

export async function waitForPodDone(kc: KubeConfig, namespace: string, name: string, opts: WaitOptions): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  let pod: V1Pod | undefined;
  await pollUntil(
    `pod ${namespace}/${name}`,
    async () => {
      pod = await callApi(`read pod ${namespace}/${name}`, () => core.readNamespacedPod({ namespace, name }));
      const phase = pod.status?.phase;
      return phase === 'Succeeded' || phase === 'Failed' ? undefined : `phase ${phase ?? 'Unknown'}`;
    },
    opts,
  );
  return pod!;
}
