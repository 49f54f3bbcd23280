// Hubble metrics' context options (sourceContext, destinationContext and their egress/ingress variants,
// labelsContext): the label names they add and each flow's values, as Cilium's pkg/hubble/metrics/api computes them.
import type { Endpoint, Flow } from '../../flows/types.ts';
import { AgentConfigError } from './config-values.ts';

export const contextIdentifiers = [
  'identity',
  'namespace',
  'pod',
  'pod-short',
  'pod-name',
  'dns',
  'ip',
  'reserved-identity',
  'workload',
  'workload-name',
  'app',
] as const;
export type ContextIdentifier = (typeof contextIdentifiers)[number];

/** labelsContext's labels, in the order Cilium emits them. */
export const contextLabels = [
  'source_ip',
  'source_pod',
  'source_namespace',
  'source_workload',
  'source_workload_kind',
  'source_app',
  'destination_ip',
  'destination_pod',
  'destination_namespace',
  'destination_workload',
  'destination_workload_kind',
  'destination_app',
  'traffic_direction',
] as const;

export interface ContextOptions {
  source?: ContextIdentifier[];
  sourceEgress?: ContextIdentifier[];
  sourceIngress?: ContextIdentifier[];
  destination?: ContextIdentifier[];
  destinationEgress?: ContextIdentifier[];
  destinationIngress?: ContextIdentifier[];
  labels: string[];
}

function parseIdentifiers(value: string): ContextIdentifier[] {
  return value.split('|').map((v) => {
    const id = v.toLowerCase();
    if (!(contextIdentifiers as readonly string[]).includes(id)) throw new AgentConfigError(`unknown context '${v}'`);
    return id as ContextIdentifier;
  });
}

/** Cilium's ParseContextOptions: keys match without regard to case; other keys belong to the metric itself. */
export function parseContextOptions(options: Record<string, string>): ContextOptions {
  const out: ContextOptions = { labels: [] };
  for (const [key, value] of Object.entries(options)) {
    switch (key.toLowerCase()) {
      case 'sourcecontext':
        out.source = parseIdentifiers(value);
        break;
      case 'sourceegresscontext':
        out.sourceEgress = parseIdentifiers(value);
        break;
      case 'sourceingresscontext':
        out.sourceIngress = parseIdentifiers(value);
        break;
      case 'destinationcontext':
        out.destination = parseIdentifiers(value);
        break;
      case 'destinationegresscontext':
        out.destinationEgress = parseIdentifiers(value);
        break;
      case 'destinationingresscontext':
        out.destinationIngress = parseIdentifiers(value);
        break;
      case 'labelscontext': {
        const wanted = value.split(',');
        for (const l of wanted) if (!(contextLabels as readonly string[]).includes(l)) throw new AgentConfigError(`invalid labelsContext value: ${l}`);
        out.labels = contextLabels.filter((l) => wanted.includes(l));
        break;
      }
    }
  }
  return out;
}

/** The label names the options add, in Cilium's order: labelsContext's, then source, then destination. */
export function contextLabelNames(o: ContextOptions): string[] {
  return [...o.labels, ...(o.source?.length ? ['source'] : []), ...(o.destination?.length ? ['destination'] : [])];
}

const appLabels = ['k8s:app.kubernetes.io/name=', 'k8s:k8s-app=', 'k8s:app='];

function appOf(ep: Endpoint | undefined): string {
  for (const label of ep?.labels ?? []) {
    for (const prefix of appLabels) if (label.startsWith(prefix) && label.length > prefix.length) return label.slice(prefix.length);
  }
  return '';
}

function reservedOf(ep: Endpoint | undefined): string {
  const labels = ep?.labels ?? [];
  if (labels.includes('reserved:kube-apiserver')) return 'reserved:kube-apiserver';
  return labels.find((l) => l.startsWith('reserved:')) ?? '';
}

const shortPod = /^(.+?)(-[a-z0-9]+){1,2}$/;

function identifierValue(id: ContextIdentifier, flow: Flow, source: boolean): string {
  const ep = source ? flow.source : flow.destination;
  const ns = ep?.namespace ?? '';
  const workload = ep?.workloads?.[0]?.name ?? '';
  switch (id) {
    case 'namespace':
      return ns;
    case 'identity':
      return (ep?.labels ?? []).join(',');
    case 'pod':
      return ns ? `${ns}/${ep?.pod_name ?? ''}` : (ep?.pod_name ?? '');
    case 'pod-short': {
      const short = (ep?.pod_name ?? '').replace(shortPod, '$1');
      return ns ? `${ns}/${short}` : short;
    }
    case 'pod-name':
      return ep?.pod_name ?? '';
    case 'dns':
      return ((source ? flow.source_names : flow.destination_names) ?? []).join(',');
    case 'ip':
      return (source ? flow.IP?.source : flow.IP?.destination) ?? '';
    case 'reserved-identity':
      return reservedOf(ep);
    case 'workload':
      return workload && ns ? `${ns}/${workload}` : workload;
    case 'workload-name':
      return workload;
    case 'app':
      return appOf(ep);
  }
}

function firstNonEmpty(ids: ContextIdentifier[] | undefined, flow: Flow, source: boolean): string {
  for (const id of ids ?? []) {
    const v = identifierValue(id, flow, source);
    if (v !== '') return v;
  }
  return '';
}

function labelValue(label: string, flow: Flow, invert: boolean): string {
  const [src, dst] = invert ? [flow.destination, flow.source] : [flow.source, flow.destination];
  const [srcIp, dstIp] = invert ? [flow.IP?.destination, flow.IP?.source] : [flow.IP?.source, flow.IP?.destination];
  switch (label) {
    case 'source_ip':
      return srcIp ?? '';
    case 'source_pod':
      return src?.pod_name ?? '';
    case 'source_namespace':
      return src?.namespace ?? '';
    case 'source_workload':
      return src?.workloads?.[0]?.name ?? '';
    case 'source_workload_kind':
      return src?.workloads?.[0]?.kind ?? '';
    case 'source_app':
      return appOf(src);
    case 'destination_ip':
      return dstIp ?? '';
    case 'destination_pod':
      return dst?.pod_name ?? '';
    case 'destination_namespace':
      return dst?.namespace ?? '';
    case 'destination_workload':
      return dst?.workloads?.[0]?.name ?? '';
    case 'destination_workload_kind':
      return dst?.workloads?.[0]?.kind ?? '';
    case 'destination_app':
      return appOf(dst);
    default: {
      const dir = flow.traffic_direction;
      return !dir || dir === 'TRAFFIC_DIRECTION_UNKNOWN' ? 'unknown' : dir.toLowerCase();
    }
  }
}

/**
 * The flow's values for contextLabelNames(o), in the same order. `invert` swaps source and destination, as httpV2
 * does for the response flows it counts (so a request's client stays the source).
 */
export function contextLabelValues(o: ContextOptions, flow: Flow, invert = false): string[] {
  const values = o.labels.map((l) => labelValue(l, flow, invert));
  const dir = flow.traffic_direction;
  const srcIds = (dir === 'INGRESS' && o.sourceIngress) || (dir === 'EGRESS' && o.sourceEgress) || o.source;
  const dstIds = (dir === 'INGRESS' && o.destinationIngress) || (dir === 'EGRESS' && o.destinationEgress) || o.destination;
  let src = firstNonEmpty(srcIds, flow, true);
  let dst = firstNonEmpty(dstIds, flow, false);
  if (invert) [src, dst] = [dst, src];
  if (o.source?.length) values.push(src);
  if (o.destination?.length) values.push(dst);
  return values;
}
