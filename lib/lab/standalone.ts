// Lets a task file run on its own (`npx tsx tasks/02-enable-hubble.ts [run flags]`) exactly as `hubble-lab run <id>`.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Task, TaskPlan } from './task.ts';

export async function runStandalone(moduleUrl: string, task: Task<TaskPlan>): Promise<void> {
  const entry = process.argv[1];
  if (!entry) return;
  let isEntry = false;
  try {
    isEntry = realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    isEntry = false;
  }
  if (!isEntry) return;
  const { main } = await import('../cli.ts');
  process.exitCode = await main(['run', task.id, ...process.argv.slice(2)]);
}
