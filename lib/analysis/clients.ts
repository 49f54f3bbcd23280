// The clients' own view of the traffic (the lab's generator and agents): workflows, steps, and the requests that
// never got an answer, placed on the edge each was sent on so the service-level check can count them.
import type { ProbeResult, StepSummary, TrafficSummary } from '../traffic/summary.ts';

/** Outcomes that are no HTTP status: the request got no answer. */
function isUnanswered(status: string): boolean {
  return !/^\d+$/.test(status);
}

export interface ClientStep {
  step: string;
  /** The Service the step called, as `namespace/name`. */
  service: string;
  /** The edge the requests went on: the client's endpoint name and the server's (null when no flow showed it). */
  client: string;
  server: string | null;
  requests: number;
  byStatus: Record<string, number>;
  /** Requests with no answer at all (timeout, refused, reset, dns, …). */
  unanswered: number;
  /** Requests that did not get the outcome their step needs (any failure, or not the deliberate one). */
  failed: number;
  /** Deliberate error scenario: what the step should get (400, 404, "timeout"); its failures are not the edge's. */
  expect: number | string | null;
  latencyMs: StepSummary['latencyMs'];
}

export interface ClientView {
  /** Who measured: the generator's own summary (traffic-summary.json). */
  source: string;
  workflows: { started: number; completed: number; failed: number };
  batches: Record<string, number>;
  steps: ClientStep[];
  errors: TrafficSummary['errors'];
  probe: ProbeResult | null;
}

/**
 * Places each step on its edge: the client is `namespace/measuredBy`, the server the endpoint that the flows to
 * the step's Service reached (`services`, from the analysis). `namespace` is where the clients run.
 */
export function clientView(
  summary: TrafficSummary,
  probe: ProbeResult | null,
  services: Readonly<Record<string, string[]>>,
  namespace: string,
  source: string,
): ClientView {
  const steps: ClientStep[] = Object.entries(summary.steps)
    .map(([step, s]) => {
      const service = s.service.includes('/') ? s.service : `${namespace}/${s.service}`;
      const servers = services[service] ?? [];
      const unanswered = Object.entries(s.byStatus).reduce((n, [status, count]) => n + (isUnanswered(status) ? count : 0), 0);
      return {
        step,
        service,
        client: `${namespace}/${s.measuredBy}`,
        server: servers.length === 1 ? servers[0]! : null,
        requests: s.requests,
        byStatus: s.byStatus,
        unanswered,
        failed: s.unexpected,
        expect: s.expect ?? null,
        latencyMs: s.latencyMs,
      };
    })
    .sort((a, b) => (a.step < b.step ? -1 : a.step > b.step ? 1 : 0));
  return { source, workflows: { ...summary.workflows }, batches: { ...summary.batches }, steps, errors: summary.errors, probe };
}

/** Requests on an edge that the client sent and never got an answer for, outside the deliberate error scenarios. */
export function unansweredOnEdge(view: ClientView | null, client: string, server: string): { requests: number; unanswered: number; steps: string[] } {
  const out = { requests: 0, unanswered: 0, steps: [] as string[] };
  if (!view) return out;
  for (const s of view.steps) {
    if (s.client !== client || s.server !== server || s.expect !== null) continue;
    out.requests += s.requests;
    out.unanswered += s.unanswered;
    if (s.unanswered > 0) out.steps.push(s.step);
  }
  return out;
}

/** The namespace the generator's targets live in (`http://svc.<namespace>.svc.cluster.local`), for its steps' Services. */
export function targetsNamespace(summary: TrafficSummary): string | undefined {
  for (const url of Object.values(summary.targets ?? {})) {
    const m = /^[a-z]+:\/\/[^./:]+\.([^./:]+)\.svc(?:[.:/]|$)/.exec(url);
    if (m) return m[1];
  }
  return undefined;
}
