// The shape of a lab step and the context every step runs in.
import type { KubeConfig } from '@kubernetes/client-node';
import type { FlowAggregator } from '../analysis/aggregate.ts';
import type { MetricsState } from '../metrics/lab-metrics.ts';
import type { ProbeResult, TrafficSummary } from '../traffic/summary.ts';
import type { FlowCollector } from './collector.ts';
import type { Progress } from './progress.ts';

export interface LabOptions {
  /** How long the traffic runs, in milliseconds. */
  durationMs: number;
  scenario: 'default' | 'broken-policy';
  /** Policy files or folders applied instead of the guide's NetworkPolicy (`run --policy`). */
  policy?: string[];
  /** The run's report folder. */
  outDir: string;
  dryRun: boolean;
  yes: boolean;
}

/** What tasks hand to later tasks in the same run; every key is written by one task. */
export interface LabShared {
  /** preflight: Hubble Relay was installed by Helm, so deploy-hubble and wait leave it alone. */
  helmRelay?: boolean;
  /** deploy-monitoring: whether Prometheus scrapes the agents for this run, and where. */
  metrics?: MetricsState;
  /** port-forward (or collect, when run without it): the forwarded Relay and UI. */
  relayAddress?: string;
  uiUrl?: string;
  /** collect: the running flow collection (analyze ends it) and the analysis it feeds. */
  collector?: FlowCollector;
  aggregator?: FlowAggregator;
  /** traffic: resolves once the traffic has finished (analyze drains after it). */
  trafficDone?: Promise<void>;
  /** traffic: the generator's own summary and the policy probe's outcome. */
  traffic?: TrafficSummary;
  probe?: ProbeResult;
  /** analyze: the gate's verdict and the report.md written. */
  verdict?: string;
  reportPath?: string;
}

/** One Kubernetes API permission a task needs, as a SelfSubjectAccessReview asks for it. */
export interface Access {
  verb: string;
  /** API group: '' for the core group. */
  group: string;
  resource: string;
  /** Omitted for cluster-scoped resources. */
  namespace?: string;
  subresource?: string;
}

export interface LabContext {
  kc: KubeConfig;
  target: { sim: boolean; description: string };
  options: LabOptions;
  progress: Progress;
  signal: AbortSignal;
  shared: LabShared;
  /** Ids of the tasks this run executes, in order (a task may behave differently when run alone). */
  selected: string[];
  /** Every task of the lab in run order, selected or not (preflight checks the access they all need). */
  tasks: readonly Task[];
  /** Registers a cleanup that runs when the lab ends (in reverse order), success or not. */
  defer(cleanup: () => Promise<void> | void): void;
  /** The exit code the run ends with unless an error occurs (set by the gate). */
  exitCode: number;
}

export interface TaskPlan {
  /** One printable line per change the task would make; empty when the cluster is already as intended. */
  changes: string[];
  notes?: string[];
}

export interface Task<P extends TaskPlan = TaskPlan> {
  id: string;
  title: string;
  /** Setup tasks converge the cluster (a second run changes nothing); action tasks act on every run. */
  kind: 'setup' | 'action';
  /** The Kubernetes API permissions its apply and verify use; preflight checks them all before anything changes. */
  access?: readonly Access[];
  /** Reads live state and returns what apply would do. Makes no changes. */
  plan(ctx: LabContext): Promise<P>;
  apply(ctx: LabContext, plan: P): Promise<void>;
  /** Checks the intended state holds; throws a HubbleLabError saying what does not. */
  verify(ctx: LabContext): Promise<void>;
}

export function defineTask<P extends TaskPlan>(task: Task<P>): Task<P> {
  return task;
}

/** `patch deployments.apps in kube-system`, `create pods/portforward in kube-system`: an access as users read it. */
export function describeAccess(a: Access): string {
  return `${a.verb} ${a.group ? `${a.resource}.${a.group}` : a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.namespace ? ` in ${a.namespace}` : ''}`;
}

/** The access the tasks need, each once, in task order. */
export function accessNeeded(tasks: readonly Task[]): Access[] {
  const seen = new Map<string, Access>();
  for (const a of tasks.flatMap((t) => t.access ?? [])) seen.set(describeAccess(a), seen.get(describeAccess(a)) ?? a);
  return [...seen.values()];
}
