// Request counters served at /debug/sim/stats: every HTTP request, the mutating ones, and per verb.

export interface RequestStats {
  total: number;
  /** create/update/patch/delete requests on stored resources (dry runs, access reviews and leases change nothing and are not counted). */
  mutating: number;
  byVerb: Record<string, number>;
}

export const MUTATING_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export class Stats {
  readonly requests: RequestStats = { total: 0, mutating: 0, byVerb: {} };
  private readonly sections = new Map<string, () => unknown>();

  /** Adds a section to the stats document (the datapath adds `flows` and `connections`). */
  addSection(name: string, read: () => unknown): void {
    this.sections.set(name, read);
  }

  count(verb: string | undefined, mutating: boolean): void {
    this.requests.total++;
    if (verb) this.requests.byVerb[verb] = (this.requests.byVerb[verb] ?? 0) + 1;
    if (mutating) this.requests.mutating++;
  }

  snapshot(): { requests: RequestStats; [section: string]: unknown } {
    const out: { requests: RequestStats; [section: string]: unknown } = {
      requests: { ...this.requests, byVerb: { ...this.requests.byVerb } },
    };
    for (const [name, read] of this.sections) out[name] = read();
    return out;
  }
}
