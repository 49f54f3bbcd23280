// Progress output for the lab: a live task list on a TTY, plain lines in CI, ::group:: on GitHub Actions, JSON lines for machines.
import type { Writable } from 'node:stream';

export type TaskOutcome = 'done' | 'unchanged' | 'skipped' | 'failed' | 'planned';

export interface Reporter {
  taskStart(id: string, title: string): void;
  /** A line under the current task: a planned change, a note, progress. */
  info(line: string): void;
  progress(line: string): void;
  taskEnd(id: string, outcome: TaskOutcome, ms: number, detail?: string): void;
  error(message: string): void;
  close(): void;
}

export type ReporterMode = 'tty' | 'plain' | 'github' | 'json';

export function chooseMode(out: Writable & { isTTY?: boolean }, env: NodeJS.ProcessEnv, json: boolean): ReporterMode {
  if (json) return 'json';
  if (env.GITHUB_ACTIONS === 'true') return 'github';
  if (out.isTTY && !env.CI) return 'tty';
  return 'plain';
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms)}ms`;
}

const marks: Record<TaskOutcome, string> = { done: '✔', unchanged: '✔', skipped: '↷', failed: '✖', planned: '•' };

export function createReporter(out: Writable, mode: ReporterMode, env: NodeJS.ProcessEnv = process.env): Reporter {
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
    close() {
      if (spinner) clearInterval(spinner);
    },
  };
}
