// Runs lab tasks in order: plan → (confirm) → apply → verify, with progress, timing and the run's exit code.
import type { LabContext, Task, TaskPlan } from './lab/task.ts';
import { ExitCode, HubbleLabError, UsageError } from './errors.ts';

export interface RunSelection {
  /** Task ids named on the command line (empty: all). */
  only: string[];
  from?: string;
  until?: string;
}

export function selectTasks(all: readonly Task<TaskPlan>[], sel: RunSelection): Task<TaskPlan>[] {
  const ids = all.map((t) => t.id);
  const check = (id: string, flag: string) => {
    if (!ids.includes(id)) throw new UsageError(`${flag}: no task "${id}"`, { hint: `tasks: ${ids.join(', ')}` });
  };
  sel.only.forEach((id) => check(id, 'run'));
  if (sel.from) check(sel.from, '--from');
  if (sel.until) check(sel.until, '--until');
  let chosen = all.filter((t) => sel.only.length === 0 || sel.only.includes(t.id));
  if (sel.from) chosen = chosen.slice(chosen.findIndex((t) => t.id === sel.from));
  if (sel.until) chosen = chosen.slice(0, chosen.findIndex((t) => t.id === sel.until) + 1);
  if (chosen.length === 0) throw new UsageError('no tasks selected', { hint: `tasks: ${ids.join(', ')}` });
  return chosen;
}

export interface Confirm {
  (question: string): Promise<boolean>;
}

export interface TaskTiming {
  id: string;
  outcome: 'done' | 'unchanged' | 'planned' | 'failed';
  ms: number;
}

/**
 * Runs the tasks. On a real cluster (not the sim) without --yes, the setup tasks' plans are shown first and
 * nothing changes until the user confirms. Returns per-task timings; the exit code is left in ctx.exitCode.
 */
export async function runTasks(tasks: Task<TaskPlan>[], ctx: LabContext, confirm: Confirm): Promise<TaskTiming[]> {
  const timings: TaskTiming[] = [];
  const { progress } = ctx;

  if (!ctx.target.sim && !ctx.options.yes && !ctx.options.dryRun) {
    const preview: string[] = [];
    for (const task of tasks.filter((t) => t.kind === 'setup')) {
      const plan = await task.plan(ctx);
      for (const change of plan.changes) preview.push(`${task.id}: ${change}`);
    }
    progress.info(`Target: ${ctx.target.description}`);
    if (preview.length) {
      progress.info('Planned changes:');
      preview.forEach((line) => progress.info(`  ${line}`));
    } else progress.info('The cluster already has every setup change.');
    if (!(await confirm('Apply these changes to this cluster?'))) {
      throw new UsageError('not confirmed: nothing was changed', { hint: 'pass --yes to apply without asking' });
    }
  }

  for (const task of tasks) {
    if (ctx.signal.aborted) throw new HubbleLabError('interrupted', { exitCode: ExitCode.error });
    const start = performance.now();
    progress.taskStart(task.id, task.title);
    try {
      const plan = await task.plan(ctx);
      for (const note of plan.notes ?? []) progress.info(note);
      for (const change of plan.changes) progress.info(`${ctx.options.dryRun ? 'would ' : ''}${change}`);
      if (ctx.options.dryRun) {
        const ms = performance.now() - start;
        progress.taskEnd(task.id, 'planned', ms, plan.changes.length ? `${plan.changes.length} change(s)` : 'no changes');
        timings.push({ id: task.id, outcome: 'planned', ms });
        continue;
      }
      const acts = plan.changes.length > 0 || task.kind === 'action';
      if (acts) await task.apply(ctx, plan);
      await task.verify(ctx);
      const ms = performance.now() - start;
      const outcome = acts ? 'done' : 'unchanged';
      progress.taskEnd(task.id, outcome, ms);
      timings.push({ id: task.id, outcome, ms });
    } catch (err) {
      const ms = performance.now() - start;
      // The command prints the error itself, once.
      progress.taskEnd(task.id, 'failed', ms, err instanceof Error ? err.message.split('\n')[0] : undefined);
      timings.push({ id: task.id, outcome: 'failed', ms });
      throw err;
    }
  }
  return timings;
}
