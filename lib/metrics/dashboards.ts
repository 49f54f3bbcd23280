// The lab's Grafana dashboards as code (@grafana/grafana-foundation-sdk), on the metrics and labels the agents serve
// with the lab's hubble-metrics. `npm run dashboards` writes them to manifests/grafana/dashboards/*.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { LegendDisplayMode, LegendPlacement, VizLegendOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

export const dashboardsDir = fileURLToPath(new URL('../../manifests/grafana/dashboards/', import.meta.url));
/** The ConfigMap Grafana provisions them from, beside the Deployment in manifests/grafana. */
export const dashboardsConfigMapPath = fileURLToPath(new URL('../../manifests/grafana/hubble-dashboards.yaml', import.meta.url));

/** Rates over Grafana's interval for the panel's resolution (at least four scrapes). */
const rate = (selector: string) => `rate(${selector}[$__rate_interval])`;

interface Query {
  expr: string;
  legend: string;
}

function panel(title: string, description: string, unit: string, queries: Query[], width = 12): PanelBuilder {
  const legend = new VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(LegendDisplayMode.Table)
    .placement(LegendPlacement.Bottom)
    .calcs(['lastNotNull', 'max']);
  const p = new PanelBuilder().title(title).description(description).unit(unit).min(0).height(8).span(width).legend(legend);
  queries.forEach((q, i) =>
    p.withTarget(
      new DataqueryBuilder()
        .refId(String.fromCharCode(65 + i))
        .expr(q.expr)
        .legendFormat(q.legend),
    ),
  );
  return p;
}

/** Requests as the server's proxy counted them (the lab's L7 rules are on ingress); edges are source → destination. */
const http = (extra = '') => `hubble_http_requests_total{reporter="server"${extra}}`;
const durationBuckets = 'hubble_http_request_duration_seconds_bucket{reporter="server"}';

function flowsDashboard(): DashboardBuilder {
  return new DashboardBuilder('Hubble: flows, drops and policy')
    .uid('hubble-lab-flows')
    .tags(['hubble', 'hubble-lab'])
    .refresh('10s')
    .time({ from: 'now-30m', to: 'now' })
    .withRow(new RowBuilder('Flows'))
    .withPanel(
      panel('Flows by verdict', 'Every flow the agents processed, by verdict (hubble_flows_processed_total).', 'ops', [
        { expr: `sum by (verdict) (${rate('hubble_flows_processed_total')})`, legend: '{{verdict}}' },
      ]),
    )
    .withPanel(
      panel('Flows by type', 'Trace (by observation point), Drop, PolicyVerdict and L7 (HTTP, DNS) flows.', 'ops', [
        { expr: `sum by (type, subtype) (${rate('hubble_flows_processed_total')})`, legend: '{{type}} {{subtype}}' },
      ]),
    )
    .withRow(new RowBuilder('Drops and policy'))
    .withPanel(
      panel('Drops by reason', 'Dropped flows by drop reason (POLICY_DENIED: no policy allows it; POLICY_DENY: a deny rule).', 'ops', [
        { expr: `sum by (reason) (${rate('hubble_drop_total')})`, legend: '{{reason}}' },
      ]),
    )
    .withPanel(
      panel('Drops by edge', 'Where the drops are: source → destination workload and reason.', 'ops', [
        { expr: `sum by (source, destination, reason) (${rate('hubble_drop_total')})`, legend: '{{source}} → {{destination}} ({{reason}})' },
      ]),
    )
    .withPanel(
      panel('Policy verdicts', 'Policy decisions by direction, match type and action (hubble_policy_verdicts_total).', 'ops', [
        { expr: `sum by (direction, match, action) (${rate('hubble_policy_verdicts_total')})`, legend: '{{direction}} {{match}} {{action}}' },
      ]),
    )
    .withPanel(
      panel('Denied edges', 'Policy-dropped decisions by source → destination workload.', 'ops', [
        {
          expr: `sum by (source, destination, direction) (${rate('hubble_policy_verdicts_total{action="dropped"}')})`,
          legend: '{{source}} → {{destination}} ({{direction}})',
        },
      ]),
    )
    .withRow(new RowBuilder('TCP and lost events'))
    .withPanel(
      panel('TCP flags', 'SYN, SYN-ACK, FIN and RST seen by the agents (hubble_tcp_flags_total): SYNs without SYN-ACKs are unanswered connections.', 'ops', [
        { expr: `sum by (flag) (${rate('hubble_tcp_flags_total')})`, legend: '{{flag}}' },
      ]),
    )
    .withPanel(
      panel('Lost events', 'Events Hubble could not record (perf ring buffer, observer queue): while non-zero, flow-based counts are lower bounds.', 'ops', [
        { expr: `sum by (source) (${rate('hubble_lost_events_total')})`, legend: '{{source}}' },
      ]),
    );
}

function httpDashboard(): DashboardBuilder {
  const byEdge = 'source, destination';
  const quantile = (q: number) => ({
    expr: `histogram_quantile(${q}, sum by (le, ${byEdge}) (${rate(durationBuckets)}))`,
    legend: `p${Math.round(q * 100)} {{source}} → {{destination}}`,
  });
  return new DashboardBuilder('Hubble: HTTP by workload edge')
    .uid('hubble-lab-http')
    .tags(['hubble', 'hubble-lab'])
    .refresh('10s')
    .time({ from: 'now-30m', to: 'now' })
    .withRow(new RowBuilder('Requests'))
    .withPanel(
      panel('Request rate', "HTTP requests per source → destination workload (httpV2, counted at the server's proxy).", 'reqps', [
        { expr: `sum by (${byEdge}) (${rate(http())})`, legend: '{{source}} → {{destination}}' },
      ]),
    )
    .withPanel(
      panel('Error ratio', 'Share of responses with status 4xx or 5xx, per edge.', 'percentunit', [
        { expr: `sum by (${byEdge}) (${rate(http(',status=~"4..|5.."'))}) / sum by (${byEdge}) (${rate(http())})`, legend: '{{source}} → {{destination}}' },
      ]),
    )
    .withPanel(
      panel('Responses by status', 'Responses by status code over all edges.', 'reqps', [{ expr: `sum by (status) (${rate(http())})`, legend: '{{status}}' }]),
    )
    .withRow(new RowBuilder('Latency'))
    .withPanel(
      panel(
        'Latency p50',
        'Request → response time at the proxy, median per edge (histogram_quantile over hubble_http_request_duration_seconds).',
        's',
        [quantile(0.5)],
        8,
      ),
    )
    .withPanel(panel('Latency p95', '95th percentile per edge.', 's', [quantile(0.95)], 8))
    .withPanel(panel('Latency p99', '99th percentile per edge.', 's', [quantile(0.99)], 8));
}

function dnsDashboard(): DashboardBuilder {
  return new DashboardBuilder('Hubble: DNS')
    .uid('hubble-lab-dns')
    .tags(['hubble', 'hubble-lab'])
    .refresh('10s')
    .time({ from: 'now-30m', to: 'now' })
    .withPanel(
      panel('DNS queries by client', "Queries seen by Cilium's DNS proxy, per client workload.", 'ops', [
        { expr: `sum by (source) (${rate('hubble_dns_queries_total')})`, legend: '{{source}}' },
      ]),
    )
    .withPanel(
      panel('DNS responses by rcode', 'Answers by response code (No Error, Non-Existent Domain, Query Refused, …).', 'ops', [
        { expr: `sum by (rcode) (${rate('hubble_dns_responses_total')})`, legend: '{{rcode}}' },
      ]),
    )
    .withPanel(
      panel('Top queried names', "Queries per name (the dns metric's query option).", 'ops', [
        { expr: `topk(10, sum by (query) (${rate('hubble_dns_queries_total')}))`, legend: '{{query}}' },
      ]),
    )
    .withPanel(
      panel('DNS answer types', 'Record types in the answers.', 'ops', [
        { expr: `sum by (type) (${rate('hubble_dns_response_types_total')})`, legend: '{{type}}' },
      ]),
    );
}

/** Each dashboard by the file it is written to. */
export function dashboards(): Record<string, unknown> {
  return {
    'hubble-flows.json': flowsDashboard().build(),
    'hubble-http.json': httpDashboard().build(),
    'hubble-dns.json': dnsDashboard().build(),
  };
}

/** Every PromQL expression of a built dashboard, with its panel's title. */
export function expressions(dashboard: unknown): { panel: string; expr: string }[] {
  const panels = ((dashboard as { panels?: unknown[] }).panels ?? []) as { title?: string; targets?: { expr?: string }[]; panels?: unknown[] }[];
  return panels.flatMap((p) => [
    ...(p.targets ?? []).filter((t) => t.expr).map((t) => ({ panel: p.title ?? '', expr: t.expr! })),
    ...expressions({ panels: p.panels ?? [] }),
  ]);
}

/** The dashboards as the ConfigMap grafana.yaml mounts (one key per file), as YAML text. */
export function dashboardsConfigMap(): string {
  const data = Object.fromEntries(Object.entries(dashboards()).map(([file, d]) => [file, `${JSON.stringify(d, null, 2)}\n`]));
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'grafana-hubble-dashboards', namespace: 'kube-system', labels: { 'app.kubernetes.io/part-of': 'hubble-lab' } },
    data,
  };
  return `# The lab's Hubble dashboards for Grafana, generated by \`npm run dashboards\` from lib/metrics/dashboards.ts (do not edit).\n${stringify(cm, { lineWidth: 0 })}`;
}

export function writeDashboards(dir = dashboardsDir, configMapPath = dashboardsConfigMapPath): string[] {
  mkdirSync(dir, { recursive: true });
  const files = Object.entries(dashboards()).map(([file, dashboard]) => {
    const target = path.join(dir, file);
    writeFileSync(target, `${JSON.stringify(dashboard, null, 2)}\n`);
    return target;
  });
  writeFileSync(configMapPath, dashboardsConfigMap());
  return [...files, configMapPath];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const file of writeDashboards()) process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}
