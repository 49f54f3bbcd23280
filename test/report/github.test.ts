// GitHub Actions output: the job summary appended within 1 MiB, and at most ten ::error:: annotations.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseExpectations } from '../../lib/analysis/expectations.ts';
import { annotations, appendStepSummary, fitSummary, MAX_ANNOTATIONS, SUMMARY_LIMIT_BYTES } from '../../lib/report/github.ts';
import { formatMarkdown } from '../../lib/report/markdown.ts';
import { demoReport } from '../fixtures/demo-report.ts';

t.test('the summary is appended after what the step already wrote', async (t) => {
  const { report } = demoReport();
  const dir = t.testdir({ 'summary.md': '# earlier step output\n' });
  const path = join(dir, 'summary.md');
  await appendStepSummary(path, report, 'reports/x');
  const text = readFileSync(path, 'utf8');
  t.ok(text.startsWith('# earlier step output\n# ❌ FAIL — Hubble flow analysis'));
  t.equal(text.length, '# earlier step output\n'.length + formatMarkdown(report).length, 'the whole report fits');
});

t.test('a report too large for a job summary is cut at a section, with a pointer to the full one', async (t) => {
  const { report } = demoReport();
  const md = formatMarkdown(report);
  const budget = md.indexOf('## Top edges') + 200;
  const fitted = fitSummary(md, budget, 'reports/run1');
  t.ok(Buffer.byteLength(fitted) <= budget);
  t.match(fitted, /## Compliance checks/);
  t.notMatch(fitted, /## Top edges/);
  t.match(fitted, /see `reports\/run1\/report\.md`/);
  const dir = t.testdir({ 'summary.md': 'x'.repeat(SUMMARY_LIMIT_BYTES - 5000) });
  await appendStepSummary(join(dir, 'summary.md'), report, 'reports/run1');
  t.ok(readFileSync(join(dir, 'summary.md')).length <= 1024 * 1024, 'the step total stays under 1 MiB');
  writeFileSync(join(dir, 'full.md'), 'x'.repeat(SUMMARY_LIMIT_BYTES));
  await appendStepSummary(join(dir, 'full.md'), report);
  t.equal(readFileSync(join(dir, 'full.md')).length, SUMMARY_LIMIT_BYTES, 'nothing appended when there is no room');
});

t.test('annotations: one ::error:: per failing finding, at most ten, escaped', async (t) => {
  const { report } = demoReport();
  const lines = annotations(report);
  const errors = lines.filter((l) => l.startsWith('::error '));
  t.equal(errors.length, 2);
  t.match(
    errors[0],
    /^::error title=hubble-lab policy-drops::default\/test-pod → genai-network-demo\/document-agent: 48 SYNs denied by policy \(48 at the server's ingress\)%0A48 flows: hubble-lab observe --input-file flows\.jsonl --from-pod default\/test-pod --to-namespace genai-network-demo --to-workload document-agent --verdict DROPPED --type drop --drop-reason-desc POLICY_DENIED$/,
  );
  t.equal(lines.filter((l) => l.startsWith('::warning ')).length, 3, 'completeness warnings: lost events, a node, malformed lines');
  t.match(lines.filter((l) => l.startsWith('::warning ')).join('\n'), /malformed lines? skipped/);
  t.ok(
    lines.every((l) => !l.includes('\n')),
    'one line each',
  );

  // Many failing findings: the annotations stop at ten, the last counting the rest.
  const many = demoReport({
    expectations: parseExpectations('allow:\n  - from: nobody\n    to: nothing\nchecks: { drift: fail }\n', 'e.yaml'),
    gate: 'any-drop',
  });
  const failing = many.report.compliance.violations.filter((v) => v.severity !== 'warn').length;
  t.ok(failing > MAX_ANNOTATIONS, `${failing} failing findings`);
  const errs = annotations(many.report).filter((l) => l.startsWith('::error '));
  t.equal(errs.length, MAX_ANNOTATIONS);
  t.equal(errs[MAX_ANNOTATIONS - 1], `::error title=hubble-lab compliance::… and ${failing - (MAX_ANNOTATIONS - 1)} more (see report.md)`);
});
