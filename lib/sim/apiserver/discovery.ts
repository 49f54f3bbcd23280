// Legacy API discovery documents (/api, /apis, /api/v1, /apis/{group}/{version}) and /version, built from the resource table.
import { RESOURCES, groups, type ResourceInfo } from './resources.ts';

export const SIM_VERSION = {
  major: '1',
  minor: '31',
  gitVersion: 'v1.31.0-hubble-lab-sim',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-08-13T00:00:00Z',
  goVersion: 'go1.22.5',
  compiler: 'gc',
  platform: `${process.platform === 'darwin' ? 'darwin' : 'linux'}/${process.arch === 'arm64' ? 'arm64' : 'amd64'}`,
};

export function coreVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function groupList() {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups().map((g) => groupDoc(g.name, g.versions)),
  };
}

function groupDoc(name: string, versions: string[]) {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function group(name: string) {
  const g = groups().find((x) => x.name === name);
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(g.name, g.versions) } : undefined;
}

/** Verbs and kinds of the subresources we serve, as the real API server lists them. */
function subresourceDocs(info: ResourceInfo) {
  const docs: Record<string, unknown>[] = [];
  for (const sub of info.subresources) {
    const base = { name: `${info.resource}/${sub}`, singularName: '', namespaced: info.namespaced };
    switch (sub) {
      case 'status':
        docs.push({ ...base, kind: info.kind, verbs: ['get', 'patch', 'update'] });
        break;
      case 'scale':
        docs.push({ ...base, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
        break;
      case 'log':
        docs.push({ ...base, kind: info.kind, verbs: ['get'] });
        break;
      case 'portforward':
        docs.push({ ...base, kind: 'PodPortForwardOptions', verbs: ['create', 'get'] });
        break;
      case 'exec':
        docs.push({ ...base, kind: 'PodExecOptions', verbs: ['create', 'get'] });
        break;
      case 'attach':
        docs.push({ ...base, kind: 'PodAttachOptions', verbs: ['create', 'get'] });
        break;
      case 'finalize':
        docs.push({ ...base, kind: info.kind, verbs: ['update'] });
        break;
    }
  }
  return docs;
}

export function resourceList(groupName: string, version: string) {
  const infos = RESOURCES.filter((r) => r.group === groupName && r.version === version);
  if (infos.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const info of infos) {
    const doc: Record<string, unknown> = {
      name: info.resource,
      singularName: info.singular,
      namespaced: info.namespaced,
      kind: info.kind,
      verbs: info.verbs,
    };
    if (info.shortNames.length) doc.shortNames = info.shortNames;
    if (info.categories.length) doc.categories = info.categories;
    resources.push(doc, ...subresourceDocs(info));
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupName ? `${groupName}/${version}` : version,
    resources,
  };
}
