// Writes a report's files (report.md, report.json, junit.xml) into a folder, and the GitHub step summary when asked.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appendStepSummary } from './github.ts';
import { formatReportJson, type Report } from './json.ts';
import { formatJunit } from './junit.ts';
import { formatMarkdown } from './markdown.ts';

export const reportFormats = ['md', 'json', 'junit'] as const;
export type ReportFormat = (typeof reportFormats)[number];
export const reportFileNames: Record<ReportFormat, string> = { md: 'report.md', json: 'report.json', junit: 'junit.xml' };

const render: Record<ReportFormat, (r: Report) => string> = { md: formatMarkdown, json: formatReportJson, junit: formatJunit };

/** Returns the paths written. */
export async function writeReports(report: Report, outDir: string, formats: readonly ReportFormat[], env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const written: string[] = [];
  if (formats.length > 0) {
    await mkdir(outDir, { recursive: true });
    for (const f of formats) {
      const path = join(outDir, reportFileNames[f]);
      await writeFile(path, render[f](report));
      written.push(path);
    }
  }
  if (env.GITHUB_STEP_SUMMARY) await appendStepSummary(env.GITHUB_STEP_SUMMARY, report, outDir);
  return written;
}
