// Loading a kubeconfig (file and context) with errors that say which file or context is wrong, and where the file
// came from (--kubeconfig, KUBECONFIG or the default ~/.kube/config), as kubectl resolves it.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { InputError } from '../errors.ts';

export interface KubeTarget {
  kubeconfig?: string;
  context?: string;
}

/** The kubeconfig files kubectl would read, and what named them; none when only the in-cluster config is left. */
function kubeconfigFiles(target: KubeTarget): { files: string[]; source: string } {
  if (target.kubeconfig) return { files: [target.kubeconfig], source: '--kubeconfig' };
  const env = process.env.KUBECONFIG;
  if (env) return { files: env.split(delimiter).filter(Boolean), source: 'KUBECONFIG' };
  const home = join(homedir(), '.kube', 'config');
  return { files: existsSync(home) ? [home] : [], source: 'the default kubeconfig' };
}

export function loadKubeConfig(target: KubeTarget): KubeConfig {
  const kc = new KubeConfig();
  const { files, source } = kubeconfigFiles(target);
  for (const file of files) {
    if (!existsSync(file)) {
      throw new InputError(`kubeconfig ${file} (from ${source}): no such file`, {
        hint: source === '--kubeconfig' ? 'pass the path of a kubeconfig file' : `set KUBECONFIG to a kubeconfig file, or pass --kubeconfig`,
      });
    }
  }
  if (files.length === 0 && !process.env.KUBERNETES_SERVICE_HOST) {
    throw new InputError(`no kubeconfig: KUBECONFIG is not set and ${join(homedir(), '.kube', 'config')} does not exist`, {
      hint: 'pass --kubeconfig (e.g. the one `hubble-lab sim start` wrote), or set KUBECONFIG',
    });
  }
  try {
    // loadFromDefault reads KUBECONFIG (merging its files as kubectl does), ~/.kube/config or the in-cluster config.
    if (target.kubeconfig) kc.loadFromFile(target.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new InputError(`cannot read kubeconfig ${files.join(delimiter)} (from ${source}): ${(err as Error).message}`, { cause: err });
  }
  const where = files.length ? files.join(delimiter) : 'the in-cluster config';
  if (target.context) {
    if (!kc.getContextObject(target.context)) {
      const known =
        kc
          .getContexts()
          .map((c) => c.name)
          .join(', ') || 'none';
      throw new InputError(`no context "${target.context}" in ${where} (contexts: ${known})`, { hint: 'name one of its contexts with --context' });
    }
    kc.setCurrentContext(target.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new InputError(`kubeconfig ${where} has no current cluster`, { hint: 'name a context with --context' });
  }
  return kc;
}

/** A short human name for where the kubeconfig points: `context (server)`. */
export function describeTarget(kc: KubeConfig): string {
  return `${kc.getCurrentContext()} (${kc.getCurrentCluster()?.server ?? 'no server'})`;
}
