// Policy objects from YAML files and folders (each located by file and line) and from a cluster, compiled into a
// PolicySet; an object that does not compile is an input error naming its file, line and field.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { InputError } from '../errors.ts';
import { type PolicySet, compilePolicies, selectorKeys } from './evaluate.ts';

const policyKinds = new Set(['NetworkPolicy', 'CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy']);

/** A policy object and where it was read from (`file:line`, or `cluster` for objects listed from an API server). */
export interface LocatedPolicy {
  object: Record<string, unknown>;
  source: string;
}

function yamlFiles(target: string): string[] {
  let stat;
  try {
    stat = statSync(target);
  } catch (err) {
    throw new InputError(
      `cannot read policies at ${target}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`,
      { cause: err },
    );
  }
  if (!stat.isDirectory()) return [target];
  return readdirSync(target, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => {
      const full = path.join(target, e.name);
      if (e.isDirectory()) return yamlFiles(full);
      return /\.(ya?ml|json)$/.test(e.name) ? [full] : [];
    });
}

/** The policy objects of YAML text (Lists unwrapped); other kinds are left out. */
export function parsePolicies(text: string, source: string): LocatedPolicy[] {
  const lineCounter = new LineCounter();
  const out: LocatedPolicy[] = [];
  for (const doc of parseAllDocuments(text, { lineCounter, prettyErrors: false })) {
    const at = (offset: number | undefined) => `${source}:${lineCounter.linePos(offset ?? 0).line}`;
    const err = doc.errors[0];
    if (err) throw new InputError(`${at(err.pos[0])}: ${err.message.split('\n')[0]}`, { hint: 'fix the YAML at that line' });
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const where = at(doc.contents?.range[0]);
    if (typeof value !== 'object' || Array.isArray(value)) throw new InputError(`${where}: not a Kubernetes object`);
    const obj = value as Record<string, unknown>;
    const items = obj.kind === 'List' || String(obj.kind ?? '').endsWith('List') ? (Array.isArray(obj.items) ? obj.items : []) : [obj];
    for (const item of items as Record<string, unknown>[]) {
      if (typeof item !== 'object' || item === null) continue;
      if (typeof item.kind !== 'string') throw new InputError(`${where}: an object without kind`, { hint: 'every policy needs apiVersion, kind and metadata' });
      if (policyKinds.has(item.kind)) out.push({ object: item, source: where });
    }
  }
  return out;
}

/** Policies of files and folders (every .yaml, .yml and .json below a folder, in name order). */
export function readPolicyFiles(targets: readonly string[]): LocatedPolicy[] {
  const out: LocatedPolicy[] = [];
  for (const target of targets) {
    for (const file of yamlFiles(target)) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new InputError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
      }
      out.push(...parsePolicies(text, file));
    }
  }
  return out;
}

export interface LoadedPolicies {
  set: PolicySet;
  /** Label keys the policies select by, to describe peers in their terms. */
  vocabulary: Set<string>;
  count: number;
}

/**
 * Compiles located policies; the first that does not compile is an InputError naming where it was read and the
 * field that is wrong, since checking traffic against a policy the agent would refuse answers nothing.
 */
export function compileLocated(policies: readonly LocatedPolicy[], clusterName?: string): LoadedPolicies {
  const objects = policies.map((p) => p.object);
  const set = compilePolicies(objects, clusterName ? { clusterName } : {});
  const first = set.rejected[0];
  if (first) {
    const at = policies.find((p) => {
      const meta = (p.object.metadata ?? {}) as { name?: string; namespace?: string };
      return p.object.kind === first.kind && (meta.name ?? '') === first.name && (meta.namespace ?? '') === first.namespace;
    });
    throw new InputError(`${at?.source ?? 'policy'}: ${first.kind} ${first.namespace ? `${first.namespace}/` : ''}${first.name}: ${first.reason}`, {
      hint: 'fix the policy; the agent would refuse it as it is',
    });
  }
  return { set, vocabulary: selectorKeys(objects), count: objects.length };
}

/** Named ports the policies use (`port: http`): flows carry no container ports, so over flows they match nothing. */
export function namedPortsOf(policies: readonly LocatedPolicy[]): string[] {
  const names = new Set<string>();
  const walk = (v: unknown, inPorts: boolean): void => {
    if (Array.isArray(v)) return v.forEach((x) => walk(x, inPorts));
    if (typeof v !== 'object' || v === null) return;
    for (const [k, child] of Object.entries(v)) {
      if (inPorts && k === 'port' && typeof child === 'string' && /[a-z]/i.test(child)) names.add(child);
      else walk(child, k === 'ports' || (inPorts && k !== 'rules'));
    }
  };
  for (const p of policies) walk(p.object.spec ?? p.object.specs, false);
  return [...names].sort();
}
