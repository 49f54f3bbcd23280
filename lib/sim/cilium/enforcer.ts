// The Cilium agents' datapath programs in one place: policy verdicts for every new connection and datagram, the
// policy-verdict, trace and drop flows Hubble reports for them, and the redirect of L7-policed traffic to the proxies.
import type { Decision, DnsRule, L7Rules } from '../../policy/index.ts';
import type { Service, TCPFlags } from '../../flows/types.ts';
import { ConnectionFlows, type FlowSink } from '../hubble/flows.ts';
import type { Connection, ConnectVerdict, Datagram, DatapathHooks, ServiceHit } from '../net/datapath.ts';
import { DnsVisibility, proxyDnsTcp } from './dns-proxy.ts';
import type { EndpointDirectory, ResolvedEndpoint } from './endpoints.ts';
import { proxyHttp, type HttpPolicySide } from './http-proxy.ts';
import type { PolicyState } from './policy.ts';
import type { NodeLoadBalancers } from './services.ts';
import { ConnectionTrace, synFlags } from './trace.ts';
import { PolicyVerdicts } from './verdicts.ts';

export interface ConnectionCounts {
  /** New connections (and UDP flows) policy let through. */
  allowed: number;
  /** New connections (and UDP flows) policy dropped; a connection's retransmitted SYNs count once. */
  denied: number;
}

/** A UDP flow (client address and port → address and port it wrote to), as conntrack follows it. */
interface UdpFlow {
  flows: ConnectionFlows;
  /** The client's egress verdict was reported (conntrack then knows the flow at the client). */
  egressSeen: boolean;
  dns: DnsVisibility | undefined;
  /** The dns rules `dns` enforces (a policy change swaps them). */
  rules: readonly DnsRule[] | undefined;
}

const udpFlowLimit = 16_384;

export class Enforcer {
  readonly counts: ConnectionCounts = { allowed: 0, denied: 0 };
  private readonly traces = new WeakMap<Connection, ConnectionTrace>();
  private readonly udp = new Map<string, UdpFlow>();
  private readonly services = new Map<string, Service>();
  private readonly flowOptions: { clusterName: string };
  private readonly verdicts: PolicyVerdicts;

  constructor(
    private readonly endpoints: EndpointDirectory,
    private readonly policy: PolicyState,
    private readonly sink: FlowSink,
    clusterName: string,
    private readonly loadBalancers: NodeLoadBalancers,
  ) {
    this.flowOptions = { clusterName };
    this.verdicts = new PolicyVerdicts(() => policy.revision);
  }

  hooks(): DatapathHooks {
    return {
      onConnect: (conn) => this.connect(conn),
      onRefused: (conn, reason) => {
        if (reason === 'no-listener') this.traces.get(conn)?.refused();
      },
      onNoBackend: (traffic) => this.noBackend(traffic),
      onOpen: (conn) => this.traces.get(conn)?.established(),
      onData: (conn, direction) => this.traces.get(conn)?.data(direction),
      onEnd: (conn, side) => this.traces.get(conn)?.end(side),
      onReset: (conn, side) => this.traces.get(conn)?.reset(side),
      onClose: (conn) => this.traces.delete(conn),
      onDatagram: (d) => (d.reply ? this.reply(d) : this.datagram(d)),
    };
  }

  /** The Service object flows carry, one per Service. */
  private service(hit: ServiceHit | undefined): Service | undefined {
    if (!hit) return undefined;
    const key = `${hit.namespace}/${hit.name}`;
    let svc = this.services.get(key);
    if (!svc) this.services.set(key, (svc = { name: hit.name, namespace: hit.namespace }));
    return svc;
  }

  /** Both ends as the node programs see them: each node endpoint judged from the other end's node. */
  private ends(c: Connection | Datagram): { client: ResolvedEndpoint; server: ResolvedEndpoint } {
    const client = this.endpoints.resolve(c.source, c.src.ip, c.destination?.nodeName);
    const server = this.endpoints.resolve(c.destination, c.backend.ip, c.source?.hostNetwork ? undefined : c.source?.nodeName);
    return { client, server };
  }

  private flowsOf(
    client: ResolvedEndpoint,
    server: ResolvedEndpoint,
    protocol: 'TCP' | 'UDP',
    clientPort: number,
    serverPort: number,
    service: Service | undefined,
  ): ConnectionFlows {
    return new ConnectionFlows(
      { client: client.hubble, server: server.hubble, protocol, clientPort, serverPort, ...(service ? { service } : {}) },
      this.sink,
      this.flowOptions,
    );
  }

  /**
   * Each SYN (retransmissions included): forward, or drop with a policy verdict and a DROPPED flow per SYN, or hand
   * to a proxy. The sides that enforce policy report a verdict for the connection's first SYN.
   */
  private connect(conn: Connection): ConnectVerdict {
    const { client, server } = this.ends(conn);
    const decision = this.policy.decide(client, server, 'TCP', conn.backend.port);
    const flows = this.flowsOf(client, server, 'TCP', conn.src.port, conn.backend.port, this.service(conn.service));
    if (!decision.allowed) {
      // A retransmission finds the client's conntrack entry from the first SYN: only the dropping side reports again.
      this.deny(flows, decision, conn.attempt === 1, synFlags);
      if (conn.attempt === 1) this.counts.denied++;
      return 'drop';
    }
    this.counts.allowed++;
    const trace = new ConnectionTrace(flows);
    this.traces.set(conn, trace);
    trace.syn(this.verdicts.allowed(decision));
    return this.redirect(conn, decision, trace) ?? 'allow';
  }

  /** A packet policy drops: the verdicts up to the dropping side, then the drop. */
  private deny(flows: ConnectionFlows, decision: Decision, firstPacket: boolean, flags?: TCPFlags): void {
    const side = decision.dropDirection!;
    if (side === 'ingress' && firstPacket) {
      const egress = this.verdicts.side(decision, 'egress');
      if (egress) flows.policyVerdict(egress, flags);
    }
    const verdict = this.verdicts.side(decision, side);
    if (verdict) flows.policyVerdict(verdict, flags);
    flows.drop(side, decision.dropReason!, flags);
  }

  /**
   * A packet for a Service port without ready backends, as the client node's load balancer handles it. Rejected
   * (Cilium's default) it is answered at once and Hubble sees nothing; dropped, each packet is a DROPPED flow with
   * SERVICE_BACKEND_NOT_FOUND on the client's node, to the ClusterIP (world, not translated) and its Service.
   */
  private noBackend(traffic: Connection | Datagram): 'reject' | 'drop' {
    const response = this.loadBalancers.noBackendResponse(traffic.source?.nodeName);
    if (response === 'drop') {
      const { client, server } = this.ends(traffic);
      const flows = this.flowsOf(client, server, traffic.protocol, traffic.src.port, traffic.dst.port, this.service(traffic.service));
      flows.drop('egress', 'SERVICE_BACKEND_NOT_FOUND', traffic.protocol === 'TCP' ? synFlags : undefined);
    }
    return response;
  }

  /** Traffic an L7 rule selects goes to that kind of proxy. */
  private redirect(conn: Connection, decision: Decision, trace: ConnectionTrace): ConnectVerdict | undefined {
    const l7 = decision.l7;
    if (!l7) return undefined;
    const sides: HttpPolicySide[] = [];
    if (l7.egress?.kind === 'http') sides.push({ side: 'egress', rules: l7.egress.rules });
    if (l7.ingress?.kind === 'http') sides.push({ side: 'ingress', rules: l7.ingress.rules });
    if (sides.length) {
      const defaultHost = conn.dst.port === 80 ? conn.dst.ip : `${conn.dst.ip}:${conn.dst.port}`;
      return { proxy: (client, _c, upstream) => proxyHttp(client, upstream, trace, { sides, defaultHost }) };
    }
    const dns = dnsRules(l7.egress);
    if (dns) return { proxy: (client, _c, upstream) => proxyDnsTcp(client, upstream, trace, new DnsVisibility(trace.flows, dns)) };
    return undefined;
  }

  /** A datagram that starts or continues a UDP flow: policed like a SYN; DNS through the proxy where rules say so. */
  private datagram(d: Datagram): 'allow' | 'drop' | { answer: Buffer } {
    const key = `${d.src.ip}:${d.src.port}>${d.dst.ip}:${d.dst.port}`;
    const { client, server } = this.ends(d);
    const decision = this.policy.decide(client, server, 'UDP', d.backend.port);
    let flow = this.udp.get(key);
    if (!flow || flow.flows.conn.server !== server.hubble) {
      flow = {
        flows: this.flowsOf(client, server, 'UDP', d.src.port, d.backend.port, this.service(d.service)),
        egressSeen: false,
        dns: undefined,
        rules: undefined,
      };
      this.udp.delete(key);
      if (this.udp.size >= udpFlowLimit) this.udp.delete(this.udp.keys().next().value!);
      this.udp.set(key, flow);
      if (decision.allowed) this.counts.allowed++;
      else this.counts.denied++;
    }
    const first = !flow.egressSeen;
    if (decision.allowed || decision.dropDirection === 'ingress') flow.egressSeen = true;
    if (!decision.allowed) {
      this.deny(flow.flows, decision, first);
      return 'drop';
    }
    flow.flows.packet('client', undefined, first ? this.verdicts.allowed(decision) : undefined);
    const rules = dnsRules(decision.l7?.egress);
    if (rules !== flow.rules) {
      flow.rules = rules;
      flow.dns = rules ? new DnsVisibility(flow.flows, rules) : undefined;
    }
    const refused = flow.dns?.query(d.payload);
    return refused ? { answer: refused } : 'allow';
  }

  /** A reply on a UDP flow (always allowed, as conntrack lets it back): traced, and read by the DNS proxy. */
  private reply(d: Datagram): 'allow' {
    const flow = this.udp.get(`${d.dst.ip}:${d.dst.port}>${d.src.ip}:${d.src.port}`);
    if (flow) {
      flow.flows.packet('server');
      flow.dns?.answer(d.payload);
    }
    return 'allow';
  }
}

function dnsRules(rules: L7Rules | undefined): readonly DnsRule[] | undefined {
  return rules?.kind === 'dns' ? rules.rules : undefined;
}
