// The lab's Kubernetes objects: loads manifests/ YAML and builds the ConfigMaps that ship the agent and generator code.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import { LineCounter, parseAllDocuments } from 'yaml';
import { InputError } from '../errors.ts';

/** A Kubernetes object as read from a manifest: kind, apiVersion and name are always there. */
export interface KubeObject extends KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string };
  [field: string]: unknown;
}

/** The namespace the demo runs in: every task and report names it from here. */
export const demoNamespace = 'genai-network-demo';
export const manifestsDir = fileURLToPath(new URL('../../manifests/', import.meta.url));
/** The demo agents' and generator's code, shipped to the pods in ConfigMaps. */
const codeDir = fileURLToPath(new URL('../traffic/', import.meta.url));

/** Pod templates carry the hash of the code they mount, so changed code rolls the pods and unchanged code does not. */
export const codeHashAnnotation = 'hubble-lab/code-sha256';

/** Parses multi-document YAML; `source` names the text in errors (`file:line:col: what`). */
export function parseManifests(text: string, source: string): KubeObject[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const objects: KubeObject[] = [];
  let index = 0;
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    index++;
    const at = (offset: number | undefined) => {
      const pos = lineCounter.linePos(offset ?? 0);
      return `${source}:${pos.line}:${pos.col}`;
    };
    const first = doc.errors[0];
    if (first) throw new InputError(`${at(first.pos[0])}: ${first.message.split('\n')[0]}`, { hint: 'fix the YAML syntax at that line' });
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue; // an empty document, e.g. after a trailing ---
    const where = at(doc.contents?.range[0]);
    if (typeof value !== 'object' || Array.isArray(value)) throw new InputError(`${where}: document ${index} is not a mapping`);
    const obj = value as Record<string, unknown>;
    const meta = obj.metadata as Record<string, unknown> | undefined;
    const missing = [
      typeof obj.apiVersion === 'string' ? undefined : 'apiVersion',
      typeof obj.kind === 'string' ? undefined : 'kind',
      typeof meta?.name === 'string' && meta.name !== '' ? undefined : 'metadata.name',
    ].filter((m): m is string => m !== undefined);
    if (missing.length)
      throw new InputError(`${where}: document ${index} has no ${missing.join(', ')}`, { hint: 'every manifest needs apiVersion, kind and metadata.name' });
    objects.push(obj as KubeObject);
  }
  return objects;
}

/** Objects that others depend on are applied first (as `kubectl apply -f dir/` users expect to get away with). */
const kindOrder = ['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'ConfigMap', 'Secret', 'Service'];
const kindRank = (kind: string) => {
  const i = kindOrder.indexOf(kind);
  return i === -1 ? kindOrder.length : i;
};

/**
 * The objects of one manifest file (in file order) or of every .yaml/.yml file of a directory tree (dependencies
 * first: namespaces, config, services, then workloads and policies; otherwise by file name and position).
 */
export function loadManifests(target: string): KubeObject[] {
  let stat;
  try {
    stat = statSync(target);
  } catch (err) {
    throw new InputError(`cannot read manifests at ${target}: ${(err as Error).message}`, { cause: err });
  }
  if (!stat.isDirectory()) return parseManifests(readText(target), target);
  const files = listYaml(target);
  if (files.length === 0) throw new InputError(`no .yaml or .yml files under ${target}`);
  return files
    .flatMap((file) => parseManifests(readText(file), file))
    .map((obj, position) => ({ obj, position }))
    .sort((a, b) => kindRank(a.obj.kind) - kindRank(b.obj.kind) || a.position - b.position)
    .map(({ obj }) => obj);
}

function listYaml(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return listYaml(full);
      return /\.ya?ml$/.test(entry.name) ? [full] : [];
    });
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function codeConfigMap(name: string, files: string[], namespace: string): KubeObject {
  const data: Record<string, string> = {};
  for (const file of files) data[file] = readText(path.join(codeDir, file));
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'hubble-lab' } },
    data,
  };
}

/** ConfigMap genai-agent-code: agent.mjs and the module it imports, mounted at /app by the agents' Deployments. */
export function agentCodeConfigMap(namespace = demoNamespace): KubeObject {
  return codeConfigMap('genai-agent-code', ['agent.mjs', 'shared.mjs'], namespace);
}

/** ConfigMap traffic-generator-code: generator.mjs and the module it imports, for the traffic Job and the probe pod. */
export function generatorCodeConfigMap(namespace = demoNamespace): KubeObject {
  return codeConfigMap('traffic-generator-code', ['generator.mjs', 'shared.mjs'], namespace);
}

function codeHash(configMap: KubeObject): string {
  const data = (configMap.data ?? {}) as Record<string, string>;
  const hash = createHash('sha256');
  for (const key of Object.keys(data).sort()) hash.update(`${key}\0${data[key]}\0`);
  return hash.digest('hex');
}

type PodTemplate = { metadata?: V1ObjectMeta; spec?: { volumes?: Array<{ configMap?: { name?: string } }> } };

function podTemplateOf(obj: KubeObject): PodTemplate | undefined {
  if (obj.kind === 'Pod') return obj as unknown as PodTemplate;
  const spec = obj.spec as { template?: PodTemplate } | undefined;
  return spec?.template;
}

/** Copies of the objects where every pod (template) that mounts `configMap` is annotated with the code's hash. */
export function withCodeHash(objects: KubeObject[], configMap: KubeObject): KubeObject[] {
  const hash = codeHash(configMap);
  return objects.map((original) => {
    const obj = structuredClone(original);
    const template = podTemplateOf(obj);
    const mounts = template?.spec?.volumes?.some((v) => v.configMap?.name === configMap.metadata.name);
    if (template && mounts) {
      template.metadata ??= {};
      template.metadata.annotations = { ...template.metadata.annotations, [codeHashAnnotation]: hash };
    }
    return obj;
  });
}

/** deploy-demo: the namespace, the agents' code and the guide's three Deployments and Services. */
export function demoManifests(): KubeObject[] {
  const code = agentCodeConfigMap();
  const objects = withCodeHash(loadManifests(path.join(manifestsDir, 'demo')), code);
  const namespaces = objects.filter((o) => o.kind === 'Namespace').length;
  return [...objects.slice(0, namespaces), code, ...objects.slice(namespaces)];
}

/** deploy-hubble: Relay, UI and the hubble-peer Service. */
export function hubbleManifests(): KubeObject[] {
  return loadManifests(path.join(manifestsDir, 'hubble'));
}

/** apply-policy: the guide's NetworkPolicy (or its broken variant) and the L7 visibility policies. */
export function policyManifests(scenario: 'default' | 'broken-policy'): KubeObject[] {
  const policy = scenario === 'broken-policy' ? 'broken-policy.yaml' : 'network-policy.yaml';
  return [...loadManifests(path.join(manifestsDir, 'policy', policy)), ...loadManifests(path.join(manifestsDir, 'policy', 'l7-visibility.yaml'))];
}

function setEnv(obj: KubeObject, values: Record<string, string>): void {
  const containers = podTemplateOf(obj)?.spec as { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } | undefined;
  for (const container of containers?.containers ?? []) {
    const env = container.env ?? [];
    for (const [name, value] of Object.entries(values)) {
      const existing = env.find((e) => e.name === name);
      if (existing) existing.value = value;
      else env.push({ name, value });
    }
    container.env = env;
  }
}

/** traffic: the generator's code and its Job, set to run for `durationMs` (and with a fixed seed when given). */
export function trafficManifests(opts: { durationMs: number; seed?: number }): KubeObject[] {
  const code = generatorCodeConfigMap();
  const [job] = withCodeHash(loadManifests(path.join(manifestsDir, 'traffic', 'generator-job.yaml')), code);
  const env: Record<string, string> = { DURATION: `${Math.round(opts.durationMs)}ms` };
  if (opts.seed !== undefined) env.SEED = String(opts.seed);
  setEnv(job!, env);
  return [code, job!];
}

/** The policy-violation probe: the generator's code and the guide's test-pod. */
export function probeManifests(): KubeObject[] {
  const code = generatorCodeConfigMap();
  return [code, ...withCodeHash(loadManifests(path.join(manifestsDir, 'traffic', 'probe-pod.yaml')), code)];
}
