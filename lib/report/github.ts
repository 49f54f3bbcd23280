// GitHub Actions: the report appended to the job summary (kept under its 1 MiB limit) and ::error:: annotations.
import { appendFile, stat } from 'node:fs/promises';
import type { Report } from './json.ts';
import { formatMarkdown } from './markdown.ts';
import { shellCommand } from './observe-command.ts';

/** GitHub rejects a step summary above 1 MiB; stay clear of it. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024 - 16 * 1024;
export const MAX_ANNOTATIONS = 10;

/** Cuts Markdown at a section boundary so it fits `budget` bytes, with a note saying where the rest is. */
export function fitSummary(markdown: string, budget: number, reportDir: string | undefined): string {
  if (Buffer.byteLength(markdown) <= budget) return markdown;
  const note = `\n\n> The full report is longer than a job summary may be: see ${reportDir ? `\`${reportDir}/report.md\`` : 'report.md'}.\n`;
  const sections = markdown.split(/\n(?=## )/);
  let out = '';
  for (const s of sections) {
    const next = out ? `${out}\n${s}` : s;
    if (Buffer.byteLength(next) + Buffer.byteLength(note) > budget) break;
    out = next;
  }
  if (!out) {
    // Not even the first section fits: keep its head.
    out = Buffer.from(markdown)
      .subarray(0, Math.max(0, budget - Buffer.byteLength(note) - 4))
      .toString('utf8')
      .replace(/\uFFFD$/, '');
  }
  return out + note;
}

/** Appends the report to the file GitHub names in GITHUB_STEP_SUMMARY, within the room the step has left. */
export async function appendStepSummary(summaryPath: string, report: Report, reportDir?: string): Promise<void> {
  let used = 0;
  try {
    used = (await stat(summaryPath)).size;
  } catch {
    // No summary yet: the whole budget is ours.
  }
  const budget = Math.max(0, SUMMARY_LIMIT_BYTES - used);
  if (budget < 1024) return;
  await appendFile(summaryPath, fitSummary(formatMarkdown(report), budget, reportDir));
}

/** Workflow command escaping: data and property values differ (properties also escape `:` and `,`). */
function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * `::error::` lines for the failing findings (at most MAX_ANNOTATIONS; the last one counts the rest) and
 * `::warning::` lines for warnings, within the same bound.
 */
export function annotations(report: Report): string[] {
  const out: string[] = [];
  const emit = (kind: 'error' | 'warning', items: typeof report.compliance.violations) => {
    const shown = items.length > MAX_ANNOTATIONS ? items.slice(0, MAX_ANNOTATIONS - 1) : items;
    for (const v of shown) {
      const title = `hubble-lab ${v.check}`;
      const text = v.observe ? `${v.message}\n${v.observe.flows} flows: ${shellCommand(v.observe.argv)}` : v.message;
      out.push(`::${kind} title=${escapeProperty(title)}::${escapeData(text)}`);
    }
    if (items.length > shown.length) {
      out.push(`::${kind} title=${escapeProperty('hubble-lab compliance')}::${escapeData(`… and ${items.length - shown.length} more (see report.md)`)}`);
    }
  };
  const violations = report.compliance.violations;
  emit(
    'error',
    violations.filter((v) => v.severity === 'fail' || v.severity === 'incomplete'),
  );
  emit(
    'warning',
    violations.filter((v) => v.severity === 'warn'),
  );
  return out;
}
