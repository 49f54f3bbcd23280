// Where a run keeps what it writes: reports/<timestamp>/ (flows.jsonl, traffic-summary.json, the reports), and
// which earlier run is the latest.
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';

/** The folder of the runs' own folders (relative to where the lab is run). */
export const reportsDir = 'reports';

export function runFolder(now = new Date()): string {
  return join(reportsDir, now.toISOString().replace(/[:.]/g, '-'));
}

/** The time a run folder is named after: `2026-12-07T14-56-15-123Z` (run) or `2026-12-07T14-56-15Z` (analyze). */
function folderTime(name: string): number | undefined {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d)(?:-(\d{3}))?Z$/.exec(name);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5] ?? '000'}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The flows.jsonl of the newest run folder under `dir` that has one (folders named by time, as runFolder names
 * them); `exclude` leaves out a folder (the current run's). Undefined when no run collected flows.
 */
export function latestRunFlows(dir = reportsDir, exclude?: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const runs = names
    .map((name) => ({ name, ms: folderTime(name) }))
    .filter((r): r is { name: string; ms: number } => r.ms !== undefined)
    .sort((a, b) => b.ms - a.ms || (a.name < b.name ? 1 : -1));
  for (const run of runs) {
    const folder = join(dir, run.name);
    if (exclude && relative(exclude, folder) === '') continue;
    const flows = join(folder, 'flows.jsonl');
    if (existsSync(flows)) return flows;
  }
  return undefined;
}

/** A path as the user should read it: relative to the working directory when inside it. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
