// A container's environment as the kubelet builds it: image defaults, Service links, envFrom, env with fieldRef,
// configMapKeyRef and secretKeyRef, and $(VAR) expansion.
import type { PodSpecForRuntime, RuntimeClusterView } from './types.ts';
import type { ServiceEntry } from '../net/services.ts';
import { apiServiceIP } from '../net/addresses.ts';

/** A reference the kubelet cannot resolve yet: the container waits with CreateContainerConfigError. */
export class ContainerConfigError extends Error {}

/** Replaces $(VAR) with known values; $$(VAR) escapes to $(VAR); unknown references stay as written (Kubernetes rules). */
export function expandVars(value: string, vars: Record<string, string>): string {
  return value.replace(/\$(\$|\(([A-Za-z_][A-Za-z0-9_.-]*)\))/g, (whole, _m, name: string | undefined) => {
    if (name === undefined) return '$';
    return Object.hasOwn(vars, name) ? vars[name]! : whole;
  });
}

function fieldValue(spec: PodSpecForRuntime, path: string): string {
  const pod = spec.pod;
  const labelOrAnnotation = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (labelOrAnnotation) return String(pod.metadata?.[labelOrAnnotation[1]!]?.[labelOrAnnotation[2]!] ?? '');
  switch (path) {
    case 'metadata.name':
      return spec.name;
    case 'metadata.namespace':
      return spec.namespace;
    case 'metadata.uid':
      return spec.uid;
    case 'spec.nodeName':
      return spec.nodeName;
    case 'spec.serviceAccountName':
      return String(pod.spec?.serviceAccountName ?? 'default');
    case 'status.podIP':
      return spec.podIP;
    case 'status.podIPs':
      return spec.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return String(pod.status?.hostIP ?? '');
    default:
      throw new ContainerConfigError(`unsupported fieldRef path "${path}"`);
  }
}

function keyRef(kind: 'configmap' | 'secret', data: Record<string, string> | undefined, ref: Record<string, any>): string | undefined {
  if (!data) {
    if (ref.optional) return undefined;
    throw new ContainerConfigError(`${kind} "${ref.name}" not found`);
  }
  if (!Object.hasOwn(data, ref.key)) {
    if (ref.optional) return undefined;
    throw new ContainerConfigError(`couldn't find key ${ref.key} in ${kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${ref.name}`);
  }
  return data[ref.key];
}

/** The Docker-link style variables Kubernetes injects for each Service of the pod's namespace. */
export function serviceLinkEnv(services: ServiceEntry[], namespace: string, enableServiceLinks: boolean): Record<string, string> {
  const env: Record<string, string> = {};
  const add = (svc: ServiceEntry) => {
    if (!svc.clusterIP || svc.ports.length === 0) return;
    const prefix = svc.name.toUpperCase().replace(/-/g, '_');
    const first = svc.ports[0]!;
    env[`${prefix}_SERVICE_HOST`] = svc.clusterIP;
    env[`${prefix}_SERVICE_PORT`] = String(first.port);
    for (const p of svc.ports) if (p.name) env[`${prefix}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port);
    env[`${prefix}_PORT`] = `${first.protocol.toLowerCase()}://${svc.clusterIP}:${first.port}`;
    for (const p of svc.ports) {
      const base = `${prefix}_PORT_${p.port}_${p.protocol}`;
      env[base] = `${p.protocol.toLowerCase()}://${svc.clusterIP}:${p.port}`;
      env[`${base}_PROTO`] = p.protocol.toLowerCase();
      env[`${base}_PORT`] = String(p.port);
      env[`${base}_ADDR`] = svc.clusterIP;
    }
  };
  if (enableServiceLinks) for (const svc of services) if (svc.namespace === namespace) add(svc);
  // The API server's Service is announced to every pod, even with enableServiceLinks false.
  const api = services.find((s) => s.namespace === 'default' && s.name === 'kubernetes');
  add(api ?? { namespace: 'default', name: 'kubernetes', clusterIP: apiServiceIP, ports: [{ name: 'https', protocol: 'TCP', port: 443, backends: [] }] });
  return env;
}

export interface EnvInputs {
  spec: PodSpecForRuntime;
  container: Record<string, any>;
  cluster: RuntimeClusterView;
  services: ServiceEntry[];
  /** Variables the image sets (ENV in its Dockerfile). */
  imageEnv: Record<string, string>;
}

/** The container's environment, in the kubelet's precedence; throws ContainerConfigError on a missing reference. */
export function containerEnv({ spec, container, cluster, services, imageEnv }: EnvInputs): Record<string, string> {
  const hostname = String(spec.pod.spec?.hostname ?? spec.name);
  // What $(VAR) may reference: Service variables, envFrom and earlier env entries, not the image's variables.
  const referable: Record<string, string> = serviceLinkEnv(services, spec.namespace, spec.pod.spec?.enableServiceLinks !== false);
  for (const from of (container.envFrom ?? []) as Record<string, any>[]) {
    const prefix = String(from.prefix ?? '');
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const data = from.configMapRef ? cluster.configMap(spec.namespace, ref.name) : cluster.secret(spec.namespace, ref.name);
    if (!data) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${from.configMapRef ? 'configmap' : 'secret'} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(data)) referable[prefix + k] = v;
  }
  for (const e of (container.env ?? []) as Record<string, any>[]) {
    if (!e?.name) continue;
    let value: string | undefined;
    if (e.valueFrom?.fieldRef) value = fieldValue(spec, String(e.valueFrom.fieldRef.fieldPath));
    else if (e.valueFrom?.configMapKeyRef)
      value = keyRef('configmap', cluster.configMap(spec.namespace, e.valueFrom.configMapKeyRef.name), e.valueFrom.configMapKeyRef);
    else if (e.valueFrom?.secretKeyRef) value = keyRef('secret', cluster.secret(spec.namespace, e.valueFrom.secretKeyRef.name), e.valueFrom.secretKeyRef);
    else if (e.valueFrom?.resourceFieldRef) value = resourceValue(container, e.valueFrom.resourceFieldRef);
    else value = expandVars(String(e.value ?? ''), referable);
    if (value !== undefined) referable[e.name] = value;
  }
  return { ...imageEnv, HOSTNAME: hostname, ...referable };
}

/** limits.cpu / requests.memory … as the kubelet reports them (cpu rounded up to whole cores, memory in bytes). */
function resourceValue(container: Record<string, any>, ref: Record<string, any>): string {
  const [kind, resource] = String(ref.resource).split('.') as [string, string];
  const raw = container.resources?.[kind]?.[resource];
  if (raw === undefined) return resource === 'cpu' ? '2' : String(8 * 2 ** 30);
  const s = String(raw);
  if (resource === 'cpu') return String(Math.max(1, Math.ceil(s.endsWith('m') ? Number(s.slice(0, -1)) / 1000 : Number(s))));
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  const m = /^(\d+(?:\.\d+)?)([A-Za-z]*)$/.exec(s);
  return m ? String(Math.round(Number(m[1]) * (units[m[2]!] ?? 1))) : s;
}
