// The task registry is the one list of tasks: run's help and order, and preflight's RBAC check, follow from it.
import t from 'tap';
import { runCommand } from '../../lib/commands/run.ts';
import { accessNeeded, describeAccess } from '../../lib/lab/task.ts';
import { labTasks } from '../../tasks/index.ts';

t.test("run's help lists the registry's tasks in run order", async (t) => {
  t.match(runCommand.details, `Tasks, in order: ${labTasks.map((task) => task.id).join(', ')}.`);
  t.equal(new Set(labTasks.map((task) => task.id)).size, labTasks.length, 'ids are unique');
});

t.test("preflight checks every access the registry's tasks declare, each once", async (t) => {
  const checked = accessNeeded(labTasks).map(describeAccess);
  t.equal(new Set(checked).size, checked.length, 'no access is checked twice');
  for (const task of labTasks) {
    // Every task reads or changes the cluster, so each says what it needs.
    t.ok(task.access?.length, `${task.id} declares its access`);
    for (const access of task.access ?? []) t.ok(checked.includes(describeAccess(access)), `${task.id}: ${describeAccess(access)} is checked`);
  }
  t.ok(checked.includes('patch networkpolicies.networking.k8s.io in genai-network-demo'), 'as the SelfSubjectAccessReview names it');
  t.ok(checked.includes('create pods/portforward in kube-system'), 'subresources included');
});
