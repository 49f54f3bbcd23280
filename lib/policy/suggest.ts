// Least-privilege policies from observed traffic: one policy per workload that allows exactly what was forwarded,
// as NetworkPolicy or CiliumNetworkPolicy YAML whose comments name the edges and flow counts behind each rule.
import { Document } from 'yaml';
import type { Endpoint, PodEndpoint, Protocol } from './types.ts';
import type { Observation } from './observations.ts';
import { stableLabels } from './stable-labels.ts';
import { LOCAL_NODE } from './flow-connection.ts';

const byKey = <T>(a: [string, T], b: [string, T]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

export type SuggestFormat = 'k8s' | 'cilium';

export interface SuggestOptions {
  format: SuggestFormat;
  /** HTTP method and path rules (cilium format only), paths templated from those seen. */
  l7?: boolean;
  /** Write policies for workloads of these namespaces; default every namespace seen except kube-system. */
  namespaces?: readonly string[];
}

export interface SuggestedPolicy {
  namespace: string;
  name: string;
  /** `namespace/workload` as reports name it. */
  workload: string;
  object: Record<string, unknown>;
  /** One YAML document with its comments. */
  yaml: string;
}

export interface Suggestion {
  policies: SuggestedPolicy[];
  /** Traffic the policies cannot allow in this format, and other things a user must know. */
  notes: string[];
}

const regexSpecial = /[.*+?^${}()|[\]\\]/g;

/** A path segment that names one object (an id, a number, a hash) rather than a route: it has a digit, and is no API version. */
function variableSegment(segment: string): boolean {
  return segment !== '' && /\d/.test(segment) && !/^v\d+([.]\d+)*(alpha\d*|beta\d*)?$/i.test(segment);
}

/**
 * A path regex for the routes seen: `/api/v1/results/123` → `/api/v1/results/[^/]+`; a query string seen makes
 * any query allowed (`(\?.*)?`), since the proxy matches the path with its query.
 */
export function pathTemplate(target: string): string {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const re = path
    .split('/')
    .map((s) => (variableSegment(s) ? '[^/]+' : s.replace(regexSpecial, '\\$&')))
    .join('/');
  return q === -1 ? re : `${re}(\\?.*)?`;
}

interface PortUse {
  protocol: Protocol;
  port: number;
  flows: number;
  /** Edge name → flows. */
  edges: Map<string, number>;
  /** `METHOD path-regex` → requests. */
  http: Map<string, number>;
}

/** A label selector as policies write it. */
interface Selector {
  matchLabels: Record<string, string>;
  matchExpressions?: { key: string; operator: 'NotIn' | 'DoesNotExist'; values?: string[] }[];
}

type SelectorFor = (namespace: string, labels: Record<string, string>) => Selector;

function matchesAll(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * Selectors by stable labels that select only their own workload: when a workload's stable labels also match the
 * pods of another workload of its namespace (app=web, and app=web with tier=db), a label of the other one is
 * excluded (`tier DoesNotExist`, or `NotIn` its value), so that neither policy reaches the other's pods.
 */
function selectorsFor(observations: readonly Observation[]): SelectorFor {
  const byNamespace = new Map<string, Map<string, Record<string, string>>>();
  for (const o of observations) {
    for (const ep of [o.client.endpoint, o.server.endpoint]) {
      if (ep.kind !== 'pod') continue;
      let sets = byNamespace.get(ep.namespace);
      if (!sets) byNamespace.set(ep.namespace, (sets = new Map()));
      const key = JSON.stringify(Object.entries(ep.labels).sort(byKey));
      if (!sets.has(key)) sets.set(key, ep.labels);
    }
  }
  const cache = new Map<string, Selector>();
  return (namespace, labels) => {
    const base = stableLabels(labels);
    const cacheKey = `${namespace}|${JSON.stringify(Object.entries(labels).sort(byKey))}`;
    const known = cache.get(cacheKey);
    if (known) return known;
    const exprs = new Map<string, { key: string; operator: 'NotIn' | 'DoesNotExist'; values?: string[] }>();
    const baseKey = JSON.stringify(base);
    for (const other of [...(byNamespace.get(namespace)?.values() ?? [])].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))) {
      const otherBase = stableLabels(other);
      if (JSON.stringify(otherBase) === baseKey || !matchesAll(base, other)) continue;
      const keys = [...Object.keys(otherBase).filter((k) => !(k in base)), ...Object.keys(other).filter((k) => !(k in base))];
      const k = keys.find((key) => labels[key] !== other[key]);
      if (k === undefined) continue;
      if (!(k in labels)) exprs.set(`${k}|-`, { key: k, operator: 'DoesNotExist' });
      else {
        const e = exprs.get(`${k}|in`) ?? { key: k, operator: 'NotIn' as const, values: [] };
        if (!e.values!.includes(other[k]!)) e.values!.push(other[k]!);
        e.values!.sort();
        exprs.set(`${k}|in`, e);
      }
    }
    const sel: Selector = { matchLabels: base };
    if (exprs.size) sel.matchExpressions = [...exprs.entries()].sort(byKey).map(([, e]) => e);
    cache.set(cacheKey, sel);
    return sel;
  };
}

type PeerKind =
  | { kind: 'pod'; namespace: string; selector: Selector }
  | { kind: 'fqdn'; names: string[] }
  | { kind: 'cidr'; cidr: string }
  | { kind: 'entity'; entity: 'host' | 'remote-node' | 'kube-apiserver' };

interface PeerRule {
  key: string;
  peer: PeerKind;
  ports: Map<string, PortUse>;
}

interface Workload {
  key: string;
  namespace: string;
  selector: Selector;
  names: Set<string>;
  ingress: Map<string, PeerRule>;
  egress: Map<string, PeerRule>;
  dns: { flows: number; edges: Map<string, number> };
  /** Ingress from the pod's own node: allowed without a rule. */
  fromHost: Map<string, number>;
  /** Traffic this format cannot allow, edge → flows. */
  unexpressible: Map<string, number>;
}

function workloadKey(namespace: string, selector: Record<string, string>): string {
  return `${namespace}|${JSON.stringify(selector)}`;
}

function bump(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** Cluster DNS is what pods send port 53 to: kube-dns (k8s-app=kube-dns in kube-system) unless flows show another. */
function clusterDns(observations: readonly Observation[], selectorFor: SelectorFor): { namespace: string; selector: Selector } {
  const counts = new Map<string, { namespace: string; selector: Selector; flows: number }>();
  for (const o of observations) {
    const s = o.server.endpoint;
    if (o.class !== 'forwarded' || o.port !== 53 || s.kind !== 'pod') continue;
    const key = workloadKey(s.namespace, stableLabels(s.labels));
    const c = counts.get(key) ?? { namespace: s.namespace, selector: selectorFor(s.namespace, s.labels), flows: 0 };
    c.flows += o.flows + o.replies;
    counts.set(key, c);
  }
  const best = [...counts.entries()].sort((a, b) => b[1].flows - a[1].flows || (a[0] < b[0] ? -1 : 1))[0];
  return best
    ? { namespace: best[1].namespace, selector: best[1].selector }
    : { namespace: 'kube-system', selector: { matchLabels: { 'k8s-app': 'kube-dns' } } };
}

function policyName(workloadName: string): string {
  const base = workloadName
    .split('/')
    .pop()!
    .toLowerCase()
    .replace(/[^a-z0-9-.]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `${base || 'workload'}-from-flows`.slice(0, 253);
}

function hostCidr(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

function peerOf(ep: Endpoint, format: SuggestFormat, selectorFor: SelectorFor): { peer: PeerKind; key: string } | undefined {
  switch (ep.kind) {
    case 'pod': {
      const selector = selectorFor(ep.namespace, ep.labels);
      return {
        peer: { kind: 'pod', namespace: ep.namespace, selector },
        key: `pod|${workloadKey(ep.namespace, selector.matchLabels)}|${JSON.stringify(selector.matchExpressions ?? [])}`,
      };
    }
    case 'node':
      if (ep.kubeApiserver) return { peer: { kind: 'entity', entity: 'kube-apiserver' }, key: 'entity|kube-apiserver' };
      return { peer: { kind: 'entity', entity: ep.name === LOCAL_NODE ? 'host' : 'remote-node' }, key: `entity|${ep.name}` };
    case 'world':
      if (ep.kubeApiserver && format === 'cilium') return { peer: { kind: 'entity', entity: 'kube-apiserver' }, key: 'entity|kube-apiserver' };
      if (ep.names?.length && format === 'cilium') return { peer: { kind: 'fqdn', names: ep.names }, key: `fqdn|${ep.names.join(',')}` };
      return { peer: { kind: 'cidr', cidr: hostCidr(ep.ip) }, key: `cidr|${hostCidr(ep.ip)}` };
  }
}

function edgeName(o: Observation): string {
  return `${o.client.name} → ${o.server.name} ${o.protocol}/${o.port}`;
}

function addUse(rules: Map<string, PeerRule>, peer: { peer: PeerKind; key: string }, o: Observation, l7: boolean): void {
  let rule = rules.get(peer.key);
  if (!rule) rules.set(peer.key, (rule = { key: peer.key, peer: peer.peer, ports: new Map() }));
  const portKey = `${o.protocol}/${String(o.port).padStart(5, '0')}`;
  let use = rule.ports.get(portKey);
  if (!use) rule.ports.set(portKey, (use = { protocol: o.protocol, port: o.port, flows: 0, edges: new Map(), http: new Map() }));
  const n = o.flows + o.replies;
  use.flows += n;
  bump(use.edges, edgeName(o), n);
  if (l7 && o.http && o.protocol === 'TCP') bump(use.http, `${o.http.method} ${pathTemplate(o.http.path)}`, o.flows);
}

function inScope(namespace: string, opts: SuggestOptions): boolean {
  return opts.namespaces?.length ? opts.namespaces.includes(namespace) : namespace !== 'kube-system';
}

function flowsText(n: number): string {
  return `${n} ${n === 1 ? 'flow' : 'flows'}`;
}

function edgeLines(edges: Map<string, number>): string[] {
  return [...edges.entries()].sort(byKey).map(([edge, n]) => ` ${edge}: ${flowsText(n)}`);
}

// --- rendering -------------------------------------------------------------------------------------------------

interface RenderedRule {
  rule: Record<string, unknown>;
  comment: string;
}

function sortedPorts(rule: PeerRule): PortUse[] {
  return [...rule.ports.entries()].sort(byKey).map(([, u]) => u);
}

function ruleComment(rule: PeerRule): string {
  return [...rule.ports.values()]
    .flatMap((u) => edgeLines(u.edges))
    .sort()
    .join('\n');
}

function k8sPeer(peer: PeerKind): Record<string, unknown> | undefined {
  switch (peer.kind) {
    case 'pod':
      return { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': peer.namespace } }, podSelector: peer.selector };
    case 'cidr':
      return { ipBlock: { cidr: peer.cidr } };
    default:
      return undefined;
  }
}

function ciliumPeer(peer: PeerKind, dir: 'ingress' | 'egress'): Record<string, unknown> {
  const from = dir === 'ingress';
  switch (peer.kind) {
    case 'pod':
      return { [from ? 'fromEndpoints' : 'toEndpoints']: [ciliumSelector(peer.namespace, peer.selector)] };
    case 'cidr':
      return { [from ? 'fromCIDR' : 'toCIDR']: [peer.cidr] };
    case 'fqdn':
      return { toFQDNs: peer.names.map((n) => ({ matchName: n })) };
    case 'entity':
      return { [from ? 'fromEntities' : 'toEntities']: [peer.entity] };
  }
}

function ciliumSelector(namespace: string, sel: Selector): Record<string, unknown> {
  return {
    matchLabels: { 'k8s:io.kubernetes.pod.namespace': namespace, ...sel.matchLabels },
    ...(sel.matchExpressions ? { matchExpressions: sel.matchExpressions } : {}),
  };
}

function ciliumToPorts(uses: PortUse[], l7: boolean): Record<string, unknown>[] {
  const plain = uses.filter((u) => !(l7 && u.http.size));
  const out: Record<string, unknown>[] = [];
  if (plain.length) out.push({ ports: plain.map((u) => ({ port: String(u.port), protocol: u.protocol })) });
  for (const u of uses) {
    if (!(l7 && u.http.size)) continue;
    const http = [...u.http.keys()].sort().map((k) => {
      const space = k.indexOf(' ');
      return { method: k.slice(0, space), path: k.slice(space + 1) };
    });
    out.push({ ports: [{ port: String(u.port), protocol: u.protocol }], rules: { http } });
  }
  return out;
}

function dnsComment(w: Workload, what: string): string {
  const lines = [` ${what}`];
  if (w.dns.flows) lines.push(...edgeLines(w.dns.edges));
  else lines.push(' (no DNS seen: kept so that name lookups keep working)');
  return lines.join('\n');
}

function renderK8s(
  w: Workload,
  dns: { namespace: string; selector: Selector },
  notes: string[],
): { spec: Record<string, unknown>; ingress: RenderedRule[]; egress: RenderedRule[] } {
  const render = (rules: Map<string, PeerRule>, dir: 'ingress' | 'egress'): RenderedRule[] => {
    const out: RenderedRule[] = [];
    for (const [, rule] of [...rules.entries()].sort(byKey)) {
      const peer = k8sPeer(rule.peer);
      if (!peer) {
        for (const u of rule.ports.values()) for (const [edge, n] of u.edges) bump(w.unexpressible, edge, n);
        continue;
      }
      const ports = sortedPorts(rule).map((u) => ({ protocol: u.protocol, port: u.port }));
      out.push({ rule: { [dir === 'ingress' ? 'from' : 'to']: [peer], ports }, comment: ruleComment(rule) });
    }
    return out;
  };
  const ingress = render(w.ingress, 'ingress');
  const egress = [
    {
      rule: {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': dns.namespace } }, podSelector: dns.selector }],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
      comment: dnsComment(w, 'cluster DNS'),
    },
    ...render(w.egress, 'egress'),
  ];
  if (w.unexpressible.size) {
    notes.push(
      `${w.namespace}/${[...w.names][0]}: a NetworkPolicy cannot allow traffic with nodes (Cilium's ipBlock never selects them); use --format cilium for: ${[...w.unexpressible.keys()].sort().join('; ')}`,
    );
  }
  const spec: Record<string, unknown> = { podSelector: w.selector, policyTypes: ['Ingress', 'Egress'] };
  if (ingress.length) spec.ingress = ingress.map((r) => r.rule);
  spec.egress = egress.map((r) => r.rule);
  return { spec, ingress, egress };
}

function renderCilium(
  w: Workload,
  dns: { namespace: string; selector: Selector },
  l7: boolean,
): { spec: Record<string, unknown>; ingress: RenderedRule[]; egress: RenderedRule[] } {
  const render = (rules: Map<string, PeerRule>, dir: 'ingress' | 'egress'): RenderedRule[] =>
    [...rules.entries()].sort(byKey).map(([, rule]) => ({
      rule: { ...ciliumPeer(rule.peer, dir), toPorts: ciliumToPorts(sortedPorts(rule), l7 && dir === 'ingress') },
      comment: ruleComment(rule),
    }));
  const ingress = render(w.ingress, 'ingress');
  const egress = [
    {
      rule: {
        toEndpoints: [ciliumSelector(dns.namespace, dns.selector)],
        toPorts: [
          {
            ports: [
              { port: '53', protocol: 'UDP' },
              { port: '53', protocol: 'TCP' },
            ],
            rules: { dns: [{ matchPattern: '*' }] },
          },
        ],
      },
      comment: dnsComment(w, 'cluster DNS, through the DNS proxy so that toFQDNs rules learn the names'),
    },
    ...render(w.egress, 'egress'),
  ];
  const spec: Record<string, unknown> = {
    endpointSelector: w.selector,
    // Explicit, so that a workload nothing was seen calling still gets its ingress closed.
    enableDefaultDeny: { ingress: true, egress: true },
  };
  if (ingress.length) spec.ingress = ingress.map((r) => r.rule);
  spec.egress = egress.map((r) => r.rule);
  return { spec, ingress, egress };
}

function toYaml(object: Record<string, unknown>, header: string, ingress: RenderedRule[], egress: RenderedRule[]): string {
  const doc = new Document(object);
  doc.commentBefore = header;
  ingress.forEach((r, i) => {
    const node = doc.getIn(['spec', 'ingress', i], true) as { commentBefore?: string } | undefined;
    if (node) node.commentBefore = r.comment;
  });
  egress.forEach((r, i) => {
    const node = doc.getIn(['spec', 'egress', i], true) as { commentBefore?: string } | undefined;
    if (node) node.commentBefore = r.comment;
  });
  return doc.toString({ lineWidth: 0 });
}

/**
 * Policies allowing exactly the forwarded traffic observed, one per workload (pods with the same stable labels in
 * a namespace). Peers are selected by namespace and stable labels; the world by FQDN where DNS names were seen
 * (cilium) or by /32; cluster DNS always, on UDP and TCP 53. Ingress from the pod's own node needs no rule (Cilium
 * lets it in); replies need none (conntrack). Denied traffic gets no rule, so it stays denied. Same input, same bytes.
 */
export function suggestPolicies(observations: readonly Observation[], opts: SuggestOptions): Suggestion {
  const l7 = opts.l7 === true && opts.format === 'cilium';
  const selectorFor = selectorsFor(observations);
  const dns = clusterDns(observations, selectorFor);
  const workloads = new Map<string, Workload>();
  const workloadOf = (ep: PodEndpoint, name: string): Workload => {
    const key = workloadKey(ep.namespace, stableLabels(ep.labels));
    let w = workloads.get(key);
    if (!w) {
      w = {
        key,
        namespace: ep.namespace,
        selector: selectorFor(ep.namespace, ep.labels),
        names: new Set(),
        ingress: new Map(),
        egress: new Map(),
        dns: { flows: 0, edges: new Map() },
        fromHost: new Map(),
        unexpressible: new Map(),
      };
      workloads.set(key, w);
    }
    w.names.add(name);
    return w;
  };
  const dnsKey = workloadKey(dns.namespace, dns.selector.matchLabels);
  for (const o of observations) {
    const c = o.client.endpoint;
    const s = o.server.endpoint;
    // Every workload seen gets a policy, also one seen only in denied traffic: that keeps the denial in place.
    const source = c.kind === 'pod' && inScope(c.namespace, opts) ? workloadOf(c, o.client.name) : undefined;
    const dest = s.kind === 'pod' && inScope(s.namespace, opts) ? workloadOf(s, o.server.name) : undefined;
    if (o.class !== 'forwarded') continue;
    if (source) {
      if (s.kind === 'pod' && o.port === 53 && workloadKey(s.namespace, stableLabels(s.labels)) === dnsKey) {
        source.dns.flows += o.flows + o.replies;
        bump(source.dns.edges, edgeName(o), o.flows + o.replies);
      } else {
        const peer = peerOf(s, opts.format, selectorFor);
        if (peer) addUse(source.egress, peer, o, false);
      }
    }
    if (dest) {
      const peer = peerOf(c, opts.format, selectorFor);
      if (c.kind === 'node' && c.name === LOCAL_NODE && !c.kubeApiserver) bump(dest.fromHost, edgeName(o), o.flows + o.replies);
      else if (peer) addUse(dest.ingress, peer, o, l7);
    }
  }
  const notes: string[] = [];
  const taken = new Set<string>();
  const nameUse = new Map<string, number>();
  for (const w of workloads.values()) bump(nameUse, `${w.namespace}/${policyName([...w.names].sort()[0]!)}`, 1);
  const policies: SuggestedPolicy[] = [];
  for (const [, w] of [...workloads.entries()].sort(byKey)) {
    const workload = [...w.names].sort()[0]!;
    let name = policyName(workload);
    // Workloads sharing a name (app=web, and app=web with tier=db) are told apart by their selectors' values.
    if ((nameUse.get(`${w.namespace}/${name}`) ?? 0) > 1) name = policyName(Object.values(w.selector.matchLabels).join('-'));
    for (let i = 2; taken.has(`${w.namespace}/${name}`); i++) name = `${policyName(workload).replace(/-from-flows$/, '')}-${i}-from-flows`;
    taken.add(`${w.namespace}/${name}`);
    const rendered = opts.format === 'cilium' ? renderCilium(w, dns, l7) : renderK8s(w, dns, notes);
    const object: Record<string, unknown> =
      opts.format === 'cilium'
        ? { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace: w.namespace }, spec: rendered.spec }
        : { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: w.namespace }, spec: rendered.spec };
    const others = [...w.names].sort().slice(1);
    const header = [` ${workload}: allows only the traffic observed as forwarded${others.length ? ` (with ${others.join(', ')}: the same labels)` : ''}.`];
    if (Object.keys(w.selector.matchLabels).length === 0) {
      header.push(' Its pods carry no stable labels, so this selects every pod of the namespace.');
      notes.push(`${workload}: no stable labels (app, tier, app.kubernetes.io/*, or others not generated); its policy selects every pod of ${w.namespace}`);
    }
    if (!w.ingress.size) header.push(' Nothing was seen calling it: all ingress is denied.');
    if (w.fromHost.size)
      header.push(' Its own node reaches it without a rule (Cilium allows the host; kubelet probes):', ...edgeLines(w.fromHost).map((l) => ` ${l}`));
    if (w.unexpressible.size)
      header.push(' Not allowed here (a NetworkPolicy cannot select nodes; use --format cilium):', ...edgeLines(w.unexpressible).map((l) => ` ${l}`));
    policies.push({ namespace: w.namespace, name, workload, object, yaml: toYaml(object, header.join('\n'), rendered.ingress, rendered.egress) });
  }
  return { policies, notes };
}

/** Every policy as one multi-document YAML stream. */
export function suggestionYaml(s: Suggestion): string {
  return s.policies.map((p) => p.yaml).join('---\n');
}
