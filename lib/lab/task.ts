// The shape of a lab step and the context every step runs in.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Reporter } from './reporter.ts';

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

/** What tasks hand to later tasks in the same run. */
export interface LabShared {
  relayAddress?: string;
  uiUrl?: string;
  /** Resolves once the traffic has finished (collect drains after it). */
  trafficDone?: Promise<void>;
  [key: string]: unknown;
}

export interface LabContext {
  kc: KubeConfig;
  target: { sim: boolean; description: string };
  options: LabOptions;
  report: Reporter;
  signal: AbortSignal;
  shared: LabShared;
  /** Ids of the tasks this run executes, in order (a task may behave differently when run alone). */
  selected: string[];
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
  /** Reads live state and returns what apply would do. Makes no changes. */
  plan(ctx: LabContext): Promise<P>;
  apply(ctx: LabContext, plan: P): Promise<void>;
  /** Checks the intended state holds; throws a HubbleLabError saying what does not. */
  verify(ctx: LabContext): Promise<void>;
}

export function defineTask<P extends TaskPlan>(task: Task<P>): Task<P> {
  return task;
}
