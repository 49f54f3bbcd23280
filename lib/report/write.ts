// Writes a report's files (report.md, report.json, junit.xml) into a folder, and the GitHub step summary when asked.
import { mkdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isSystemError, OutputError, outputError } from '../errors.ts';
import { appendStepSummary } from './github.ts';
import { formatReportJson, type Report } from './json.ts';
import { formatJunit } from './junit.ts';
import { formatMarkdown } from './markdown.ts';

export const reportFormats = ['md', 'json', 'junit'] as const;
export type ReportFormat = (typeof reportFormats)[number];
export const reportFileNames: Record<ReportFormat, string> = { md: 'report.md', json: 'report.json', junit: 'junit.xml' };

const render: Record<ReportFormat, (r: Report) => string> = { md: formatMarkdown, json: formatReportJson, junit: formatJunit };

/**
 * Creates the report folder and any missing parents, one mkdir per missing level. Node's recursive mkdir retries
 * forever where a file system refuses a new entry without saying the parent is missing (`--out /proc/nope`
 * spins at 100% CPU); this makes each folder once and reports the first refusal as a one-line OutputError.
 */
export function makeOutDir(dir: string): void {
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (err) {
      if (!isSystemError(err) || err.code !== 'ENOENT') throw outputError(err, 'create the report folder', dir);
      missing.push(at);
      if (dirname(at) === at) break;
      continue;
    }
    if (!isDir) {
      const what = at === resolve(dir) ? 'it is a file, not a folder' : `${at} is a file, not a folder`;
      throw new OutputError(`cannot create the report folder ${dir}: ${what}`);
    }
    break;
  }
  for (const at of missing.reverse()) {
    try {
      mkdirSync(at);
    } catch (err) {
      // Made meanwhile by someone else: fine, as long as it is a folder (checked by the next mkdir or write).
      if (isSystemError(err) && err.code === 'EEXIST') continue;
      throw outputError(err, 'create the report folder', dir);
    }
  }
}

/** Returns the paths written. */
export async function writeReports(report: Report, outDir: string, formats: readonly ReportFormat[], env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const written: string[] = [];
  if (formats.length > 0) {
    makeOutDir(outDir);
    for (const f of formats) {
      const path = join(outDir, reportFileNames[f]);
      try {
        await writeFile(path, render[f](report));
      } catch (err) {
        throw outputError(err, 'write', path);
      }
      written.push(path);
    }
  }
  if (env.GITHUB_STEP_SUMMARY) {
    try {
      await appendStepSummary(env.GITHUB_STEP_SUMMARY, report, outDir);
    } catch (err) {
      throw outputError(err, 'append the step summary to', env.GITHUB_STEP_SUMMARY);
    }
  }
  return written;
}
