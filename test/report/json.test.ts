// report.json: valid against its published schema, versioned, and each finding's observe command selects its flows.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { validateSchema, type JsonSchema } from '../../lib/analysis/json-schema.ts';
import { parseExpectations } from '../../lib/analysis/expectations.ts';
import { parseArgs } from '../../lib/args.ts';
import type { Flow } from '../../lib/flows/types.ts';
import { buildGetFlowsRequest, observeFilterOptions, observeSelectorOptions } from '../../lib/hubble/filter/flags.ts';
import { compileFlowFilters } from '../../lib/hubble/filter/match.ts';
import { formatReportJson } from '../../lib/report/json.ts';
import { demoReport } from '../fixtures/demo-report.ts';

const schema = JSON.parse(readFileSync(new URL('../../lib/report/report.schema.json', import.meta.url), 'utf8')) as JsonSchema;

/** The flows a `hubble-lab observe --input-file … <filters>` command would print. */
function selectedBy(argv: readonly string[], flows: Flow[]): Flow[] {
  const args = argv.slice(2);
  const i = args.indexOf('--input-file');
  args.splice(i, 2);
  const parsed = parseArgs(args, [...observeSelectorOptions, ...observeFilterOptions], 'observe');
  const req = buildGetFlowsRequest(parsed, { live: false });
  const match = compileFlowFilters(req.whitelist, req.blacklist);
  return flows.filter(match);
}

t.test('a full report validates against report.schema.json and survives JSON', async (t) => {
  const { report } = demoReport({
    expectations: parseExpectations(
      'allow:\n  - from: "genai-network-demo/*"\n    to: "*"\ndeny:\n  - from: default/test-pod\n    to: "*"\nslo:\n  default: {maxErrorRate: 0.05, maxP99Ms: 100}\n',
      'e.yaml',
    ),
  });
  const text = formatReportJson(report);
  const back = JSON.parse(text) as unknown;
  t.same(validateSchema(back, schema), [], 'no schema errors');
  t.equal((back as { schemaVersion: number }).schemaVersion, 1);
  t.ok(text.endsWith('\n'));
  const broken = JSON.parse(text) as Record<string, unknown>;
  delete broken.totals;
  (broken.edges as Record<string, unknown>[])[0]!.flows = -1;
  t.same(
    validateSchema(broken, schema)
      .map((e) => `${e.path.join('.')}: ${e.message}`)
      .sort(),
    [': missing required key "totals"', 'edges.0.flows: must be at least 0, got -1'],
    'and the schema really checks',
  );
});

t.test('the observe command of each finding prints exactly the flows it says', async (t) => {
  const { report, records } = demoReport();
  const flows = records.flatMap((r) => (r.flow ? [r.flow] : []));
  const findings = report.compliance.violations.filter((v) => v.observe);
  t.ok(findings.length >= 2, 'policy-drop findings have commands');
  for (const v of findings) {
    const shown = selectedBy(v.observe!.argv, flows);
    t.equal(shown.length, v.observe!.flows, `${v.source} → ${v.destination}: ${v.observe!.argv.join(' ')}`);
    if (v.verdict === 'DROPPED') t.ok(shown.every((f) => f.verdict === 'DROPPED'));
  }
});

t.test('every drill-down of every edge prints the number of flows it states', async (t) => {
  const { report, records } = demoReport();
  const flows = records.flatMap((r) => (r.flow ? [r.flow] : []));
  const { observeCommand } = await import('../../lib/report/observe-command.ts');
  let checked = 0;
  for (const e of report.edges) {
    const d = e.drilldowns;
    for (const drill of [d.denied, d.httpErrors, d.dns, d.forwarded, ...d.drops]) {
      const cmd = observeCommand(report.input, report.window, drill);
      if (!cmd) continue;
      t.equal(selectedBy(cmd.argv, flows).length, cmd.flows, `${e.source} → ${e.destination}: ${cmd.argv.slice(2).join(' ')}`);
      checked++;
    }
  }
  t.ok(checked > 10, `${checked} commands checked`);
});
