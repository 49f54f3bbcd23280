// The `hubble-lab observe` command behind a finding, so every number in a report can be traced to its flows.
import type { DrillDown } from '../analysis/drilldown.ts';

/** Where the analysed flows came from. */
export interface ReportSource {
  kind: 'file' | 'server' | 'prometheus';
  /** The file path (`-` for stdin), the server address, or the Prometheus API (metrics: no drill-downs). */
  source: string;
}

/** A command as its words, and how many flows it prints on the analysed input. */
export interface ObserveCommand {
  argv: string[];
  flows: number;
}

/** Shell-quotes a word only when it needs it. */
function q(value: string): string {
  return /^[A-Za-z0-9_./:=@+,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The command line a person pastes. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(q).join(' ');
}

/** The same input again: the file, or the server with the analysed window (what is still in its buffers). */
function sourceArgs(input: ReportSource, window: { start: string | null; end: string | null } | undefined): string[] {
  if (input.kind === 'file') return ['--input-file', input.source === '-' ? '<flows file>' : input.source];
  const out = ['--server', input.source];
  if (window?.start) out.push('--since', window.start);
  if (window?.end) out.push('--until', window.end);
  return out;
}

export function observeCommand(
  input: ReportSource,
  window: { start: string | null; end: string | null } | undefined,
  drill: DrillDown | null,
): ObserveCommand | null {
  if (!drill) return null;
  return { argv: ['hubble-lab', 'observe', ...sourceArgs(input, window), ...drill.args], flows: drill.flows };
}
