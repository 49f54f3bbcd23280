// The lab's tasks in run order: the one list `hubble-lab run`, its help, preflight's RBAC check and the Taskfile
// (checked by a test) follow.
import type { Task, TaskPlan } from '../lib/lab/task.ts';
import preflight from './01-preflight.ts';
import enableHubble from './02-enable-hubble.ts';
import deployHubble from './03-deploy-hubble.ts';
import deployMonitoring from './03-deploy-monitoring.ts';
import deployDemo from './04-deploy-demo.ts';
import waitForDeployments from './05-wait.ts';
import portForward from './06-port-forward.ts';
import applyPolicy from './07-apply-policy.ts';
import collect from './08-collect.ts';
import traffic from './09-traffic.ts';
import analyze from './10-analyze.ts';

export const labTasks: readonly Task<TaskPlan>[] = [
  preflight,
  enableHubble,
  deployHubble,
  deployMonitoring,
  deployDemo,
  waitForDeployments,
  portForward,
  applyPolicy,
  collect,
  traffic,
  analyze,
] as Task<TaskPlan>[];
