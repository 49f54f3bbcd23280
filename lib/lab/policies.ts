// The policies the lab applies: the guide's NetworkPolicy (or the broken variant), or the user's with
// `run --policy`, and in both cases the CiliumNetworkPolicies that give Hubble L7 visibility.
import path from 'node:path';
import { InputError } from '../errors.ts';
import { readPolicyFiles, type LocatedPolicy } from '../policy/load.ts';
import { loadManifests, manifestsDir, type KubeObject } from './manifests.ts';
import type { LabOptions } from './task.ts';

function located(file: string): LocatedPolicy[] {
  return loadManifests(file).map((object) => ({ object, source: path.relative(process.cwd(), file) || file }));
}

/** With `policy` files, those replace the guide's NetworkPolicy; the L7 visibility policies stay, so reports keep HTTP and DNS. */
export function labPolicies(options: Pick<LabOptions, 'scenario' | 'policy'>): LocatedPolicy[] {
  const dir = path.join(manifestsDir, 'policy');
  const own = options.policy?.length
    ? readPolicyFiles(options.policy)
    : located(path.join(dir, options.scenario === 'broken-policy' ? 'broken-policy.yaml' : 'network-policy.yaml'));
  if (options.policy?.length && own.length === 0) {
    throw new InputError(`--policy ${options.policy.join(' ')}: no NetworkPolicy or CiliumNetworkPolicy found`, {
      hint: 'pass YAML files (or folders of them) with policies, e.g. suggested-policy.yaml from a report',
    });
  }
  return [...own, ...located(path.join(dir, 'l7-visibility.yaml'))];
}

/** The same policies as objects to apply; each has the apiVersion, kind and metadata.name an apply needs. */
export function labPolicyObjects(options: Pick<LabOptions, 'scenario' | 'policy'>): KubeObject[] {
  return labPolicies(options).map((p) => {
    const meta = p.object.metadata as { name?: unknown } | undefined;
    if (typeof p.object.apiVersion !== 'string' || typeof meta?.name !== 'string' || meta.name === '') {
      throw new InputError(`${p.source}: a policy needs apiVersion and metadata.name`);
    }
    return p.object as KubeObject;
  });
}
