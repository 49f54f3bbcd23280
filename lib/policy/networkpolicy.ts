// Kubernetes NetworkPolicy (networking.k8s.io/v1): validation, policyTypes defaulting and compilation.
import type { Endpoint, PodEndpoint, PolicyRef, Protocol } from './types.ts';
import {
  type CompiledPolicy,
  type CompiledRule,
  type DirectionPolicy,
  type MatchContext,
  PolicyInvalid,
  describeSelector,
  isObject,
  listField,
  objectField,
} from './compiled.ts';
import { compileLabelSelector, namespaceLabelsOf } from './selectors.ts';
import { type PortSpec, isPortName, portMatch, portMatches } from './ports.ts';
import { type Cidr, cidrWithin, parseCidr, worldInBlocks } from './cidr.ts';

export type PolicyType = 'Ingress' | 'Egress';

/**
 * spec.policyTypes as the API server defaults it: as written when given; otherwise Ingress, plus Egress when
 * the policy has egress rules.
 */
export function policyTypesDefault(policy: unknown): PolicyType[] {
  const spec = isObject(policy) && isObject(policy.spec) ? policy.spec : {};
  const given = spec.policyTypes;
  if (Array.isArray(given) && given.length > 0) return given.filter((t): t is PolicyType => t === 'Ingress' || t === 'Egress');
  const types: PolicyType[] = ['Ingress'];
  if (Array.isArray(spec.egress) && spec.egress.length > 0) types.push('Egress');
  return types;
}

type PeerMatch = (peer: Endpoint) => boolean;

function compileIpBlock(raw: unknown, path: string): PeerMatch {
  if (!isObject(raw)) throw new PolicyInvalid(path, 'must be an object');
  const cidr = typeof raw.cidr === 'string' ? parseCidr(raw.cidr, true) : undefined;
  if (!cidr) throw new PolicyInvalid(`${path}.cidr`, `must be a CIDR such as 10.0.0.0/8, not ${JSON.stringify(raw.cidr)}`);
  const except: Cidr[] = listField(raw, 'except', path).map((e, i) => {
    const c = typeof e === 'string' ? parseCidr(e, true) : undefined;
    if (!c) throw new PolicyInvalid(`${path}.except[${i}]`, `must be a CIDR, not ${JSON.stringify(e)}`);
    if (!cidrWithin(c, cidr) || c.prefix <= cidr.prefix) throw new PolicyInvalid(`${path}.except[${i}]`, `must be a strict subset of ${String(raw.cidr)}`);
    return c;
  });
  return worldInBlocks([{ cidr, except }]);
}

function compilePeer(raw: unknown, path: string, namespace: string): PeerMatch {
  if (!isObject(raw)) throw new PolicyInvalid(path, 'must be an object');
  const hasPods = raw.podSelector !== undefined && raw.podSelector !== null;
  const hasNamespaces = raw.namespaceSelector !== undefined && raw.namespaceSelector !== null;
  const hasIpBlock = raw.ipBlock !== undefined && raw.ipBlock !== null;
  if (hasIpBlock) {
    if (hasPods || hasNamespaces) throw new PolicyInvalid(path, 'may not specify ipBlock together with podSelector or namespaceSelector');
    return compileIpBlock(raw.ipBlock, `${path}.ipBlock`);
  }
  if (!hasPods && !hasNamespaces) throw new PolicyInvalid(path, 'must specify a peer (podSelector, namespaceSelector or ipBlock)');
  const pods = hasPods ? compileLabelSelector(raw.podSelector, `${path}.podSelector`) : () => true;
  const namespaces = hasNamespaces ? compileLabelSelector(raw.namespaceSelector, `${path}.namespaceSelector`) : undefined;
  return (peer) => {
    if (peer.kind !== 'pod') return false;
    // podSelector alone selects in the policy's namespace; with a namespaceSelector, in the namespaces it selects.
    const inNamespace = namespaces ? namespaces(namespaceLabelsOf(peer)) : peer.namespace === namespace;
    return inNamespace && pods(peer.labels);
  };
}

function compilePort(raw: unknown, path: string): PortSpec {
  if (!isObject(raw)) throw new PolicyInvalid(path, 'must be an object');
  const protocol = (raw.protocol ?? 'TCP') as Protocol;
  if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') {
    throw new PolicyInvalid(`${path}.protocol`, `"${String(raw.protocol)}" is not one of TCP, UDP, SCTP`);
  }
  const spec: PortSpec = { protocol };
  const { port, endPort } = raw;
  if (typeof port === 'number') {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new PolicyInvalid(`${path}.port`, 'must be between 1 and 65535');
    spec.port = port;
  } else if (typeof port === 'string') {
    if (!isPortName(port) || port.length > 15 || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(port)) {
      throw new PolicyInvalid(`${path}.port`, `${JSON.stringify(port)} is not a port number or a valid port name`);
    }
    spec.name = port;
  } else if (port !== undefined && port !== null) {
    throw new PolicyInvalid(`${path}.port`, 'must be a number or a port name');
  }
  if (endPort !== undefined && endPort !== null) {
    if (spec.port === undefined) throw new PolicyInvalid(`${path}.endPort`, 'may only be set with a numeric port');
    if (typeof endPort !== 'number' || !Number.isInteger(endPort) || endPort < spec.port || endPort > 65535) {
      throw new PolicyInvalid(`${path}.endPort`, `must be a number between port (${spec.port}) and 65535`);
    }
    spec.endPort = endPort;
  }
  return spec;
}

function compileRules(spec: Record<string, unknown>, field: 'ingress' | 'egress', ref: PolicyRef, namespace: string): CompiledRule[] {
  const peersField = field === 'ingress' ? 'from' : 'to';
  return listField(spec, field, 'spec').map((raw, i) => {
    const path = `spec.${field}[${i}]`;
    if (!isObject(raw)) throw new PolicyInvalid(path, 'must be an object');
    // An empty or missing list means "every peer" / "every port".
    const peers = listField(raw, peersField, path).map((p, j) => compilePeer(p, `${path}.${peersField}[${j}]`, namespace));
    const ports = listField(raw, 'ports', path).map((p, j) => compilePort(p, `${path}.ports[${j}]`));
    return {
      policy: ref,
      path,
      deny: false,
      matchesPeer: peers.length === 0 ? () => true : (ctx: MatchContext) => peers.some((m) => m(ctx.peer)),
      matchesPort: ports.length === 0 ? () => true : (ctx: MatchContext) => ports.some((p) => portMatches(p, ctx)),
      l3: peers.length > 0,
      l4: (ctx: MatchContext) => portMatch(ports, ctx),
    };
  });
}

/** Compiles one NetworkPolicy object; throws PolicyInvalid naming the field the API server would refuse. */
export function compileNetworkPolicy(obj: Record<string, unknown>): CompiledPolicy {
  const meta = objectField(obj, 'metadata', '') ?? {};
  const name = meta.name;
  const namespace = meta.namespace;
  if (typeof name !== 'string' || name === '') throw new PolicyInvalid('metadata.name', 'is required');
  if (typeof namespace !== 'string' || namespace === '') throw new PolicyInvalid('metadata.namespace', 'is required');
  const ref: PolicyRef = { kind: 'NetworkPolicy', name, namespace, ...(typeof meta.uid === 'string' ? { uid: meta.uid } : {}) };
  const spec = objectField(obj, 'spec', '');
  if (!spec) throw new PolicyInvalid('spec', 'is required');

  const declared = listField(spec, 'policyTypes', 'spec');
  declared.forEach((t, i) => {
    if (t !== 'Ingress' && t !== 'Egress') throw new PolicyInvalid(`spec.policyTypes[${i}]`, `"${String(t)}" is not one of Ingress, Egress`);
  });
  const types = policyTypesDefault(obj);
  const subject = compileLabelSelector(spec.podSelector ?? {}, 'spec.podSelector');
  // Rules are compiled (and so validated) even for a direction policyTypes leaves out, which then ignores them.
  const ingressRules = compileRules(spec, 'ingress', ref, namespace);
  const egressRules = compileRules(spec, 'egress', ref, namespace);
  const direction = (type: PolicyType, rules: CompiledRule[]): DirectionPolicy | undefined => (types.includes(type) ? { isolates: true, rules } : undefined);

  const compiled: CompiledPolicy = {
    ref,
    namespace,
    selector: describeSelector(spec.podSelector),
    selects: (pod: PodEndpoint) => pod.namespace === namespace && subject(pod.labels),
  };
  const ingress = direction('Ingress', ingressRules);
  const egress = direction('Egress', egressRules);
  if (ingress) compiled.ingress = ingress;
  if (egress) compiled.egress = egress;
  return compiled;
}
