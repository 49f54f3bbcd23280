// Reads the result lines the traffic generator and the probe print into their pod logs.
import { InputError } from '../errors.ts';

export const summaryPrefix = 'HUBBLE_LAB_SUMMARY';
export const probePrefix = 'HUBBLE_LAB_PROBE';

/** A step's outcome is an HTTP status, or why there was none: timeout, refused, reset, dns, aborted, error. */
export interface StepSummary {
  /** The Service the step called. */
  service: string;
  /** Who timed the call: traffic-generator, or the agent that made it (agent-coordinator, document-agent). */
  measuredBy: string;
  requests: number;
  /** Counts by status ("200", "502", "timeout", …). */
  byStatus: Record<string, number>;
  /** For the deliberate error scenarios: what the step should get (400, 404, "timeout"). */
  expect?: number | string;
  /** Calls that failed (workflow steps) or did not get their expected outcome (error scenarios). */
  unexpected: number;
  /** Client-side latency of every call, answered or not; null when none was timed. */
  latencyMs: { p50: number; p95: number; max: number } | null;
}

/** The polls of one kind of wait: the generator waiting for its task, or the coordinator for document-agent's result. */
export interface PollSummary {
  /** Waits of this kind (one per workflow that got that far). */
  workflows: number;
  /** Polls sent, in all. */
  polls: number;
  /** Polls one wait took; null when there was no wait. */
  perWorkflow: { p50: number; p95: number; max: number } | null;
  /** How the waits ended: ready (a final answer), error (a poll got no 2xx answer), timeout (the bound), aborted. */
  byOutcome: Record<string, number>;
}

export interface TrafficSummary {
  mode: 'traffic';
  seed: number;
  durationMs: number;
  plannedDurationMs: number;
  interrupted: boolean;
  targets: Record<string, string>;
  /** Batches of each pattern per cycle of the generator's plan (--mix). */
  mix?: Record<'normal' | 'burst' | 'error', number>;
  batches: Record<'normal' | 'burst' | 'error', number>;
  workflows: { started: number; completed: number; failed: number };
  /** tasks, poll, analyze, results, generate, complete, invalid, nonexistent, timeout — those that ran. */
  steps: Record<string, StepSummary>;
  errors: { count: number; top: Array<{ message: string; count: number }> };
  /** task: the generator's GET /api/v1/tasks/{id}; results: the coordinator's GET /api/v1/results/{id}. */
  polls: { task: PollSummary; results: PollSummary };
}

export interface ProbeResult {
  mode: 'probe';
  target: string;
  /** denied: no answer (timeout, refused, reset), which is what a policy drop looks like; error: e.g. DNS failed. */
  outcome: 'denied' | 'answered' | 'error';
  status?: number;
  reason?: string;
  error?: string;
  ms: number;
}

function lastPrefixedJson(log: string, prefix: string, source: string): Record<string, unknown> {
  const lines = log.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith(`${prefix} `)) continue;
    let value: unknown;
    try {
      value = JSON.parse(line.slice(prefix.length + 1));
    } catch (err) {
      throw new InputError(`${source}:${i + 1}: the ${prefix} line is not valid JSON: ${(err as Error).message}`, {
        hint: 'the log may have been cut off; read it again once the pod has finished',
      });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new InputError(`${source}:${i + 1}: the ${prefix} line does not hold a JSON object`);
    }
    return value as Record<string, unknown>;
  }
  throw new InputError(`${source}: no ${prefix} line in ${lines.filter((l) => l.trim()).length} log lines`, {
    hint: 'the generator prints it when it finishes; check that the pod ran to completion',
  });
}

/** The generator's summary from its log (the last HUBBLE_LAB_SUMMARY line); `source` names the log in errors. */
export function readTrafficSummary(log: string, source: string): TrafficSummary {
  const value = lastPrefixedJson(log, summaryPrefix, source);
  if (value.mode !== 'traffic' || typeof value.steps !== 'object' || typeof value.workflows !== 'object') {
    throw new InputError(`${source}: the ${summaryPrefix} line is not a traffic summary (no mode, steps or workflows)`);
  }
  return value as unknown as TrafficSummary;
}

/** The probe's result from its log (the last HUBBLE_LAB_PROBE line). */
export function readProbeResult(log: string, source: string): ProbeResult {
  const value = lastPrefixedJson(log, probePrefix, source);
  if (value.mode !== 'probe' || !['denied', 'answered', 'error'].includes(value.outcome as string)) {
    throw new InputError(`${source}: the ${probePrefix} line is not a probe result (outcome ${JSON.stringify(value.outcome)})`);
  }
  return value as unknown as ProbeResult;
}
