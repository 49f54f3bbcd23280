// Taskfile.yml follows the task registry: one go-task task per lab task, named by its id, described by its title,
// running `hubble-lab run <id>`; and every `run` in it names tasks that exist.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { labTasks } from '../../tasks/index.ts';

interface GoTask {
  desc?: string;
  cmds?: unknown[];
}

const taskfile = parse(readFileSync(new URL('../../Taskfile.yml', import.meta.url), 'utf8')) as { vars: Record<string, string>; tasks: Record<string, GoTask> };

/** The task ids a command runs: the words after `{{.HL}} run` up to the first flag or template. */
function runIds(cmd: string): string[] | undefined {
  const m = /^\{\{\.HL\}\} run((?: [a-z][\w-]*)*)(?: |$)/.exec(cmd);
  return m ? m[1]!.trim().split(' ').filter(Boolean) : undefined;
}

const commands = (task: GoTask) => (task.cmds ?? []).filter((c): c is string => typeof c === 'string');

t.test('the Taskfile runs hubble-lab', async (t) => {
  t.match(taskfile.vars.HL, /bin\/hubble-lab\.mjs$/);
});

t.test('one go-task task per registry task: its id, its title, running that id', async (t) => {
  for (const task of labTasks) {
    const entry = taskfile.tasks[task.id];
    t.ok(entry, `Taskfile.yml has a task ${task.id}`);
    if (!entry) continue;
    t.equal(entry.desc, task.title, `${task.id}: desc is the task's title`);
    t.same(commands(entry).map(runIds), [[task.id]], `${task.id}: runs hubble-lab run ${task.id}`);
  }
});

t.test('every hubble-lab run in the Taskfile names tasks of the registry', async (t) => {
  const ids = new Set(labTasks.map((task) => task.id));
  for (const [name, entry] of Object.entries(taskfile.tasks)) {
    for (const cmd of commands(entry)) {
      const run = runIds(cmd);
      if (run)
        t.same(
          run.filter((id) => !ids.has(id)),
          [],
          `${name}: ${cmd}`,
        );
    }
  }
});
