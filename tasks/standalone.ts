// Lets a task file run on its own (`npx tsx tasks/02-enable-hubble.ts [run flags]`) exactly as `hubble-lab run <id>`.
//
// The task file ends with `if (isEntryPoint(import.meta.url)) runTaskStandalone(task)`. The run is the CLI's, in a
// child process: the CLI imports the registry, which imports every task file, so importing it from here would
// close an import cycle through the task file (and a run needs the whole registry: run's help, preflight's RBAC).
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Task, TaskPlan } from '../lib/lab/task.ts';

const hubbleLabBin = fileURLToPath(new URL('../bin/hubble-lab.mjs', import.meta.url));

/** Whether the module at `moduleUrl` is the script node was started with. */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Runs `hubble-lab run <task> [this process's arguments]`, with this process's output and exit code. */
export function runTaskStandalone(task: Task<TaskPlan>): void {
  const child = spawn(process.execPath, [hubbleLabBin, 'run', task.id, ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches the child from the terminal (same process group) and it stops cleanly: this process only waits.
  // A signal sent to this process alone is passed on.
  const onInterrupt = () => {};
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onTerm = forward('SIGTERM');
  const onHup = forward('SIGHUP');
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onHup);
  child.on('error', (err) => {
    process.stderr.write(`hubble-lab: cannot start ${hubbleLabBin}: ${err.message}\n`);
    process.exitCode = 2;
  });
  child.on('exit', (code, signal) => {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerm);
    process.off('SIGHUP', onHup);
    process.exitCode = code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15);
  });
}
