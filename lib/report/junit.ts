// junit.xml: one testcase per compliance check, so CI systems show the gate like a test run; failures name the edges.
import type { Report, ReportCheck } from './json.ts';
import { shellCommand } from './observe-command.ts';

function xml(text: string): string {
  return (
    text
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      // Characters XML 1.0 cannot carry at all.
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
  );
}

function details(c: ReportCheck): string {
  const lines: string[] = [];
  for (const v of c.violations) {
    lines.push(`${v.severity.toUpperCase()}: ${v.message}`);
    if (v.observe) lines.push(`  ${v.observe.flows} flows: ${shellCommand(v.observe.argv)}`);
  }
  for (const n of c.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

function testcase(c: ReportCheck): string {
  const open = `    <testcase classname="hubble-lab.compliance" name="${xml(`${c.id}: ${c.title}`)}" time="0">`;
  const body = details(c);
  let inner = '';
  if (c.status === 'fail' || c.status === 'incomplete') {
    inner = `      <failure type="${c.status === 'fail' ? xml(c.id) : 'incomplete'}" message="${xml(c.summary)}">${xml(body)}</failure>`;
  } else if (c.status === 'skipped' || c.status === 'not-configured') {
    inner = `      <skipped message="${xml(`${c.status === 'skipped' ? 'turned off' : 'not configured'}: ${c.summary}`)}"/>`;
  } else if (body) {
    inner = `      <system-out>${xml(`${c.status === 'warn' ? 'WARNING: ' : ''}${c.summary}\n${body}`)}</system-out>`;
  }
  return inner ? `${open}\n${inner}\n    </testcase>` : `${open}</testcase>`;
}

export function formatJunit(r: Report): string {
  const checks = r.compliance.checks;
  const failures = checks.filter((c) => c.status === 'fail' || c.status === 'incomplete').length;
  const skipped = checks.filter((c) => c.status === 'skipped' || c.status === 'not-configured').length;
  const counts = `tests="${checks.length}" failures="${failures}" errors="0" skipped="${skipped}"`;
  const props = [
    ['verdict', r.compliance.status],
    ['gate', r.compliance.gate],
    ['expectations', r.compliance.expectations ?? ''],
    ['input', `${r.input.kind}:${r.input.source}`],
    ['window', r.window.start ? `${r.window.start}/${r.window.end}` : ''],
    ['flows', String(r.totals.flows)],
  ]
    .map(([k, v]) => `      <property name="${xml(k!)}" value="${xml(v!)}"/>`)
    .join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="hubble-lab compliance" ${counts} time="0">`,
    `  <testsuite name="hubble-lab compliance" ${counts} time="0" timestamp="${xml(r.generatedAt)}">`,
    '    <properties>',
    props,
    '    </properties>',
    ...checks.map(testcase),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
