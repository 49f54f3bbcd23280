// Progress output for the lab while it runs (the report files are lib/report/'s): a live task list on a TTY, plain
// lines in CI, ::group:: on GitHub Actions, JSON lines for machines.
import type { Writable } from 'node:stream';

export type TaskOutcome = 'done' | 'unchanged' | 'skipped' | 'failed' | 'planned';

export interface Progress {
  taskStart(id: string, title: string): void;
  /** A line under the current task: a planned change, a note, progress. */
  info(line: string): void;
  progress(line: string): void;
  taskEnd(id: string, outcome: TaskOutcome, ms: number, detail?: string): void;
  error(message: string): void;
  /** The run's last line: how it ended, and where its report is. */
  finish(summary: RunSummary): void;
  close(): void;
}

/** How a run ended, for its closing line. */
export interface RunSummary {
  seconds: number;
  /** The gate's verdict, when the run reached one. */
  verdict?: string;
  exitCode: number;
  /** The run's report.md, when one was written. */
  report?: string;
  /** Why the run failed (the command prints the error itself in plain modes). */
  error?: string;
}

export type ProgressMode = 'tty' | 'plain' | 'github' | 'json';

export function chooseProgressMode(out: Writable & { isTTY?: boolean }, env: NodeJS.ProcessEnv, json: boolean): ProgressMode {
  if (json) return 'json';
  if (env.GITHUB_ACTIONS === 'true') return 'github';
  if (out.isTTY && !env.CI) return 'tty';
  return 'plain';
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms)}ms`;
}

const marks: Record<TaskOutcome, string> = { done: '✔', unchanged: '✔', skipped: '↷', failed: '✖', planned: '•' };

export function createProgress(out: Writable, mode: ProgressMode, env: NodeJS.ProcessEnv = process.env): Progress {
  const color = mode === 'tty' && !env.NO_COLOR;
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  let spinner: NodeJS.Timeout | undefined;
  let current: { id: string; title: string; line: string } | undefined;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;

  const drawSpinner = () => {
    if (!current) return;
    out.write(`\r\x1b[2K${paint('36', frames[frame++ % frames.length]!)} ${current.title}${current.line ? paint('2', ` — ${current.line}`) : ''}`);
  };
  const clearSpinnerLine = () => {
    if (mode === 'tty' && current) out.write('\r\x1b[2K');
  };

  if (mode === 'json') {
    const emit = (event: Record<string, unknown>) => out.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
    return {
      taskStart: (id, title) => emit({ event: 'task-start', id, title }),
      info: (line) => emit({ event: 'info', line }),
      progress: (line) => emit({ event: 'progress', line }),
      taskEnd: (id, outcome, ms, detail) => emit({ event: 'task-end', id, outcome, ms: Math.round(ms), detail }),
      error: (message) => emit({ event: 'error', message }),
      finish: (summary) => emit({ event: 'finished', ...summary, seconds: Number(summary.seconds.toFixed(1)) }),
      close: () => {},
    };
  }

  return {
    taskStart(id, title) {
      current = { id, title, line: '' };
      if (mode === 'github') out.write(`::group::${title}\n`);
      else if (mode === 'plain') out.write(`▶ ${title}\n`);
      else {
        drawSpinner();
        spinner = setInterval(drawSpinner, 100);
        spinner.unref();
      }
    },
    info(line) {
      clearSpinnerLine();
      out.write(`  ${line}\n`);
      if (mode === 'tty') drawSpinner();
    },
    progress(line) {
      if (mode === 'tty') {
        if (current) current.line = line;
        drawSpinner();
      } else {
        out.write(`  … ${line}\n`);
      }
    },
    taskEnd(id, outcome, ms, detail) {
      if (spinner) clearInterval(spinner);
      spinner = undefined;
      clearSpinnerLine();
      const title = current?.title ?? id;
      current = undefined;
      const mark = outcome === 'failed' ? paint('31', marks[outcome]) : paint('32', marks[outcome]);
      const suffix = [outcome === 'done' ? '' : outcome, detail ?? ''].filter(Boolean).join(': ');
      out.write(`${mark} ${title}${suffix ? paint('2', ` (${suffix})`) : ''} ${paint('2', fmtMs(ms))}\n`);
      if (mode === 'github') out.write('::endgroup::\n');
    },
    error(message) {
      clearSpinnerLine();
      out.write(mode === 'github' ? `::error::${message.replace(/\n/g, '%0A')}\n` : `${paint('31', 'error:')} ${message}\n`);
    },
    finish(summary) {
      if (summary.error === undefined) out.write(`lab finished in ${summary.seconds.toFixed(1)}s${summary.verdict ? `: ${summary.verdict}` : ''}\n`);
      if (summary.report) out.write(`report: ${summary.report}\n`);
    },
    close() {
      if (spinner) clearInterval(spinner);
    },
  };
}
