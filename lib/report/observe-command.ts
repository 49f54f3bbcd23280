// The `hubble-lab observe` command that shows the flows behind a finding, so every number in a report can be traced.

/** Where the analysed flows came from. */
export interface ReportSource {
  kind: 'file' | 'server';
  /** The file path (`-` for stdin) or the server address. */
  source: string;
}

export interface EndpointRefLike {
  name: string;
  labels: Record<string, string>;
}

const RESERVED = new Set(['host', 'remote-node', 'kube-apiserver', 'health', 'init', 'ingress', 'unmanaged', 'world']);
const APP_LABELS = ['app.kubernetes.io/name', 'app', 'k8s-app'];
const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]+)$/i;

/** Shell-quotes a value only when it needs it. */
function q(value: string): string {
  return /^[A-Za-z0-9_./:=@+,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** hubble observe flags selecting one side of a flow by how we named the endpoint. */
export function endpointFlags(side: 'from' | 'to', ep: EndpointRefLike): string[] {
  const { name, labels } = ep;
  const slash = name.indexOf('/');
  if (slash !== -1) {
    const ns = name.slice(0, slash);
    const workload = name.slice(slash + 1);
    if (IP.test(workload)) return [`--${side}-ip`, workload];
    const key = APP_LABELS.find((k) => labels[k] === workload);
    if (key) return [`--${side}-namespace`, q(ns), `--${side}-label`, q(`${key}=${workload}`)];
    return [`--${side}-pod`, q(name)];
  }
  if (RESERVED.has(name)) return [`--${side}-label`, `reserved:${name}`];
  if (IP.test(name)) return [`--${side}-ip`, name];
  if (name === 'unknown') return [];
  return [`--${side}-fqdn`, q(name)];
}

export interface ObserveOptions {
  /** The finding is about responses (HTTP status): their source is the server. */
  replies?: boolean;
  verdict?: 'DROPPED' | 'FORWARDED';
  /** Extra flags, e.g. ['--http-status', '5+']. */
  extra?: string[];
  /** For a server: the analysed window, so the command asks for the same flows. */
  window?: { start: string | null; end: string | null };
}

export function observeCommand(input: ReportSource, client: EndpointRefLike, server: EndpointRefLike, opts: ObserveOptions = {}): string {
  const parts = ['hubble-lab', 'observe'];
  if (input.kind === 'file') parts.push('--input-file', input.source === '-' ? '<flows file>' : q(input.source));
  else {
    parts.push('--server', q(input.source));
    if (opts.window?.start) parts.push('--since', opts.window.start);
    if (opts.window?.end) parts.push('--until', opts.window.end);
  }
  const [src, dst] = opts.replies ? [server, client] : [client, server];
  parts.push(...endpointFlags('from', src), ...endpointFlags('to', dst));
  if (opts.verdict) parts.push('--verdict', opts.verdict);
  if (opts.extra) parts.push(...opts.extra);
  return parts.join(' ');
}
