// The resource table: every API resource the sim serves, with what discovery and the handlers need to know.

export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural, as in URLs: `deployments`. */
  resource: string;
  kind: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Subresources served: `status`, `scale`, `log`, `portforward`, `exec`, `attach`. */
  subresources: string[];
  /** metadata.generation counts spec changes. */
  tracksGeneration: boolean;
  /** Field selectors accepted besides metadata.name and metadata.namespace. */
  fieldSelectors: string[];
  /** Only `create` is served and nothing is stored (reviews). */
  virtual?: boolean;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function r(group: string, version: string, resource: string, kind: string, namespaced: boolean, extra: Partial<ResourceInfo> = {}): ResourceInfo {
  return {
    group,
    version,
    resource,
    kind,
    singular: kind.toLowerCase(),
    namespaced,
    shortNames: [],
    categories: [],
    verbs: ALL_VERBS,
    subresources: [],
    tracksGeneration: false,
    fieldSelectors: [],
    ...extra,
  };
}

const workload = { categories: ['all'], subresources: ['status'], tracksGeneration: true };

export const RESOURCES: readonly ResourceInfo[] = [
  r('', 'v1', 'namespaces', 'Namespace', false, {
    shortNames: ['ns'],
    subresources: ['status', 'finalize'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    fieldSelectors: ['status.phase'],
  }),
  r('', 'v1', 'nodes', 'Node', false, { shortNames: ['no'], subresources: ['status'], fieldSelectors: ['spec.unschedulable'] }),
  r('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  r('', 'v1', 'secrets', 'Secret', true, { fieldSelectors: ['type'] }),
  r('', 'v1', 'services', 'Service', true, {
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  }),
  r('', 'v1', 'endpoints', 'Endpoints', true, { singular: 'endpoints', shortNames: ['ep'] }),
  r('', 'v1', 'pods', 'Pod', true, {
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status', 'log', 'portforward', 'exec', 'attach'],
    fieldSelectors: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  }),
  r('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
  r('', 'v1', 'events', 'Event', true, {
    shortNames: ['ev'],
    fieldSelectors: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  }),
  r('apps', 'v1', 'deployments', 'Deployment', true, { ...workload, shortNames: ['deploy'], subresources: ['status', 'scale'] }),
  r('apps', 'v1', 'replicasets', 'ReplicaSet', true, { ...workload, shortNames: ['rs'], subresources: ['status', 'scale'] }),
  r('apps', 'v1', 'daemonsets', 'DaemonSet', true, { ...workload, shortNames: ['ds'] }),
  r('batch', 'v1', 'jobs', 'Job', true, { ...workload, fieldSelectors: ['status.successful'] }),
  r('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', true, {
    shortNames: ['netpol'],
    singular: 'networkpolicy',
    tracksGeneration: true,
  }),
  r('cilium.io', 'v2', 'ciliumnetworkpolicies', 'CiliumNetworkPolicy', true, {
    shortNames: ['cnp', 'ciliumnp'],
    categories: ['cilium', 'ciliumpolicy'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  r('cilium.io', 'v2', 'ciliumclusterwidenetworkpolicies', 'CiliumClusterwideNetworkPolicy', false, {
    shortNames: ['ccnp'],
    categories: ['cilium', 'ciliumpolicy'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  r('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  r('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, {
    verbs: ['create'],
    virtual: true,
  }),
];

const byPath = new Map<string, ResourceInfo>();
const byKind = new Map<string, ResourceInfo>();
for (const info of RESOURCES) {
  byPath.set(`${info.group}/${info.version}/${info.resource}`, info);
  byKind.set(`${apiVersionOf(info)}/${info.kind}`, info);
}

export function apiVersionOf(info: Pick<ResourceInfo, 'group' | 'version'>): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return byPath.get(`${group}/${version}/${resource}`);
}

/** The resource for an object's apiVersion and kind. */
export function resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return byKind.get(`${apiVersion}/${kind}`);
}

/** Looks up a resource the controllers use by its plural; throws for a typo in our own code. */
export function resource(group: string, plural: string): ResourceInfo {
  const info = RESOURCES.find((x) => x.group === group && x.resource === plural);
  if (!info) throw new Error(`no resource ${plural}.${group}`);
  return info;
}

export const R = {
  namespaces: resource('', 'namespaces'),
  nodes: resource('', 'nodes'),
  configmaps: resource('', 'configmaps'),
  secrets: resource('', 'secrets'),
  services: resource('', 'services'),
  endpoints: resource('', 'endpoints'),
  pods: resource('', 'pods'),
  serviceaccounts: resource('', 'serviceaccounts'),
  events: resource('', 'events'),
  deployments: resource('apps', 'deployments'),
  replicasets: resource('apps', 'replicasets'),
  daemonsets: resource('apps', 'daemonsets'),
  jobs: resource('batch', 'jobs'),
  networkpolicies: resource('networking.k8s.io', 'networkpolicies'),
  ciliumnetworkpolicies: resource('cilium.io', 'ciliumnetworkpolicies'),
} as const;

/** Groups in the order discovery lists them, each with its versions. */
export function groups(): { name: string; versions: string[] }[] {
  const out: { name: string; versions: string[] }[] = [];
  for (const info of RESOURCES) {
    if (!info.group) continue;
    let g = out.find((x) => x.name === info.group);
    if (!g) out.push((g = { name: info.group, versions: [] }));
    if (!g.versions.includes(info.version)) g.versions.push(info.version);
  }
  return out;
}
