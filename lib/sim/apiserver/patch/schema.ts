// Which lists are merged by key (strategic merge patch and server-side apply) and by which keys, as Kubernetes' types declare.

/** The field names from the object's root to a list, without indices: ['spec','template','spec','containers']. */
export type FieldPath = readonly string[];

interface ListRule {
  /** Strategic merge patch's patchMergeKey. */
  mergeKey: string;
  /** Server-side apply's listMapKeys. */
  applyKeys: string[];
}

const POD_PORTS: ListRule = { mergeKey: 'containerPort', applyKeys: ['containerPort', 'protocol'] };

function rule(path: FieldPath): ListRule | undefined {
  const field = path[path.length - 1];
  const parent = path[path.length - 2];
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
    case 'resourceClaims':
      return { mergeKey: 'name', applyKeys: ['name'] };
    case 'volumeMounts':
      return { mergeKey: 'mountPath', applyKeys: ['mountPath'] };
    case 'volumeDevices':
      return { mergeKey: 'devicePath', applyKeys: ['devicePath'] };
    case 'hostAliases':
      return { mergeKey: 'ip', applyKeys: ['ip'] };
    case 'conditions':
      return { mergeKey: 'type', applyKeys: ['type'] };
    case 'ownerReferences':
      return { mergeKey: 'uid', applyKeys: ['uid'] };
    case 'topologySpreadConstraints':
      return { mergeKey: 'topologyKey', applyKeys: ['topologyKey', 'whenUnsatisfiable'] };
    case 'taints':
      return { mergeKey: 'key', applyKeys: ['key', 'effect'] };
    case 'addresses':
      return parent === 'status' ? { mergeKey: 'type', applyKeys: ['type'] } : undefined;
    case 'ports':
      // Container ports merge by containerPort, Service ports by port.
      if (parent === 'spec' && path.length === 2) return { mergeKey: 'port', applyKeys: ['port', 'protocol'] };
      return path.includes('containers') || path.includes('initContainers') ? POD_PORTS : undefined;
    default:
      return undefined;
  }
}

/** Strategic merge patch's merge key for the list at `path`, or undefined for lists that are replaced whole. */
export function mergeKeyOf(path: FieldPath): string | undefined {
  return rule(path)?.mergeKey;
}

/** Lists of scalars that strategic merge patch merges as sets. */
export function isMergedScalarList(path: FieldPath): boolean {
  return path.length === 2 && path[0] === 'metadata' && path[1] === 'finalizers';
}

/** Server-side apply's list-map keys for the list at `path`, or undefined for atomic lists. */
export function applyKeysOf(path: FieldPath): string[] | undefined {
  return rule(path)?.applyKeys;
}

/** Values a key field takes when unset, so `{containerPort: 80}` and `{containerPort: 80, protocol: TCP}` are one item. */
export function keyDefault(key: string): unknown {
  return key === 'protocol' ? 'TCP' : undefined;
}
