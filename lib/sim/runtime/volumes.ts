// Pod volumes as files: ConfigMap, Secret, downward API, projected and emptyDir volumes written under the pod's
// directory, and each container's mounts as links in its own root directory.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import type { PodSpecForRuntime, RuntimeClusterView } from './types.ts';

/** A volume that cannot be set up yet (a missing ConfigMap or Secret): the pod stays in ContainerCreating. */
export class VolumeMountError extends Error {}

export interface VolumeOptions {
  /** The token written for a serviceAccountToken projection. */
  serviceAccountToken(namespace: string, serviceAccount: string): string;
}

/** Keeps a path from a spec inside `root` (no absolute paths or `..` escaping it). */
function inside(root: string, rel: string): string {
  const clean = normalize(`/${rel}`).replace(/^\/+/, '');
  return join(root, clean);
}

async function writeFiles(dir: string, files: { path: string; content: string; mode?: number }[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const f of files) {
    const target = inside(dir, f.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, f.content, { mode: f.mode ?? 0o644 });
  }
}

function keyFiles(
  kind: 'configmap' | 'secret',
  name: string,
  data: Record<string, string> | undefined,
  src: Record<string, any>,
  defaultMode: number,
): { path: string; content: string; mode: number }[] {
  if (!data) {
    if (src.optional) return [];
    throw new VolumeMountError(`${kind} "${name}" not found`);
  }
  const items = src.items as Record<string, any>[] | undefined;
  if (!items?.length) return Object.entries(data).map(([key, content]) => ({ path: key, content, mode: defaultMode }));
  return items
    .map((item) => {
      if (!Object.hasOwn(data, item.key)) {
        if (src.optional) return undefined;
        throw new VolumeMountError(`configmap references non-existent config key: ${item.key}`);
      }
      return { path: String(item.path ?? item.key), content: data[item.key]!, mode: item.mode ?? defaultMode };
    })
    .filter((f): f is { path: string; content: string; mode: number } => f !== undefined);
}

function downwardFiles(spec: PodSpecForRuntime, items: Record<string, any>[], defaultMode: number): { path: string; content: string; mode: number }[] {
  const meta = spec.pod.metadata ?? {};
  const asLines = (m: Record<string, string> | undefined) =>
    Object.entries(m ?? {})
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join('\n');
  return items.map((item) => {
    const path = String(item.fieldRef?.fieldPath ?? '');
    const one = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
    const content =
      path === 'metadata.labels'
        ? asLines(meta.labels)
        : path === 'metadata.annotations'
          ? asLines(meta.annotations)
          : one
            ? String(meta[one[1]!]?.[one[2]!] ?? '')
            : path === 'metadata.name'
              ? spec.name
              : path === 'metadata.namespace'
                ? spec.namespace
                : path === 'metadata.uid'
                  ? spec.uid
                  : '';
    return { path: String(item.path), content, mode: item.mode ?? defaultMode };
  });
}

/** Writes every volume of the pod under `podDir/volumes/<name>`; returns name → directory. */
export async function materializeVolumes(
  podDir: string,
  spec: PodSpecForRuntime,
  cluster: RuntimeClusterView,
  opts: VolumeOptions,
): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const vol of (spec.pod.spec?.volumes ?? []) as Record<string, any>[]) {
    if (!vol?.name) continue;
    const dir = join(podDir, 'volumes', vol.name);
    const mode = (src: Record<string, any> | undefined) => (typeof src?.defaultMode === 'number' ? src.defaultMode : 0o644);
    let files: { path: string; content: string; mode?: number }[] = [];
    if (vol.configMap)
      files = keyFiles('configmap', vol.configMap.name, cluster.configMap(spec.namespace, vol.configMap.name), vol.configMap, mode(vol.configMap));
    else if (vol.secret) files = keyFiles('secret', vol.secret.secretName, cluster.secret(spec.namespace, vol.secret.secretName), vol.secret, mode(vol.secret));
    else if (vol.downwardAPI) files = downwardFiles(spec, vol.downwardAPI.items ?? [], mode(vol.downwardAPI));
    else if (vol.projected) {
      for (const source of (vol.projected.sources ?? []) as Record<string, any>[]) {
        const m = mode(vol.projected);
        if (source.configMap)
          files.push(...keyFiles('configmap', source.configMap.name, cluster.configMap(spec.namespace, source.configMap.name), source.configMap, m));
        else if (source.secret) files.push(...keyFiles('secret', source.secret.name, cluster.secret(spec.namespace, source.secret.name), source.secret, m));
        else if (source.downwardAPI) files.push(...downwardFiles(spec, source.downwardAPI.items ?? [], m));
        else if (source.serviceAccountToken) {
          const sa = String(spec.pod.spec?.serviceAccountName ?? 'default');
          files.push({ path: String(source.serviceAccountToken.path ?? 'token'), content: opts.serviceAccountToken(spec.namespace, sa), mode: m });
        }
      }
    }
    // emptyDir, hostPath and anything else: an empty directory of the pod's own (never the machine's files).
    await writeFiles(dir, files);
    dirs.set(vol.name, dir);
  }
  return dirs;
}

/** A container's mounts, mount path → real path, linked into `rootfs` so relative paths in the container work. */
export async function mountVolumes(rootfs: string, container: Record<string, any>, volumes: Map<string, string>): Promise<Map<string, string>> {
  const mounts = new Map<string, string>();
  await mkdir(rootfs, { recursive: true });
  for (const m of (container.volumeMounts ?? []) as Record<string, any>[]) {
    const volDir = volumes.get(m.name);
    if (!volDir || !m.mountPath) continue;
    const source = m.subPath ? inside(volDir, m.subPath) : volDir;
    const mountPath = normalize(String(m.mountPath)).replace(/\/+$/, '') || '/';
    const link = inside(rootfs, mountPath);
    await mkdir(dirname(link), { recursive: true });
    await symlink(source, link).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    mounts.set(mountPath, source);
  }
  return mounts;
}

/** Maps a container path to the real path: through the longest matching mount, else under the container's root. */
export function hostPath(rootfs: string, mounts: Map<string, string>, containerPath: string): string {
  const p = normalize(containerPath);
  let best: [string, string] | undefined;
  for (const [mountPath, real] of mounts) {
    if ((p === mountPath || p.startsWith(`${mountPath}/`)) && (!best || mountPath.length > best[0].length)) best = [mountPath, real];
  }
  return best ? join(best[1], p.slice(best[0].length)) : inside(rootfs, p);
}
