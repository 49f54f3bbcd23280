// The report's metrics section: its report.md table, and its part of report.schema.json (kept beside the type it
// describes, and checked against it by the tests).
import type { MetricsSection } from './lab-metrics.ts';

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** `## Flows and metrics` for report.md: the reconciliation as a short table, or why there is none. */
export function metricsMarkdown(m: MetricsSection | undefined): string | undefined {
  if (!m) return undefined;
  const out = ['## Flows and metrics', ''];
  if (!m.reconciliation) {
    out.push(`${m.note ?? 'no reconciliation'}.`);
    return out.join('\n');
  }
  const r = m.reconciliation;
  out.push(
    `Hubble metrics from ${m.source} for the flows' window (${m.window ? `${m.window.start} → ${m.window.end}` : 'unknown'}): ${r.status === 'ok' ? '✅ they agree' : '⚠️ they disagree'} (${r.tolerance}).`,
    '',
    '| check | flows | metrics | tolerance | |',
    '| --- | ---: | ---: | ---: | --- |',
    ...r.checks.map((c) => `| ${cell(c.name)} | ${c.flows} | ${c.metrics} | ±${c.tolerance} | ${c.ok ? '✅' : '⚠️'} |`),
  );
  return out.join('\n');
}

/** report.json's `metrics` property, as JSON Schema (draft 2020-12). */
export const metricsSectionSchema = {
  type: 'object',
  description:
    "The run's Hubble metrics for the flows' window, reconciled with the flows (the lab only). source null: metrics were not collected, and note says why.",
  additionalProperties: false,
  required: ['source', 'window', 'reconciliation', 'note'],
  properties: {
    source: { type: ['string', 'null'], description: 'The Prometheus HTTP API the numbers came from.' },
    window: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['start', 'end', 'seconds'],
          properties: { start: { type: 'string' }, end: { type: 'string' }, seconds: { type: 'number', minimum: 0 } },
          description: "The instants the counters were read at: the scrapes around the flows' window.",
        },
      ],
    },
    reconciliation: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['status', 'tolerance', 'checks'],
          properties: {
            status: { enum: ['ok', 'mismatch'] },
            tolerance: { type: 'string', description: 'How far flows and metrics may differ, per kind of check.' },
            checks: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['name', 'kind', 'flows', 'metrics', 'tolerance', 'ok'],
                properties: {
                  name: { type: 'string' },
                  kind: { enum: ['http-requests', 'drops', 'flows-by-verdict'] },
                  flows: { type: 'number', minimum: 0 },
                  metrics: { type: 'number', minimum: 0 },
                  tolerance: { type: 'number', minimum: 0 },
                  ok: { type: 'boolean' },
                },
              },
            },
          },
        },
      ],
    },
    note: { type: ['string', 'null'], description: 'Why there is no reconciliation, when there is none.' },
  },
} as const;
