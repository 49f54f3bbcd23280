// The lab's tasks in run order.
import type { Task, TaskPlan } from './task.ts';
import preflight from '../../tasks/01-preflight.ts';
import enableHubble from '../../tasks/02-enable-hubble.ts';
import deployHubble from '../../tasks/03-deploy-hubble.ts';
import deployMonitoring from '../../tasks/03-deploy-monitoring.ts';
import deployDemo from '../../tasks/04-deploy-demo.ts';
import waitForDeployments from '../../tasks/05-wait.ts';
import portForward from '../../tasks/06-port-forward.ts';
import applyPolicy from '../../tasks/07-apply-policy.ts';
import collect from '../../tasks/08-collect.ts';
import traffic from '../../tasks/09-traffic.ts';
import analyze from '../../tasks/10-analyze.ts';

export const labTasks: Task<TaskPlan>[] = [
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
