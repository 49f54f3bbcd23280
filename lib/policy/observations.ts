// Observed traffic for policy work: flows folded into distinct (client, server, protocol, port) observations,
// forwarded or denied, with counts and example flows; memory grows with distinct observations, not with flows.
import type { Endpoint as HubbleEndpoint, Flow, GetFlowsResponse, Policy } from '../flows/types.ts';
import { endpointName } from '../flows/identity.ts';
import { flowExample, type FlowExample } from '../analysis/drops.ts';
import type { Endpoint, Protocol } from './types.ts';
import { type FlowClass, flowConnection, flowEndpoint, requestTarget } from './flow-connection.ts';
import { isPolicyVerdict } from '../analysis/edges.ts';

/** One end of observed traffic, for policy (endpoint) and for people (name). */
export interface ObservedEndpoint {
  /** Tells endpoints apart for policy: same key, same decisions. */
  key: string;
  /** `namespace/workload`, `host`, `world`, a DNS name or an IP, as reports name endpoints. */
  name: string;
  endpoint: Endpoint;
  /** The endpoint as the first flow carried it. */
  hubble: HubbleEndpoint | undefined;
}

export interface Observation {
  key: string;
  class: FlowClass;
  client: ObservedEndpoint;
  server: ObservedEndpoint;
  protocol: Protocol;
  port: number;
  /** Flows in the request direction (client → server). */
  flows: number;
  /** Flows in the reply direction, folded onto their request's observation. */
  replies: number;
  /** Denied: POLICY_DENIED, POLICY_DENY or L7. */
  reason?: string;
  /** Denied: the side that denied, when flows said. */
  direction?: 'ingress' | 'egress';
  /** An HTTP request (method and request target) seen by a proxy. */
  http?: { method: string; path: string };
  /** A DNS query seen by the DNS proxy. */
  dnsQuery?: string;
  /** Policies the flows named as the deniers (egress_denied_by / ingress_denied_by), as Cilium reports them. */
  deniedBy: Policy[];
  examples: FlowExample[];
  /** The first flow of the observation, for explanations. */
  first: Flow;
  /** client > server | protocol | port: the connection, whatever its outcome. */
  connKey: string;
}

const EXAMPLES = 3;
const undeliveredNote = 'forwarded at the source but denied at the destination (counted with the drops)';
/** Distinct HTTP requests (method and path) kept per edge; more are counted on the edge's L3/L4 observation. */
const MAX_L7_PER_EDGE = 256;

function sortedEntries(rec: Record<string, string> | undefined): string {
  return rec ? JSON.stringify(Object.entries(rec).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : '';
}

function endpointKey(ep: Endpoint): string {
  switch (ep.kind) {
    case 'pod':
      return `pod|${ep.namespace}|${sortedEntries(ep.labels)}|${sortedEntries(ep.namespaceLabels)}|${ep.serviceAccount ?? ''}`;
    case 'node':
      return `node|${ep.name}|${ep.kubeApiserver ? 'apiserver' : ''}`;
    case 'world':
      return `world|${ep.ip}|${ep.kubeApiserver ? 'apiserver' : ''}`;
  }
}

/** Collects observations from flows, one record at a time. */
export class ObservationTable {
  private readonly byKey = new Map<string, Observation>();
  private readonly l7PerEdge = new Map<string, number>();
  /** DNS names seen for world IPs: in flows' destination_names and in DNS answers. */
  private readonly namesByIp = new Map<string, Set<string>>();
  /** Connections (client, server, protocol, port) seen reaching the server, and seen denied. */
  private readonly delivered = new Set<string>();
  private readonly denied = new Set<string>();
  readonly skipped = new Map<string, number>();
  private finished: Observation[] | undefined;
  /** Policy-verdict records as observations of their own, used when the export holds nothing else. */
  private verdictsOnly: ObservationTable | undefined;

  constructor(private readonly opts: { verdicts?: boolean } = {}) {}
  /** The cluster name pods carry (io.cilium.k8s.policy.cluster), for the `cluster` entity. */
  clusterName: string | undefined;
  flows = 0;

  add(resp: GetFlowsResponse): void {
    const flow = resp.flow;
    if (!flow) return;
    this.addFlow(flow);
  }

  private skip(reason: string): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
  }

  private learnNames(ip: string | undefined, names: readonly string[] | undefined): void {
    if (!ip || !names?.length) return;
    let set = this.namesByIp.get(ip);
    if (!set) this.namesByIp.set(ip, (set = new Set()));
    for (const n of names) if (n) set.add(n.replace(/\.$/, ''));
  }

  /** Adds one flow; the table is read with observations(), after the last one. */
  addFlow(flow: Flow): void {
    if (this.finished) throw new Error('ObservationTable: flows added after observations() was read');
    this.flows++;
    const dns = flow.l7?.dns;
    if (dns?.query && dns.ips?.length) for (const ip of dns.ips) this.learnNames(ip, [dns.query]);
    const fc = flowConnection(flow, this.opts);
    if ('skip' in fc) {
      if (!this.opts.verdicts && isPolicyVerdict(flow)) (this.verdictsOnly ??= new ObservationTable({ verdicts: true })).addFlow(flow);
      return this.skip(fc.skip);
    }
    const client = flowEndpoint(fc.client.hubble, fc.client.ip, fc.client.names);
    const server = flowEndpoint(fc.server.hubble, fc.server.ip, fc.server.names);
    if ('unsupported' in client) return this.skip(`flows from ${client.unsupported}`);
    if ('unsupported' in server) return this.skip(`flows to ${server.unsupported}`);
    this.clusterName ??= client.cluster ?? server.cluster;
    if (client.endpoint.kind === 'world') this.learnNames(fc.client.ip, fc.client.names);
    if (server.endpoint.kind === 'world') this.learnNames(fc.server.ip, fc.server.names);
    const ck = endpointKey(client.endpoint);
    const sk = endpointKey(server.endpoint);
    const connKey = `${ck}>${sk}|${fc.protocol}|${fc.port}`;
    if (fc.class === 'denied') this.denied.add(connKey);
    else if (fc.reply || flow.trace_observation_point === 'TO_ENDPOINT' || flow.l7 || flow.traffic_direction === 'INGRESS') this.delivered.add(connKey);
    const edgeKey = `${connKey}|${fc.class}|${fc.reason ?? ''}`;
    let l7 = '';
    let http: Observation['http'];
    if (fc.http || fc.dnsQuery) {
      const path = fc.http ? requestTarget(fc.http.url) : '';
      l7 = fc.http ? `|http|${fc.http.method}|${path}` : `|dns|${fc.dnsQuery}`;
      if (fc.http) http = { method: fc.http.method, path };
      if (!this.byKey.has(edgeKey + l7)) {
        const n = this.l7PerEdge.get(edgeKey) ?? 0;
        if (n >= MAX_L7_PER_EDGE) ((l7 = ''), (http = undefined));
        else this.l7PerEdge.set(edgeKey, n + 1);
      }
    }
    const key = edgeKey + l7;
    let obs = this.byKey.get(key);
    if (!obs) {
      obs = {
        key,
        class: fc.class,
        client: { key: ck, name: '', endpoint: client.endpoint, hubble: fc.client.hubble },
        server: { key: sk, name: '', endpoint: server.endpoint, hubble: fc.server.hubble },
        protocol: fc.protocol,
        port: fc.port,
        flows: 0,
        replies: 0,
        deniedBy: [],
        examples: [],
        first: flow,
        connKey,
      };
      if (fc.reason) obs.reason = fc.reason;
      if (fc.direction) obs.direction = fc.direction;
      if (http) obs.http = http;
      if (fc.dnsQuery && l7) obs.dnsQuery = fc.dnsQuery;
      this.byKey.set(key, obs);
    }
    if (fc.reply) obs.replies++;
    else obs.flows++;
    if (obs.examples.length < EXAMPLES && !fc.reply) obs.examples.push(flowExample(flow, fc.reason));
    if (fc.class === 'denied' && obs.deniedBy.length === 0) {
      const by =
        fc.direction === 'egress'
          ? flow.egress_denied_by
          : fc.direction === 'ingress'
            ? flow.ingress_denied_by
            : (flow.egress_denied_by ?? flow.ingress_denied_by);
      if (by?.length) obs.deniedBy = by;
    }
  }

  /** Every observation, world endpoints with every DNS name seen for their IP, in a stable order. */
  observations(): Observation[] {
    if (this.finished) return this.finished;
    // An export of policy verdicts only (hubble observe --type policy-verdict): each record stands for its packet.
    if (this.byKey.size === 0 && this.verdictsOnly) {
      const v = this.verdictsOnly;
      this.finished = v.observations();
      this.clusterName ??= v.clusterName;
      this.skipped.clear();
      for (const [k, n] of v.skipped) this.skipped.set(k, n);
      return this.finished;
    }
    // A packet the source's node forwards (to the overlay) can still be dropped by the destination's ingress
    // policy. Forwarded flows of a connection that was denied and never seen reaching its server are part of that
    // denial, not traffic that got through.
    const out: Observation[] = [];
    for (const o of this.byKey.values()) {
      if (o.class === 'forwarded' && this.denied.has(o.connKey) && !this.delivered.has(o.connKey)) {
        this.skipped.set(undeliveredNote, (this.skipped.get(undeliveredNote) ?? 0) + o.flows + o.replies);
      } else out.push(o);
    }
    for (const o of out) {
      for (const side of [o.client, o.server]) {
        const ep = side.endpoint;
        if (ep.kind === 'world') {
          const names = this.namesByIp.get(ep.ip);
          if (names?.size) ep.names = [...names].sort();
        }
        // Real exports may name the namespace only in the labels; the name then comes from them.
        const hubble = ep.kind === 'pod' && !side.hubble?.namespace ? { ...side.hubble, namespace: ep.namespace } : side.hubble;
        side.name = endpointName(hubble, ep.ip, ep.kind === 'world' ? ep.names : undefined);
      }
    }
    this.finished = out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return this.finished;
  }
}

/** Observations from records, e.g. those of readResponses or a GetFlows stream. */
export async function observe(
  records: AsyncIterable<GetFlowsResponse> | Iterable<GetFlowsResponse>,
  table = new ObservationTable(),
): Promise<ObservationTable> {
  for await (const r of records) table.add(r);
  return table;
}
