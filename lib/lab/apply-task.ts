// A lab task that server-side applies a set of manifests: plan = the objects that differ from the live cluster.
import type { KubernetesObject } from '@kubernetes/client-node';
import { InfraError } from '../errors.ts';
import { applyChanges, describeChange, planApply, type ObjectChange } from '../kube/apply.ts';
import { defineTask, type Access, type LabContext, type Task, type TaskPlan } from './task.ts';

interface ApplyPlan extends TaskPlan {
  objectChanges: ObjectChange[];
}

export interface ManifestTaskSpec {
  id: string;
  title: string;
  /** The patches its server-side apply sends (one per kind and namespace of its objects). */
  access: readonly Access[];
  objects(ctx: LabContext): KubernetesObject[];
  /** A reason to leave the task alone on this cluster (e.g. a Helm-managed Relay), or undefined. */
  skip?(ctx: LabContext): string | undefined;
}

export function manifestTask(spec: ManifestTaskSpec): Task<ApplyPlan> {
  return defineTask<ApplyPlan>({
    id: spec.id,
    title: spec.title,
    kind: 'setup',
    access: spec.access,
    async plan(ctx) {
      const skip = spec.skip?.(ctx);
      if (skip) return { changes: [], notes: [skip], objectChanges: [] };
      const objectChanges = await planApply(ctx.kc, spec.objects(ctx));
      const unchanged = objectChanges.filter((c) => c.action === 'unchanged').length;
      return {
        changes: objectChanges.filter((c) => c.action !== 'unchanged').map(describeChange),
        notes: unchanged ? [`${unchanged} object(s) already as intended`] : [],
        objectChanges,
      };
    },
    async apply(ctx, plan) {
      await applyChanges(ctx.kc, plan.objectChanges);
    },
    async verify(ctx) {
      if (spec.skip?.(ctx)) return;
      const left = (await planApply(ctx.kc, spec.objects(ctx))).filter((c) => c.action !== 'unchanged');
      if (left.length) throw new InfraError(`the cluster still differs from the manifests: ${left.map(describeChange).join('; ')}`);
    },
  });
}
