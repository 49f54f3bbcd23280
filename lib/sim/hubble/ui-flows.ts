// Hubble UI's flow list: the latest flows as table rows (time, source, destination, port, L7, verdict, TCP flags),
// kept in a bounded log, and the UI's filters over them — namespace, verdict, and [!][from:|to:]label=/pod=/ip=
// entries as Hubble UI writes them.
import { isReplyFlow } from '../../analysis/edges.ts';
import { endpointName } from '../../flows/identity.ts';
import type { Endpoint, Flow } from '../../flows/types.ts';

export interface FlowRow {
  /** Position in the log, for "rows after" polling. */
  seq: number;
  time: string;
  source: string;
  destination: string;
  /** The edge of the service map the flow counts on (client → server, replies folded onto their request). */
  client: string;
  server: string;
  port: string;
  l7: string;
  verdict: string;
  flags: string;
}

interface Entry {
  row: FlowRow;
  flow: Flow;
}

type Side = 'from' | 'to' | 'both';

export interface FilterEntry {
  negate: boolean;
  side: Side;
  kind: 'label' | 'pod' | 'ip' | 'namespace';
  value: string;
}

export interface UiFilter {
  namespace?: string;
  verdict?: string;
  entries: FilterEntry[];
  /** One edge of the map, `client → server` as the row names them. */
  edge?: { client: string; server: string };
}

/** Why a filter entry cannot be read; the page shows it next to the filter box. */
export class FilterError extends Error {}

const verdicts = ['FORWARDED', 'DROPPED', 'ERROR', 'AUDIT', 'REDIRECTED', 'TRACED', 'TRANSLATED'];

/** `[!][from:|to:|both:]label=k=v | pod=[ns/]name | ip=addr | namespace=ns`, a bare `k=v` being a label. */
export function parseFilterEntry(text: string): FilterEntry {
  let rest = text.trim();
  const negate = rest.startsWith('!');
  if (negate) rest = rest.slice(1);
  let side: Side = 'both';
  const sideMatch = /^(from|to|both):/.exec(rest);
  if (sideMatch) {
    side = sideMatch[1] as Side;
    rest = rest.slice(sideMatch[0].length);
  }
  const kindMatch = /^(label|pod|ip|namespace)=/.exec(rest);
  const kind = (kindMatch?.[1] ?? 'label') as FilterEntry['kind'];
  const value = kindMatch ? rest.slice(kindMatch[0].length) : rest;
  if (!value || (kind === 'label' && !/^[^=\s]+(=[^=\s]*)?$/.test(value))) {
    throw new FilterError(`filter "${text}": expected [!][from:|to:]label=key=value, pod=name, ip=address or namespace=name`);
  }
  return { negate, side, kind, value };
}

/** The UI's query string: namespace, verdict, filter (repeated or space-separated), edge=client>server. */
export function parseUiFilter(query: URLSearchParams): UiFilter {
  const verdict = query.get('verdict')?.toUpperCase() || undefined;
  if (verdict && !verdicts.includes(verdict)) throw new FilterError(`verdict "${query.get('verdict')}": expected one of ${verdicts.join(', ')}`);
  const entries = query
    .getAll('filter')
    .flatMap((f) => f.split(/\s+/))
    .filter(Boolean)
    .map(parseFilterEntry);
  const edgeRaw = query.get('edge');
  const arrow = edgeRaw ? edgeRaw.indexOf('>') : -1;
  if (edgeRaw && arrow <= 0) throw new FilterError(`edge "${edgeRaw}": expected client>server`);
  return {
    ...(query.get('namespace') ? { namespace: query.get('namespace')! } : {}),
    ...(verdict ? { verdict } : {}),
    entries,
    ...(edgeRaw ? { edge: { client: edgeRaw.slice(0, arrow), server: edgeRaw.slice(arrow + 1) } } : {}),
  };
}

function endpointMatches(e: FilterEntry, ep: Endpoint | undefined, ip: string | undefined, name: string): boolean {
  switch (e.kind) {
    case 'label': {
      const labels = ep?.labels ?? [];
      const [key, value] = e.value.includes('=') ? [e.value.slice(0, e.value.indexOf('=')), e.value.slice(e.value.indexOf('=') + 1)] : [e.value, undefined];
      return labels.some((l) => {
        const bare = l.replace(/^k8s:/, '');
        const eq = bare.indexOf('=');
        const k = eq < 0 ? bare : bare.slice(0, eq);
        return (k === key || l === key) && (value === undefined || bare.slice(eq + 1) === value);
      });
    }
    case 'pod':
      return e.value.includes('/') ? `${ep?.namespace}/${ep?.pod_name}` === e.value || name === e.value : ep?.pod_name === e.value;
    case 'ip':
      return ip === e.value;
    case 'namespace':
      return ep?.namespace === e.value;
  }
}

export function matchesFilter(entry: Entry, f: UiFilter): boolean {
  const { flow, row } = entry;
  if (f.namespace && flow.source?.namespace !== f.namespace && flow.destination?.namespace !== f.namespace) return false;
  if (f.verdict && row.verdict !== f.verdict) return false;
  if (f.edge && (row.client !== f.edge.client || row.server !== f.edge.server)) return false;
  for (const e of f.entries) {
    const from = endpointMatches(e, flow.source, flow.IP?.source, row.source);
    const to = endpointMatches(e, flow.destination, flow.IP?.destination, row.destination);
    const hit = e.side === 'from' ? from : e.side === 'to' ? to : from || to;
    if (hit === e.negate) return false;
  }
  return true;
}

function flagsOf(flow: Flow): string {
  const flags = flow.l4?.TCP?.flags;
  if (!flags) return '';
  return Object.entries(flags)
    .filter(([, on]) => on)
    .map(([name]) => name)
    .join(', ');
}

function portOf(flow: Flow): string {
  const l4 = flow.l4;
  const pair = l4?.TCP ?? l4?.UDP ?? l4?.SCTP;
  const proto = l4?.TCP ? 'TCP' : l4?.UDP ? 'UDP' : l4?.SCTP ? 'SCTP' : l4?.ICMPv4 ? 'ICMPv4' : l4?.ICMPv6 ? 'ICMPv6' : '';
  return pair?.destination_port !== undefined ? `${pair.destination_port}/${proto}` : proto;
}

/** Hubble UI's L7 column: the HTTP method, URL and code, or the DNS query and its answers. */
function l7Of(flow: Flow): string {
  const l7 = flow.l7;
  if (!l7) return '';
  if (l7.http) {
    const h = l7.http;
    const path = (() => {
      try {
        return new URL(h.url ?? '', 'http://x').pathname;
      } catch {
        return h.url ?? '';
      }
    })();
    return `${h.method ?? ''} ${path}${h.code ? ` → ${h.code}` : ''}`.trim();
  }
  if (l7.dns) return `DNS ${l7.dns.query ?? ''}${l7.dns.ips?.length ? ` → ${l7.dns.ips.join(', ')}` : ''}`;
  return l7.type ?? '';
}

/** The last `capacity` flows as rows, with what their filters need. */
export class FlowLog {
  private readonly entries: Entry[] = [];
  private next = 1;

  constructor(private readonly capacity = 5000) {}

  add(flow: Flow): void {
    const reply = isReplyFlow(flow);
    const source = endpointName(flow.source, flow.IP?.source, flow.source_names);
    const destination = endpointName(flow.destination, flow.IP?.destination, flow.destination_names);
    const row: FlowRow = {
      seq: this.next++,
      time: flow.time ?? '',
      source,
      destination,
      client: reply ? destination : source,
      server: reply ? source : destination,
      port: portOf(flow),
      l7: l7Of(flow),
      verdict: flow.verdict ?? '',
      flags: flagsOf(flow),
    };
    this.entries.push({ row, flow });
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }

  /** Matching rows after `after` (the newest `limit` of them), oldest first. */
  rows(after: number, filter: UiFilter, limit = 500): FlowRow[] {
    const out: FlowRow[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.entries[i]!;
      if (e.row.seq <= after) break;
      if (matchesFilter(e, filter)) out.push(e.row);
    }
    return out.reverse();
  }

  /** The kept flows that match, oldest first (for the map of a filtered view). */
  flows(filter: UiFilter): Flow[] {
    return this.entries.filter((e) => matchesFilter(e, filter)).map((e) => e.flow);
  }

  get last(): number {
    return this.next - 1;
  }
}
