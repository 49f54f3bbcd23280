// The datapath's Service table: ClusterIP:port → ready backends, with round-robin backend selection.

export type L4Protocol = 'TCP' | 'UDP';

export interface Backend {
  ip: string;
  port: number;
}

export interface ServicePort {
  name?: string;
  protocol: L4Protocol;
  port: number;
  /** Ready endpoints for this port, target ports already resolved (as in the Endpoints object). */
  backends: Backend[];
}

export interface ServiceEntry {
  namespace: string;
  name: string;
  /** undefined for a headless Service (clusterIP: None): DNS then answers with the backends' IPs. */
  clusterIP?: string;
  ports: ServicePort[];
}

export interface ServiceRef {
  namespace: string;
  name: string;
}

/**
 * Builds the table from Kubernetes Service and Endpoints objects as stored by the API server. Only ready
 * addresses (`subsets[].addresses`) become backends; `notReadyAddresses` are left out, as kube-proxy does.
 */
export function servicesFromObjects(services: Record<string, any>[], endpoints: Record<string, any>[]): ServiceEntry[] {
  const epByKey = new Map<string, Record<string, any>>();
  for (const ep of endpoints) epByKey.set(`${ep.metadata?.namespace}/${ep.metadata?.name}`, ep);
  const out: ServiceEntry[] = [];
  for (const svc of services) {
    const namespace: string = svc.metadata?.namespace ?? 'default';
    const name: string = svc.metadata?.name;
    if (!name) continue;
    const ip: string | undefined = svc.spec?.clusterIP;
    const ep = epByKey.get(`${namespace}/${name}`);
    const ports: ServicePort[] = [];
    for (const p of (svc.spec?.ports ?? []) as Record<string, any>[]) {
      const protocol: L4Protocol = p.protocol === 'UDP' ? 'UDP' : 'TCP';
      const backends: Backend[] = [];
      for (const subset of (ep?.subsets ?? []) as Record<string, any>[]) {
        const epPort = ((subset.ports ?? []) as Record<string, any>[]).find(
          (sp) => (sp.protocol ?? 'TCP') === protocol && (p.name ? sp.name === p.name : true),
        );
        if (!epPort) continue;
        for (const addr of (subset.addresses ?? []) as Record<string, any>[]) {
          if (addr.ip) backends.push({ ip: addr.ip, port: Number(epPort.port) });
        }
      }
      ports.push({ ...(p.name ? { name: p.name } : {}), protocol, port: Number(p.port), backends });
    }
    out.push({ namespace, name, ...(ip && ip !== 'None' ? { clusterIP: ip } : {}), ports });
  }
  return out;
}

/** ClusterIP lookups and round-robin backend choice over a replaceable set of Services. */
export class ServiceTable {
  private entries: ServiceEntry[] = [];
  private byAddress = new Map<string, { service: ServiceEntry; port: ServicePort }>();
  private byName = new Map<string, ServiceEntry>();
  private clusterIPs = new Set<string>();
  private readonly cursor = new Map<string, number>();

  set(entries: ServiceEntry[]): void {
    this.entries = entries;
    this.byAddress = new Map();
    this.byName = new Map();
    this.clusterIPs = new Set();
    for (const service of entries) {
      this.byName.set(`${service.name}.${service.namespace}`, service);
      if (!service.clusterIP) continue;
      this.clusterIPs.add(service.clusterIP);
      for (const port of service.ports) this.byAddress.set(addressKey(service.clusterIP, port.protocol, port.port), { service, port });
    }
  }

  list(): ServiceEntry[] {
    return this.entries;
  }

  isClusterIP(ip: string): boolean {
    return this.clusterIPs.has(ip);
  }

  /** The Service port behind ClusterIP:port, or undefined when no Service has that port. */
  lookup(ip: string, protocol: L4Protocol, port: number): { service: ServiceEntry; port: ServicePort } | undefined {
    return this.byAddress.get(addressKey(ip, protocol, port));
  }

  /**
   * Next backend in round-robin order, or undefined when the Service has no ready endpoint. `previous`: the backend
   * an earlier packet of the same connection went to, kept while it is still a backend (the load balancer's
   * conntrack entry).
   */
  pick(ip: string, protocol: L4Protocol, port: number, previous?: Backend): { service: ServiceEntry; port: ServicePort; backend?: Backend } | undefined {
    const hit = this.lookup(ip, protocol, port);
    if (!hit) return undefined;
    const n = hit.port.backends.length;
    if (n === 0) return hit;
    const kept = previous && hit.port.backends.find((b) => b.ip === previous.ip && b.port === previous.port);
    if (kept) return { ...hit, backend: kept };
    const key = addressKey(ip, protocol, port);
    const i = (this.cursor.get(key) ?? 0) % n;
    this.cursor.set(key, i + 1);
    return { ...hit, backend: hit.port.backends[i] };
  }
}

function addressKey(ip: string, protocol: L4Protocol, port: number): string {
  return `${ip}|${protocol}|${port}`;
}
