// The `hubble-lab observe` filters behind each finding, and how many flows they print: counted in the same pass by
// the same filter code the command runs, so a finding's number and its command's output always agree.
import { parseArgs } from '../args.ts';
import { reservedIdentityNumbers } from '../flows/reserved.ts';
import type { Flow } from '../flows/types.ts';
import { buildGetFlowsRequest, observeFilterOptions, observeSelectorOptions } from '../hubble/filter/flags.ts';
import { compileFlowFilters } from '../hubble/filter/match.ts';
import { dropReason, verdictEventReason } from './drops.ts';
import { eventTypeName } from './edges.ts';

/** Filter flags of `hubble-lab observe` and the number of flows of the analysed input they print. */
export interface DrillDown {
  args: string[];
  flows: number;
}

export interface EndpointLike {
  name: string;
  labels: Record<string, string>;
  /** The workload (Deployment, Job, …) the endpoint's flows named, when they did. */
  workload?: string | undefined;
}

const APP_LABELS = ['app.kubernetes.io/name', 'app', 'k8s-app'];
const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]+)$/i;
/** Reserved endpoint names (as reports name them) to the identities that carry them. */
const RESERVED_IDENTITIES: Record<string, number[]> = {
  host: [reservedIdentityNumbers.host],
  'remote-node': [reservedIdentityNumbers['remote-node']],
  'kube-apiserver': [reservedIdentityNumbers['kube-apiserver']],
  health: [reservedIdentityNumbers.health],
  init: [reservedIdentityNumbers.init],
  ingress: [reservedIdentityNumbers.ingress],
  unmanaged: [reservedIdentityNumbers.unmanaged],
  world: [reservedIdentityNumbers.world, reservedIdentityNumbers['world-ipv4'], reservedIdentityNumbers['world-ipv6']],
};

/**
 * hubble observe flags that select one side of a flow by how the report named the endpoint, as exactly as the
 * flags allow: a namespace with the workload or the app label that named it, the reserved identity's numbers
 * (`--from-label reserved:world` would also match pods labelled so), the DNS name, the IP.
 */
export function endpointArgs(side: 'from' | 'to', ep: EndpointLike): string[] {
  const { name, labels } = ep;
  const slash = name.indexOf('/');
  if (slash !== -1) {
    const ns = name.slice(0, slash);
    const workload = name.slice(slash + 1);
    if (IP.test(workload)) return [`--${side}-namespace`, ns, `--${side}-ip`, workload];
    if (ep.workload === workload) return [`--${side}-namespace`, ns, `--${side}-workload`, workload];
    const key = APP_LABELS.find((k) => labels[k] === workload);
    if (key) return [`--${side}-namespace`, ns, `--${side}-label`, `${key}=${workload}`];
    return [`--${side}-pod`, name];
  }
  const reserved = RESERVED_IDENTITIES[name];
  if (reserved) return reserved.flatMap((n) => [`--${side}-identity`, String(n)]);
  if (IP.test(name)) return [`--${side}-ip`, name];
  if (name === 'unknown') return [];
  return [`--${side}-fqdn`, name];
}

const OBSERVE_OPTIONS = [...observeSelectorOptions, ...observeFilterOptions];

/** Compiles observe filter flags with the command's own parser and matcher; undefined when they do not parse. */
export function compileArgs(args: readonly string[]): ((flow: Flow) => boolean) | undefined {
  try {
    const req = buildGetFlowsRequest(parseArgs(args, OBSERVE_OPTIONS, 'observe'), { live: false });
    return compileFlowFilters(req.whitelist, req.blacklist);
  } catch {
    return undefined;
  }
}

interface Tally {
  args: string[];
  match: ((flow: Flow) => boolean) | undefined;
  /** Matching flows by the key the final command splits on (event type and drop reason, traffic direction, …). */
  counts: Map<string, number>;
}

function tally(args: string[]): Tally {
  return { args, match: compileArgs(args), counts: new Map() };
}

function count(t: Tally, flow: Flow, key: string): void {
  if (t.match?.(flow)) t.counts.set(key, (t.counts.get(key) ?? 0) + 1);
}

function sum(t: Tally | undefined, keep: (key: string) => boolean = () => true): number {
  let n = 0;
  for (const [key, c] of t?.counts ?? []) if (keep(key)) n += c;
  return n;
}

/**
 * The drill-downs of one edge (client → server). Filters are compiled on the first flow that could match them, and
 * tried only on the edge's own candidate flows: drops, HTTP error responses, DNS responses, forwarded requests.
 */
export class EdgeDrillDowns {
  private drops: Tally | undefined;
  private httpErrors: Tally | undefined;
  private dns: Tally | undefined;
  private forwarded: Tally | undefined;

  constructor(
    private readonly client: EndpointLike,
    private readonly server: EndpointLike,
  ) {}

  private between(fromServer: boolean): string[] {
    return fromServer
      ? [...endpointArgs('from', this.server), ...endpointArgs('to', this.client)]
      : [...endpointArgs('from', this.client), ...endpointArgs('to', this.server)];
  }

  observe(flow: Flow, reply: boolean): void {
    const verdict = flow.verdict;
    if (verdict === 'DROPPED') {
      this.drops ??= tally([...this.between(false), '--verdict', 'DROPPED']);
      const type = eventTypeName(flow);
      const reason = type === 'policy-verdict' ? verdictEventReason(flow) : dropReason(flow);
      count(this.drops, flow, `${type}\u0000${reason}\u0000${flow.drop_reason_desc ? 'named' : 'numbered'}`);
      return;
    }
    if (verdict !== 'FORWARDED') return;
    const l7 = flow.l7;
    if (reply && l7?.http && (l7.http.code ?? 0) >= 400) {
      this.httpErrors ??= tally([...this.between(true), '--http-status', '4+', '--http-status', '5+']);
      count(this.httpErrors, flow, flow.traffic_direction ?? '');
    } else if (reply && l7?.dns) {
      this.dns ??= tally([...this.between(true), '--protocol', 'dns']);
      count(this.dns, flow, '');
    }
    if (!reply) {
      this.forwarded ??= tally([...this.between(false), '--verdict', 'FORWARDED']);
      count(this.forwarded, flow, '');
    }
  }

  /**
   * Drops with one of `reasons`: the drop events (`--type drop`) where the input has them, else the denying
   * policy-verdict events; narrowed to the reason when only one of them occurs.
   */
  reasonDrillDown(reasons: ReadonlySet<string>): DrillDown | null {
    return this.dropDrillDown('drop', reasons) ?? this.dropDrillDown('policy-verdict', reasons);
  }

  /** Drops of one event type with one of `reasons`: with --drop-reason-desc when that narrows them exactly. */
  dropDrillDown(type: string, reasons: ReadonlySet<string>): DrillDown | null {
    if (!this.drops) return null;
    const ofType = [...this.drops.counts].map(([key, n]) => ({ key: key.split('\u0000'), n })).filter((e) => e.key[0] === type);
    const matching = ofType.filter((e) => reasons.has(e.key[1]!));
    if (matching.length === 0) return null;
    const args = [...this.drops.args, '--type', type];
    const names = new Set(matching.map((e) => e.key[1]));
    // A reason some flows carry only as a number cannot be asked for by name: then the type's drops are listed.
    if (names.size === 1 && matching.every((e) => e.key[2] === 'named')) {
      return { args: [...args, '--drop-reason-desc', matching[0]!.key[1]!], flows: matching.reduce((t, e) => t + e.n, 0) };
    }
    return { args, flows: ofType.reduce((t, e) => t + e.n, 0) };
  }

  /** HTTP error responses, at the server's proxy (ingress) when it saw them, else at the client's. */
  httpErrorDrillDown(): DrillDown | null {
    const t = this.httpErrors;
    if (!t || sum(t) === 0) return null;
    for (const [direction, flag] of [
      ['INGRESS', 'ingress'],
      ['EGRESS', 'egress'],
    ] as const) {
      const n = t.counts.get(direction) ?? 0;
      if (n > 0) return { args: [...t.args, '--traffic-direction', flag], flows: n };
    }
    return { args: t.args, flows: sum(t) };
  }

  dnsDrillDown(): DrillDown | null {
    const n = sum(this.dns);
    return n > 0 ? { args: this.dns!.args, flows: n } : null;
  }

  forwardedDrillDown(): DrillDown | null {
    const n = sum(this.forwarded);
    return n > 0 ? { args: this.forwarded!.args, flows: n } : null;
  }
}
