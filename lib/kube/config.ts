// Loading a kubeconfig (file and context) with errors that say which file or context is wrong.
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { InputError } from '../errors.ts';

export interface KubeTarget {
  kubeconfig?: string;
  context?: string;
}

export function loadKubeConfig(target: KubeTarget): KubeConfig {
  const kc = new KubeConfig();
  if (target.kubeconfig) {
    if (!existsSync(target.kubeconfig)) {
      throw new InputError(`kubeconfig ${target.kubeconfig} does not exist`, { hint: 'pass the path of a kubeconfig file with --kubeconfig' });
    }
    try {
      kc.loadFromFile(target.kubeconfig);
    } catch (err) {
      throw new InputError(`cannot read kubeconfig ${target.kubeconfig}: ${(err as Error).message}`, { cause: err });
    }
  } else {
    kc.loadFromDefault();
  }
  if (target.context) {
    if (!kc.getContextObject(target.context)) {
      const known = kc.getContexts().map((c) => c.name).join(', ') || 'none';
      throw new InputError(`kubeconfig has no context "${target.context}" (contexts: ${known})`);
    }
    kc.setCurrentContext(target.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new InputError(`kubeconfig${target.kubeconfig ? ` ${target.kubeconfig}` : ''} has no current cluster`, {
      hint: 'name a context with --context',
    });
  }
  return kc;
}

/** A short human name for where the kubeconfig points: `context (server)`. */
export function describeTarget(kc: KubeConfig): string {
  return `${kc.getCurrentContext()} (${kc.getCurrentCluster()?.server ?? 'no server'})`;
}
