// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2): validation as the agent does it, and compilation.
import type { DnsRule, HttpRule, L7Rules, PolicyKind, PolicyRef, Protocol } from './types.ts';
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
import { type CiliumMatcher, type SelectorScope, ciliumLabelMatcher, compileCiliumPeerSelector, compileCiliumSubjectSelector } from './selectors.ts';
import { type PortSpec, isPortName, portMatch, portMatches } from './ports.ts';
import { type Cidr, type CidrBlock, cidrWithin, parseCidr, worldInBlocks } from './cidr.ts';
import { compileDnsRule, compileHttpRule, dnsRuleAllows } from './l7.ts';

type Direction = 'ingress' | 'egress';
type PeerMatch = (ctx: MatchContext) => boolean;

const reserved = (name: string): CiliumMatcher => ciliumLabelMatcher({ [`reserved:${name}`]: '' });

function entityMatcher(entity: string, clusterName: string): CiliumMatcher | undefined {
  switch (entity) {
    case 'all':
      return () => true;
    case 'cluster': {
      const members = ['host', 'remote-node', 'init', 'health', 'unmanaged'].map(reserved);
      members.push(ciliumLabelMatcher({ 'k8s:io.cilium.k8s.policy.cluster': clusterName }));
      return (labels) => members.some((m) => m(labels));
    }
    case 'world':
    case 'host':
    case 'remote-node':
    case 'kube-apiserver':
    case 'health':
    case 'init':
    case 'unmanaged':
    case 'ingress':
    case 'none':
      return reserved(entity);
    default:
      return undefined;
  }
}

/** Rule fields this evaluator does not model; a policy using them is refused rather than half-applied. */
const unsupported: Record<Direction, string[]> = {
  ingress: ['fromRequires', 'fromGroups', 'fromNodes', 'authentication'],
  egress: ['toRequires', 'toGroups', 'toNodes', 'toServices', 'authentication'],
};

const l3Fields: Record<Direction, string[]> = {
  ingress: ['fromEndpoints', 'fromEntities', 'fromCIDR', 'fromCIDRSet'],
  egress: ['toEndpoints', 'toEntities', 'toCIDR', 'toCIDRSet', 'toFQDNs'],
};

function worldIn(blocks: CidrBlock[]): PeerMatch {
  const inBlocks = worldInBlocks(blocks);
  return (ctx) => inBlocks(ctx.peer);
}

function compileCidr(raw: unknown, path: string): Cidr {
  const c = typeof raw === 'string' ? parseCidr(raw) : undefined;
  if (!c) throw new PolicyInvalid(path, `unable to parse CIDR ${JSON.stringify(raw)}`);
  return c;
}

/** The L3 part of one rule: which peers it selects, or undefined when it names no peer at all. */
function compilePeers(rule: Record<string, unknown>, dir: Direction, path: string, scope: SelectorScope, clusterName: string): PeerMatch | undefined {
  const present = l3Fields[dir].filter((f) => listField(rule, f, path).length > 0);
  if (present.length > 1) throw new PolicyInvalid(path, `Combining ${present[0]} and ${present[1]} is not supported yet`);
  const field = present[0];
  if (field === undefined) return undefined;
  const items = listField(rule, field, path);
  const at = (i: number) => `${path}.${field}[${i}]`;
  switch (field) {
    case 'fromEndpoints':
    case 'toEndpoints': {
      const selectors = items.map((s, i) => compileCiliumPeerSelector(s, at(i), scope));
      return (ctx) => {
        const labels = ctx.peerLabels();
        return selectors.some((m) => m(labels));
      };
    }
    case 'fromEntities':
    case 'toEntities': {
      const entities = items.map((e, i) => {
        const m = typeof e === 'string' ? entityMatcher(e, clusterName) : undefined;
        if (!m) throw new PolicyInvalid(at(i), `unsupported entity: ${String(e)}`);
        return m;
      });
      return (ctx) => {
        const labels = ctx.peerLabels();
        return entities.some((m) => m(labels));
      };
    }
    case 'fromCIDR':
    case 'toCIDR':
      return worldIn(items.map((c, i) => ({ cidr: compileCidr(c, at(i)), except: [] })));
    case 'fromCIDRSet':
    case 'toCIDRSet':
      return worldIn(
        items.map((raw, i) => {
          if (!isObject(raw)) throw new PolicyInvalid(at(i), 'must be an object');
          if (raw.cidrGroupRef !== undefined || raw.cidrGroupSelector !== undefined) {
            throw new PolicyInvalid(at(i), 'CiliumCIDRGroup references are not supported');
          }
          const cidr = typeof raw.cidr === 'string' ? parseCidr(raw.cidr, true) : undefined;
          if (!cidr) throw new PolicyInvalid(`${at(i)}.cidr`, `unable to parse CIDRRule ${JSON.stringify(raw.cidr)}`);
          const except = listField(raw, 'except', at(i)).map((e, j) => {
            const c = compileCidr(e, `${at(i)}.except[${j}]`);
            if (!cidrWithin(c, cidr))
              throw new PolicyInvalid(`${at(i)}.except[${j}]`, `allow CIDR prefix ${String(raw.cidr)} does not contain exclude CIDR prefix ${String(e)}`);
            return c;
          });
          return { cidr, except };
        }),
      );
    case 'toFQDNs': {
      const rules: DnsRule[] = items.map((r, i) => compileDnsRule(r, at(i)));
      // Names come from what the DNS proxy saw resolve to this IP; only names outside the cluster qualify.
      return ({ peer }) => peer.kind === 'world' && (peer.names ?? []).some((n) => dnsRuleAllows(rules, n));
    }
    default:
      return undefined;
  }
}

function compilePortProtocol(raw: unknown, path: string): PortSpec {
  if (!isObject(raw)) throw new PolicyInvalid(path, 'must be an object');
  const proto = String(raw.protocol ?? 'ANY').toUpperCase();
  if (!['TCP', 'UDP', 'SCTP', 'ANY'].includes(proto)) throw new PolicyInvalid(`${path}.protocol`, `unsupported protocol ${JSON.stringify(raw.protocol)}`);
  const spec: PortSpec = { protocol: proto === 'ANY' ? undefined : (proto as Protocol) };
  const portText = typeof raw.port === 'number' ? String(raw.port) : raw.port;
  if (typeof portText !== 'string' || portText === '') throw new PolicyInvalid(`${path}.port`, 'Port must be specified');
  if (isPortName(portText)) {
    spec.name = portText.toLowerCase();
  } else {
    const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 0 && port <= 65535)) throw new PolicyInvalid(`${path}.port`, `Unable to parse port ${JSON.stringify(raw.port)}`);
    // Port 0 means every port of the protocol.
    if (port !== 0) spec.port = port;
  }
  const endPort = raw.endPort;
  if (endPort !== undefined && endPort !== null && endPort !== 0) {
    if (typeof endPort !== 'number' || !Number.isInteger(endPort) || endPort > 65535) throw new PolicyInvalid(`${path}.endPort`, 'must be a port number');
    if (spec.port !== undefined && endPort > spec.port) spec.endPort = endPort;
  }
  return spec;
}

/** The rules.http / rules.dns of one toPorts entry, checked as the agent checks them. */
function compileL7(raw: unknown, ports: PortSpec[], dir: Direction, path: string): L7Rules | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) throw new PolicyInvalid(path, 'must be an object');
  for (const f of ['kafka', 'l7proto', 'l7']) {
    if (raw[f] !== undefined) throw new PolicyInvalid(`${path}.${f}`, 'only http and dns rules are supported');
  }
  const http = listField(raw, 'http', path);
  const dns = listField(raw, 'dns', path);
  const hasHttp = raw.http !== undefined && raw.http !== null;
  const hasDns = raw.dns !== undefined && raw.dns !== null;
  if (hasHttp && hasDns) throw new PolicyInvalid(path, 'multiple L7 protocol rule types specified in single rule');
  if (http.length === 0 && dns.length === 0) return undefined;
  if (ports.length === 0) throw new PolicyInvalid(path, 'L7 rules need ports');
  if (ports.some((p) => p.port === undefined && p.name === undefined)) throw new PolicyInvalid(path, 'L7 rules can not be used when a port is 0');
  if (dns.length > 0) {
    if (dir === 'ingress') throw new PolicyInvalid(path, 'DNS rules are not allowed on ingress');
    if (ports.some((p) => p.endPort !== undefined)) throw new PolicyInvalid(path, 'DNS rules do not support port ranges');
    return { kind: 'dns', rules: dns.map((r, i) => compileDnsRule(r, `${path}.dns[${i}]`)) };
  }
  if (ports.some((p) => p.protocol !== 'TCP')) throw new PolicyInvalid(path, 'L7 rules can only apply to TCP except for DNS rules');
  const rules: HttpRule[] = http.map((r, i) => compileHttpRule(r, `${path}.http[${i}]`));
  return { kind: 'http', rules };
}

interface RuleContext {
  ref: PolicyRef;
  scope: SelectorScope;
  clusterName: string;
}

/** One ingress/egress (deny) rule becomes one compiled rule per toPorts entry. */
function compileRule(raw: unknown, dir: Direction, deny: boolean, path: string, rc: RuleContext): CompiledRule[] {
  if (!isObject(raw)) throw new PolicyInvalid(path, 'must be an object');
  for (const f of unsupported[dir]) {
    if (raw[f] !== undefined && raw[f] !== null) throw new PolicyInvalid(`${path}.${f}`, 'is not supported by this evaluator');
  }
  const peers = compilePeers(raw, dir, path, rc.scope, rc.clusterName);
  const toPorts = listField(raw, 'toPorts', path);
  const icmps = listField(raw, 'icmps', path);
  if (icmps.length > 0 && toPorts.length > 0) {
    throw new PolicyInvalid(path, 'The ICMPs block may only be present without ToPorts. Define a separate rule to use ToPorts.');
  }
  // An ICMP-only rule never matches TCP, UDP or SCTP; a rule naming neither peers nor ports matches nothing.
  if (icmps.length > 0 || (peers === undefined && toPorts.length === 0)) return [];
  const matchesPeer = peers ?? (() => true);
  // The `all` entity is Cilium's wildcard selector: an entry for any peer, like a rule naming none.
  const entities = listField(raw, dir === 'ingress' ? 'fromEntities' : 'toEntities', path);
  const l3 = peers !== undefined && !entities.includes('all');
  if (toPorts.length === 0) return [{ policy: rc.ref, path, deny, matchesPeer, matchesPort: () => true, l3, l4: () => 'any' }];
  return toPorts.map((pr, i) => {
    const at = `${path}.toPorts[${i}]`;
    if (!isObject(pr)) throw new PolicyInvalid(at, 'must be an object');
    for (const f of ['listener', 'terminatingTLS', 'originatingTLS', 'serverNames']) {
      if (pr[f] !== undefined && pr[f] !== null) throw new PolicyInvalid(`${at}.${f}`, 'is not supported by this evaluator');
    }
    const ports = listField(pr, 'ports', at).map((p, j) => compilePortProtocol(p, `${at}.ports[${j}]`));
    if (deny && pr.rules !== undefined && pr.rules !== null) throw new PolicyInvalid(`${at}.rules`, 'deny rules do not support L7 rules');
    const l7 = compileL7(pr.rules, ports, dir, `${at}.rules`);
    const rule: CompiledRule = {
      policy: rc.ref,
      path: at,
      deny,
      matchesPeer,
      matchesPort: ports.length === 0 ? () => true : (ctx) => ports.some((p) => portMatches(p, ctx)),
      l3,
      l4: (ctx) => portMatch(ports, ctx),
    };
    if (l7) rule.l7 = l7;
    return rule;
  });
}

function compileDirection(spec: Record<string, unknown>, dir: Direction, path: string, rc: RuleContext): DirectionPolicy | undefined {
  const denyField = `${dir}Deny`;
  const allows = listField(spec, dir, path);
  const denies = listField(spec, denyField, path);
  const rules = [
    ...allows.flatMap((r, i) => compileRule(r, dir, false, `${path}.${dir}[${i}]`, rc)),
    ...denies.flatMap((r, i) => compileRule(r, dir, true, `${path}.${denyField}[${i}]`, rc)),
  ];
  const defaults = objectField(spec, 'enableDefaultDeny', path) ?? {};
  const explicit = defaults[dir];
  if (explicit !== undefined && explicit !== null && typeof explicit !== 'boolean') {
    throw new PolicyInvalid(`${path}.enableDefaultDeny.${dir}`, 'must be true or false');
  }
  // Default deny defaults to on for a direction the rule has (allow or deny) rules for.
  const isolates = typeof explicit === 'boolean' ? explicit : allows.length > 0 || denies.length > 0;
  if (!isolates && allows.length === 0 && denies.length === 0) return undefined;
  return { isolates, rules };
}

function compileCiliumRule(spec: unknown, path: string, rc: RuleContext): CompiledPolicy {
  if (!isObject(spec)) throw new PolicyInvalid(path, 'must be an object');
  if (spec.nodeSelector !== undefined && spec.nodeSelector !== null) {
    throw new PolicyInvalid(`${path}.nodeSelector`, 'host policies select nodes, not pods, and are not evaluated');
  }
  if (spec.endpointSelector === undefined || spec.endpointSelector === null) {
    throw new PolicyInvalid(path, 'rule must have one of EndpointSelector or NodeSelector');
  }
  if (['ingress', 'ingressDeny', 'egress', 'egressDeny'].every((f) => listField(spec, f, path).length === 0)) {
    throw new PolicyInvalid(path, 'rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny');
  }
  const subject = compileCiliumSubjectSelector(spec.endpointSelector, `${path}.endpointSelector`, rc.scope);
  const compiled: CompiledPolicy = {
    ref: rc.ref,
    namespace: rc.scope.namespace,
    selector: describeSelector(spec.endpointSelector),
    selects: (_pod, podLabels) => subject(podLabels()),
  };
  const ingress = compileDirection(spec, 'ingress', path, rc);
  const egress = compileDirection(spec, 'egress', path, rc);
  if (ingress) compiled.ingress = ingress;
  if (egress) compiled.egress = egress;
  return compiled;
}

/** Compiles a CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy: one compiled policy per rule (spec, specs[]). */
export function compileCiliumPolicy(obj: Record<string, unknown>, kind: Exclude<PolicyKind, 'NetworkPolicy'>, clusterName: string): CompiledPolicy[] {
  const meta = objectField(obj, 'metadata', '') ?? {};
  const { name } = meta;
  if (typeof name !== 'string' || name === '') throw new PolicyInvalid('metadata.name', 'is required');
  let namespace: string | undefined;
  if (kind === 'CiliumNetworkPolicy') {
    if (typeof meta.namespace !== 'string' || meta.namespace === '') throw new PolicyInvalid('metadata.namespace', 'is required');
    namespace = meta.namespace;
  }
  const ref: PolicyRef = { kind, name, namespace: namespace ?? '', ...(typeof meta.uid === 'string' ? { uid: meta.uid } : {}) };
  const rc: RuleContext = { ref, scope: { namespace }, clusterName };
  const rules: { spec: unknown; path: string }[] = [];
  if (obj.spec !== undefined && obj.spec !== null) rules.push({ spec: obj.spec, path: 'spec' });
  listField(obj, 'specs', '').forEach((spec, i) => rules.push({ spec, path: `specs[${i}]` }));
  if (rules.length === 0) throw new PolicyInvalid('spec', 'spec or specs is required');
  return rules.map((r) => compileCiliumRule(r.spec, r.path, rc));
}
