// The Grafana dashboards as code: the committed files are what the generator writes, and every query names metrics
// and labels the agents serve (checked against a scrape) and returns data from a real Prometheus.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { dashboards, dashboardsConfigMap, dashboardsConfigMapPath, dashboardsDir, expressions } from '../../lib/metrics/dashboards.ts';
import { parseExposition, seriesNames, type Scrape } from '../../lib/metrics/exposition.ts';
import { prometheusMissing, startPrometheus } from '../fixtures/prometheus.ts';
import { demoTraffic, labAgents } from './fixtures.ts';

const all = () => Object.entries(dashboards()).flatMap(([file, d]) => expressions(d).map((e) => ({ file, ...e })));

t.test("the committed dashboards are the generator's output (npm run dashboards)", async (t) => {
  for (const [file, dashboard] of Object.entries(dashboards())) {
    t.same(JSON.parse(readFileSync(path.join(dashboardsDir, file), 'utf8')), JSON.parse(JSON.stringify(dashboard)), file);
  }
  t.equal(readFileSync(dashboardsConfigMapPath, 'utf8'), dashboardsConfigMap(), 'the ConfigMap Grafana mounts');
  const cm = parseYaml(readFileSync(dashboardsConfigMapPath, 'utf8').replace(/^#.*\n/, ''));
  t.same(Object.keys(cm.data).sort(), Object.keys(dashboards()).sort());
  const panels = all().map((e) => e.panel);
  for (const title of [
    'Flows by verdict',
    'Flows by type',
    'Drops by reason',
    'Policy verdicts',
    'Request rate',
    'Error ratio',
    'Latency p50',
    'Latency p95',
    'Latency p99',
    'DNS queries by client',
    'DNS responses by rcode',
    'TCP flags',
    'Lost events',
  ]) {
    t.ok(panels.includes(title), `a panel "${title}"`);
  }
});

/** Metric names in an expression (every hubble_ identifier) and the labels it groups, matches or prints by. */
function references(expr: string): { metrics: string[]; labels: string[] } {
  const metrics = [...expr.matchAll(/\b(hubble_[a-z_]+)/g)].map((m) => m[1]!);
  const grouped = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()));
  const matched = [...expr.matchAll(/([a-z_]+)\s*(?:=~|!=|!~|=)\s*"/g)].map((m) => m[1]!);
  return { metrics, labels: [...new Set([...grouped, ...matched])].filter((l) => l !== 'le') };
}

t.test("every expression's metrics and labels are in a scrape of the sim's agents", async (t) => {
  const { hub, targets } = await labAgents(t);
  demoTraffic((flow, node) => hub.record(flow, node), 10);
  const scrapes: Scrape[] = [];
  for (const target of targets) scrapes.push(parseExposition(await (await request(`http://${target.address}/metrics`)).body.text()));
  const names = new Set(scrapes.flatMap((s) => [...seriesNames(s)]));
  const labelsOf = (metric: string) => new Set(scrapes.flatMap((s) => s.samples.filter((x) => x.name === metric).flatMap((x) => Object.keys(x.labels))));
  for (const { file, panel, expr } of all()) {
    const { metrics, labels } = references(expr);
    t.ok(metrics.length > 0, `${file} / ${panel}: queries a Hubble metric`);
    for (const metric of metrics) {
      t.ok(names.has(metric), `${file} / ${panel}: ${metric} is served`);
      const served = labelsOf(metric);
      // A family declared without series yet (lost events) has no labels to check.
      if (served.size) for (const label of labels) t.ok(served.has(label), `${file} / ${panel}: ${metric} has the label ${label}`);
    }
  }
});

t.test('every expression returns data from a real Prometheus scraping the agents', { skip: prometheusMissing }, async (t) => {
  const { hub, targets } = await labAgents(t);
  const prom = await startPrometheus(t, targets);
  await prom.scrapedAfter(new Date());
  demoTraffic((flow, node) => hub.record(flow, node), 10);
  await prom.scrapedAfter(new Date(Date.now() + 1000));
  for (const { file, panel, expr } of all()) {
    const result = await prom.client.query(expr.replaceAll('$__rate_interval', '1m'));
    if (panel === 'Lost events') t.same(result, [], `${file} / ${panel}: resolves, and the sim loses no events`);
    else t.ok(result.length > 0, `${file} / ${panel}: ${result.length} series`);
  }
});
