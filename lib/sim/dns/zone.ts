// The cluster.local zone as CoreDNS's kubernetes plugin serves it: Services, headless endpoints, SRV, pod records.
import { rcode, rrType, type Answer } from './wire.ts';

export interface ZoneService {
  name: string;
  namespace: string;
  /** "None" for headless Services. */
  clusterIP: string;
  ports: { name?: string; port: number; protocol?: string }[];
  /** Ready endpoint addresses (used for headless Services). */
  endpoints: string[];
}

export interface ZonePod {
  ip: string;
  namespace: string;
}

export interface Resolution {
  rcode: number;
  answers: Answer[];
}

/** kind's Corefile sets `ttl 30` in the kubernetes block. */
export const clusterTtl = 30;

export class ClusterZone {
  private services = new Map<string, ZoneService>();
  private namespaces = new Set<string>();
  private pods = new Map<string, ZonePod>();

  constructor(readonly domain = 'cluster.local') {}

  update(services: ZoneService[], pods: ZonePod[]): void {
    this.services = new Map(services.map((s) => [`${s.name}.${s.namespace}`, s]));
    this.pods = new Map(pods.map((p) => [`${p.ip.replace(/\./g, '-')}.${p.namespace}`, p]));
    this.namespaces = new Set([...services.map((s) => s.namespace), ...pods.map((p) => p.namespace)]);
  }

  resolve(qname: string, qtype: number): Resolution {
    const name = qname.toLowerCase().replace(/\.$/, '');
    const suffix = `.${this.domain}`;
    if (!name.endsWith(suffix)) return { rcode: rcode.NXDOMAIN, answers: [] };
    const labels = name.slice(0, -suffix.length).split('.');
    const fqdn = `${name}.`;
    const a = (ip: string): Answer => ({ name: fqdn, type: rrType.A, ttl: clusterTtl, data: ip });

    // <svc>.<ns>.svc
    if (labels.length === 3 && labels[2] === 'svc') {
      const svc = this.services.get(`${labels[0]}.${labels[1]}`);
      if (!svc) return { rcode: rcode.NXDOMAIN, answers: [] };
      if (qtype !== rrType.A && qtype !== rrType.ANY) return { rcode: rcode.NOERROR, answers: [] };
      const ips = svc.clusterIP === 'None' ? svc.endpoints : [svc.clusterIP];
      return { rcode: rcode.NOERROR, answers: ips.map(a) };
    }
    // _<port>._<proto>.<svc>.<ns>.svc
    if (labels.length === 5 && labels[4] === 'svc' && labels[0]!.startsWith('_') && labels[1]!.startsWith('_')) {
      const svc = this.services.get(`${labels[2]}.${labels[3]}`);
      const port = svc?.ports.find((p) => p.name === labels[0]!.slice(1) && (p.protocol ?? 'TCP').toLowerCase() === labels[1]!.slice(1));
      if (!svc || !port) return { rcode: rcode.NXDOMAIN, answers: [] };
      if (qtype !== rrType.SRV && qtype !== rrType.ANY) return { rcode: rcode.NOERROR, answers: [] };
      return {
        rcode: rcode.NOERROR,
        answers: [{ name: fqdn, type: rrType.SRV, ttl: clusterTtl, data: `0 100 ${port.port} ${svc.name}.${svc.namespace}.svc.${this.domain}.` }],
      };
    }
    // <a-b-c-d>.<ns>.pod
    if (labels.length === 3 && labels[2] === 'pod') {
      const pod = this.pods.get(`${labels[0]}.${labels[1]}`);
      if (!pod) return { rcode: rcode.NXDOMAIN, answers: [] };
      return { rcode: rcode.NOERROR, answers: qtype === rrType.A || qtype === rrType.ANY ? [a(pod.ip)] : [] };
    }
    // <ns>.svc, svc, pod and the domain itself exist as empty non-terminals.
    if (
      (labels.length === 2 && labels[1] === 'svc' && this.namespaces.has(labels[0]!)) ||
      (labels.length === 1 && (labels[0] === 'svc' || labels[0] === 'pod'))
    ) {
      return { rcode: rcode.NOERROR, answers: [] };
    }
    return { rcode: rcode.NXDOMAIN, answers: [] };
  }
}
