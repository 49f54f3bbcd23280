// The lab runner: task selection, plan → apply → verify, dry runs, confirmation on real clusters, failures.
import t from 'tap';
import { PassThrough } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { runTasks, selectTasks } from '../lib/runner.ts';
import { createProgress } from '../lib/lab/progress.ts';
import { ExitCode, InfraError } from '../lib/errors.ts';
import type { LabContext, Task, TaskPlan } from '../lib/lab/task.ts';

/** A task over an in-memory "cluster": a counter it converges to `target`. */
function counterTask(id: string, state: { value: number; applied: string[] }, target: number, opts: { failVerify?: boolean } = {}): Task<TaskPlan> {
  return {
    id,
    title: `Task ${id}`,
    kind: 'setup',
    async plan() {
      return { changes: state.value === target ? [] : [`set value ${state.value} → ${target}`] };
    },
    async apply() {
      state.value = target;
      state.applied.push(id);
    },
    async verify() {
      if (opts.failVerify) throw new InfraError(`${id} is not as intended`);
    },
  };
}

function context(opts: { sim: boolean; dryRun?: boolean; yes?: boolean }) {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const ctx: LabContext = {
    kc: {} as KubeConfig,
    target: { sim: opts.sim, description: 'test cluster' },
    options: { durationMs: 0, scenario: 'default', outDir: '.', dryRun: opts.dryRun ?? false, yes: opts.yes ?? false },
    progress: createProgress(out, 'plain', {}),
    signal: new AbortController().signal,
    shared: {},
    selected: [],
    tasks: [],
    defer: () => {},
    exitCode: ExitCode.pass,
  };
  return { ctx, output: () => text };
}

t.test('selection by name, --from and --until, with clear errors', async (t) => {
  const state = { value: 0, applied: [] };
  const all = ['a', 'b', 'c', 'd'].map((id) => counterTask(id, state, 1));
  t.same(
    selectTasks(all, { only: [] }).map((x) => x.id),
    ['a', 'b', 'c', 'd'],
  );
  t.same(
    selectTasks(all, { only: ['d', 'b'] }).map((x) => x.id),
    ['b', 'd'],
    'run order, not argument order',
  );
  t.same(
    selectTasks(all, { only: [], from: 'b', until: 'c' }).map((x) => x.id),
    ['b', 'c'],
  );
  t.throws(() => selectTasks(all, { only: ['x'] }), { message: 'run: no task "x"', hint: 'tasks: a, b, c, d' });
  t.throws(() => selectTasks(all, { only: [], from: 'zz' }), { message: '--from: no task "zz"' });
});

t.test('a second run changes nothing; a dry run only plans', async (t) => {
  const state = { value: 0, applied: [] as string[] };
  const tasks = [counterTask('one', state, 5)];
  const first = context({ sim: true });
  const timings = await runTasks(tasks, first.ctx, async () => true);
  t.same(
    timings.map((x) => x.outcome),
    ['done'],
  );
  t.match(first.output(), /set value 0 → 5/);
  const second = context({ sim: true });
  t.same(
    (await runTasks(tasks, second.ctx, async () => true)).map((x) => x.outcome),
    ['unchanged'],
  );
  t.same(state.applied, ['one'], 'applied once');

  state.value = 1;
  const dry = context({ sim: true, dryRun: true });
  t.same(
    (await runTasks(tasks, dry.ctx, async () => true)).map((x) => x.outcome),
    ['planned'],
  );
  t.equal(state.value, 1, 'a dry run changes nothing');
  t.match(dry.output(), /would set value 1 → 5/);
});

t.test('a real cluster sees the plan and must confirm; a sim does not ask', async (t) => {
  const state = { value: 0, applied: [] as string[] };
  const tasks = [counterTask('one', state, 2), counterTask('two', state, 3)];
  const asked: string[] = [];
  const refused = context({ sim: false });
  await t.rejects(
    runTasks(tasks, refused.ctx, async (q) => (asked.push(q), false)),
    { message: 'not confirmed: nothing was changed' },
  );
  t.equal(state.value, 0);
  t.match(refused.output(), /Planned changes:\n\s+one: set value 0 → 2\n\s+two: set value 0 → 3/);
  t.equal(asked.length, 1);

  const yes = context({ sim: false, yes: true });
  await runTasks(tasks, yes.ctx, async () => t.fail('must not ask with --yes') as never);
  t.equal(state.value, 3);
  await runTasks(tasks, context({ sim: true }).ctx, async () => t.fail('must not ask on a sim') as never);
});

t.test('a failing verify stops the run at that task and is reported', async (t) => {
  const state = { value: 0, applied: [] as string[] };
  const tasks = [counterTask('ok', state, 1), counterTask('bad', state, 2, { failVerify: true }), counterTask('never', state, 3)];
  const run = context({ sim: true });
  await t.rejects(
    runTasks(tasks, run.ctx, async () => true),
    { message: 'bad is not as intended' },
  );
  t.same(state.applied, ['ok', 'bad'], 'the task after the failure did not run');
  t.match(run.output(), /✖ Task bad \(failed: bad is not as intended\)/);
});
