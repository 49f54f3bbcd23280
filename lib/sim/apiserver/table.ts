// Server-side printing: the Table form `kubectl get` asks for, with the columns the real API server prints.
import type { ResourceInfo } from './resources.ts';
import type { KObject } from './store.ts';
import { selectorString } from './selectors.ts';

type Cell = string | number;
interface Column {
  name: string;
  type?: string;
  format?: string;
  priority?: number;
  cell: (o: KObject) => Cell;
}

/** kubectl's HumanDuration: 45s, 5m12s, 3h10m, 2d4h. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const y = Math.floor(hours / 24 / 365);
  const dy = Math.floor(hours / 24) % 365;
  return hours < 24 * 365 * 8 && dy !== 0 ? `${y}y${dy}d` : `${y}y`;
}

function age(ts: string | undefined): string {
  return ts ? humanDuration(Date.now() - Date.parse(ts)) : '<unknown>';
}

const name: Column = { name: 'Name', format: 'name', cell: (o) => o.metadata.name ?? '' };
const ageCol: Column = { name: 'Age', cell: (o) => age(o.metadata.creationTimestamp) };
const containers = (spec: any) => (spec?.template?.spec?.containers ?? []).map((c: any) => c.name).join(',');
const images = (spec: any) => (spec?.template?.spec?.containers ?? []).map((c: any) => c.image).join(',');
const workloadWide: Column[] = [
  { name: 'Containers', priority: 1, cell: (o) => containers(o.spec) },
  { name: 'Images', priority: 1, cell: (o) => images(o.spec) },
  { name: 'Selector', priority: 1, cell: (o) => selectorString(o.spec?.selector) },
];
const num = (v: unknown) => (typeof v === 'number' ? v : 0);

export function podStatusReason(pod: KObject): string {
  let reason: string = pod.status?.reason ?? pod.status?.phase ?? 'Unknown';
  for (const c of pod.status?.initContainerStatuses ?? []) {
    if (c.state?.terminated && c.state.terminated.exitCode === 0) continue;
    if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') return `Init:${c.state.waiting.reason}`;
  }
  let running = false;
  for (const c of [...(pod.status?.containerStatuses ?? [])].reverse()) {
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
    else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
    else if (c.state?.terminated) reason = c.state.terminated.signal ? `Signal:${c.state.terminated.signal}` : `ExitCode:${c.state.terminated.exitCode}`;
    else if (c.ready && c.state?.running) running = true;
  }
  if (reason === 'Completed' && running) reason = pod.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
  if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return reason;
}

function nodeStatus(node: KObject): string {
  const ready = (node.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
  const s = ready?.status === 'True' ? 'Ready' : 'NotReady';
  return node.spec?.unschedulable ? `${s},SchedulingDisabled` : s;
}

function ports(svc: KObject): string {
  const ps = (svc.spec?.ports ?? []).map((p: any) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`);
  return ps.length ? ps.join(',') : '<none>';
}

function jobStatus(job: KObject): string {
  const cond = (t: string) => (job.status?.conditions ?? []).some((c: any) => c.type === t && c.status === 'True');
  if (cond('Complete')) return 'Complete';
  if (cond('Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp) return 'Terminating';
  if (cond('Suspended')) return 'Suspended';
  return 'Running';
}

function jobDuration(job: KObject): string {
  const start = job.status?.startTime;
  if (!start) return '';
  const end = job.status?.completionTime ? Date.parse(job.status.completionTime) : Date.now();
  return humanDuration(end - Date.parse(start));
}

function endpoints(ep: KObject): string {
  const list: string[] = [];
  for (const s of ep.subsets ?? []) for (const a of s.addresses ?? []) for (const p of s.ports ?? [{}]) list.push(p.port ? `${a.ip}:${p.port}` : a.ip);
  if (list.length === 0) return '<none>';
  return list.length > 3 ? `${list.slice(0, 3).join(',')} + ${list.length - 3} more...` : list.join(',');
}

const COLUMNS: Record<string, Column[]> = {
  pods: [
    name,
    { name: 'Ready', cell: (o) => `${(o.status?.containerStatuses ?? []).filter((c: any) => c.ready).length}/${(o.spec?.containers ?? []).length}` },
    { name: 'Status', cell: podStatusReason },
    { name: 'Restarts', type: 'string', cell: (o) => String((o.status?.containerStatuses ?? []).reduce((n: number, c: any) => n + num(c.restartCount), 0)) },
    ageCol,
    { name: 'IP', priority: 1, cell: (o) => o.status?.podIP ?? '<none>' },
    { name: 'Node', priority: 1, cell: (o) => o.spec?.nodeName ?? '<none>' },
    { name: 'Nominated Node', priority: 1, cell: (o) => o.status?.nominatedNodeName ?? '<none>' },
    { name: 'Readiness Gates', priority: 1, cell: () => '<none>' },
  ],
  nodes: [
    name,
    { name: 'Status', cell: nodeStatus },
    {
      name: 'Roles',
      cell: (o) =>
        Object.keys(o.metadata.labels ?? {})
          .filter((k) => k.startsWith('node-role.kubernetes.io/'))
          .map((k) => k.slice('node-role.kubernetes.io/'.length))
          .join(',') || '<none>',
    },
    ageCol,
    { name: 'Version', cell: (o) => o.status?.nodeInfo?.kubeletVersion ?? '' },
    { name: 'Internal-IP', priority: 1, cell: (o) => (o.status?.addresses ?? []).find((a: any) => a.type === 'InternalIP')?.address ?? '<none>' },
    { name: 'External-IP', priority: 1, cell: () => '<none>' },
    { name: 'OS-Image', priority: 1, cell: (o) => o.status?.nodeInfo?.osImage ?? '' },
    { name: 'Kernel-Version', priority: 1, cell: (o) => o.status?.nodeInfo?.kernelVersion ?? '' },
    { name: 'Container-Runtime', priority: 1, cell: (o) => o.status?.nodeInfo?.containerRuntimeVersion ?? '' },
  ],
  namespaces: [name, { name: 'Status', cell: (o) => o.status?.phase ?? '' }, ageCol],
  services: [
    name,
    { name: 'Type', cell: (o) => o.spec?.type ?? '' },
    { name: 'Cluster-IP', cell: (o) => o.spec?.clusterIP ?? '' },
    { name: 'External-IP', cell: (o) => o.spec?.externalName ?? '<none>' },
    { name: 'Port(s)', cell: ports },
    ageCol,
    {
      name: 'Selector',
      priority: 1,
      cell: (o) =>
        Object.entries(o.spec?.selector ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '<none>',
    },
  ],
  endpoints: [name, { name: 'Endpoints', cell: endpoints }, ageCol],
  configmaps: [name, { name: 'Data', type: 'integer', cell: (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length }, ageCol],
  secrets: [name, { name: 'Type', cell: (o) => o.type ?? '' }, { name: 'Data', type: 'integer', cell: (o) => Object.keys(o.data ?? {}).length }, ageCol],
  serviceaccounts: [name, { name: 'Secrets', type: 'integer', cell: (o) => (o.secrets ?? []).length }, ageCol],
  deployments: [
    name,
    { name: 'Ready', cell: (o) => `${num(o.status?.readyReplicas)}/${num(o.spec?.replicas)}` },
    { name: 'Up-to-date', type: 'integer', cell: (o) => num(o.status?.updatedReplicas) },
    { name: 'Available', type: 'integer', cell: (o) => num(o.status?.availableReplicas) },
    ageCol,
    ...workloadWide,
  ],
  replicasets: [
    name,
    { name: 'Desired', type: 'integer', cell: (o) => num(o.spec?.replicas) },
    { name: 'Current', type: 'integer', cell: (o) => num(o.status?.replicas) },
    { name: 'Ready', type: 'integer', cell: (o) => num(o.status?.readyReplicas) },
    ageCol,
    ...workloadWide,
  ],
  daemonsets: [
    name,
    { name: 'Desired', type: 'integer', cell: (o) => num(o.status?.desiredNumberScheduled) },
    { name: 'Current', type: 'integer', cell: (o) => num(o.status?.currentNumberScheduled) },
    { name: 'Ready', type: 'integer', cell: (o) => num(o.status?.numberReady) },
    { name: 'Up-to-date', type: 'integer', cell: (o) => num(o.status?.updatedNumberScheduled) },
    { name: 'Available', type: 'integer', cell: (o) => num(o.status?.numberAvailable) },
    {
      name: 'Node Selector',
      cell: (o) =>
        Object.entries(o.spec?.template?.spec?.nodeSelector ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '<none>',
    },
    ageCol,
    ...workloadWide,
  ],
  jobs: [
    name,
    { name: 'Status', cell: jobStatus },
    { name: 'Completions', cell: (o) => `${num(o.status?.succeeded)}/${o.spec?.completions ?? 1}` },
    { name: 'Duration', cell: jobDuration },
    ageCol,
    ...workloadWide,
  ],
  events: [
    { name: 'Last Seen', cell: (o) => age(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp) },
    { name: 'Type', cell: (o) => o.type ?? '' },
    { name: 'Reason', cell: (o) => o.reason ?? '' },
    { name: 'Object', cell: (o) => `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}` },
    { name: 'Message', cell: (o) => String(o.message ?? '').trim() },
  ],
  networkpolicies: [name, { name: 'Pod-Selector', cell: (o) => selectorString(o.spec?.podSelector) || '<none>' }, ageCol],
};

export function toTable(info: ResourceInfo, objects: KObject[], resourceVersion: string): Record<string, unknown> {
  const cols = COLUMNS[info.resource] ?? [name, ageCol];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: cols.map((c) => ({
      name: c.name,
      type: c.type ?? 'string',
      format: c.format ?? '',
      description: '',
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => ({ cells: cols.map((c) => c.cell(o)), object: o })),
  };
}

/** True when the Accept header asks for a Table (kubectl get). */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept.split(',')[0] ?? '');
}
