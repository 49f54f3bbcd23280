// What the API server's typed decoding refuses before validation runs: a JSON value of the wrong type in an integer
// field (`replicas: "three"`, `replicas: 1.5`), with the status code and message each write path gives upstream.
import { ApiError, badRequest, invalid } from './errors.ts';
import type { ResourceInfo } from './resources.ts';

interface Int32Field {
  path: string[];
  /** The Go struct holding the field, as encoding/json names it in its error. */
  struct: string;
}

const INT32_FIELDS: Record<string, Int32Field[]> = {
  'apps/deployments': [
    { path: ['spec', 'replicas'], struct: 'DeploymentSpec' },
    { path: ['spec', 'minReadySeconds'], struct: 'DeploymentSpec' },
    { path: ['spec', 'revisionHistoryLimit'], struct: 'DeploymentSpec' },
    { path: ['spec', 'progressDeadlineSeconds'], struct: 'DeploymentSpec' },
  ],
  'batch/jobs': [
    { path: ['spec', 'parallelism'], struct: 'JobSpec' },
    { path: ['spec', 'completions'], struct: 'JobSpec' },
    { path: ['spec', 'backoffLimit'], struct: 'JobSpec' },
  ],
  'apps/replicasets': [
    { path: ['spec', 'replicas'], struct: 'ReplicaSetSpec' },
    { path: ['spec', 'minReadySeconds'], struct: 'ReplicaSetSpec' },
  ],
};

const SCALE_FIELDS: Int32Field[] = [{ path: ['spec', 'replicas'], struct: 'ScaleSpec' }];

interface Problem {
  field: Int32Field;
  value: unknown;
}

function firstProblem(obj: unknown, fields: Int32Field[]): Problem | undefined {
  for (const field of fields) {
    let cur: any = obj;
    for (const part of field.path) cur = cur === null || typeof cur !== 'object' ? undefined : cur[part];
    // null decodes into a pointer as nil: the default applies.
    if (cur === undefined || cur === null) continue;
    if (typeof cur === 'number' && Number.isInteger(cur) && cur >= -(2 ** 31) && cur < 2 ** 31) continue;
    return { field, value: cur };
  }
  return undefined;
}

/** encoding/json's UnmarshalTypeError text. */
function jsonError({ field, value }: Problem): string {
  const what =
    typeof value === 'number'
      ? `number ${value}`
      : typeof value === 'boolean'
        ? 'bool'
        : Array.isArray(value)
          ? 'array'
          : typeof value === 'object'
            ? 'object'
            : 'string';
  return `json: cannot unmarshal ${what} into Go struct field ${field.struct}.${field.path.join('.')} of type int32`;
}

function fieldsOf(info: ResourceInfo): Int32Field[] {
  return INT32_FIELDS[`${info.group}/${info.resource}`] ?? [];
}

/** A create or update body: 400, `Deployment in version "v1" cannot be handled as a Deployment: json: …`. */
export function checkBodyTypes(info: ResourceInfo, body: unknown): void {
  const p = firstProblem(body, fieldsOf(info));
  if (p) throw badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ${jsonError(p)}`);
}

/** A Scale body (the scale subresource). */
export function checkScaleTypes(body: unknown): void {
  const p = firstProblem(body, SCALE_FIELDS);
  if (p) throw badRequest(`Scale in version "v1" cannot be handled as a Scale: ${jsonError(p)}`);
}

/** Go's %+v of a decoded JSON value, as patch errors quote the patch. */
function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o)
      .sort()
      .map((k) => `${k}:${goFormat(o[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

/**
 * A patched object: 422 Invalid on the field `patch`. A strategic merge patch is converted from a map (the value
 * shown is the patch, the error the converter's); JSON and merge patches are decoded from the patched JSON.
 */
export function checkPatchedTypes(info: ResourceInfo, patched: unknown, patch: unknown, contentType: string, scale = false): void {
  const p = firstProblem(patched, scale ? SCALE_FIELDS : fieldsOf(info));
  if (!p) return;
  const strategic = contentType === 'application/strategic-merge-patch+json';
  const shown = strategic ? goFormat(patch) : JSON.stringify(patched);
  const why = strategic ? 'unrecognized type: int32' : jsonError(p);
  throw invalid('', '', '', [{ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(shown)}: ${why}`, field: 'patch' }]);
}

/** A server-side apply configuration: the typed conversion fails before any object exists. */
export function checkAppliedTypes(info: ResourceInfo, applied: unknown, namespace: string, name: string): void {
  const p = firstProblem(applied, fieldsOf(info));
  if (!p) return;
  const where = `${namespace ? `${namespace}/` : ''}${name}; ${info.group ? `${info.group}/` : ''}${info.version}, Kind=${info.kind}`;
  if (typeof p.value === 'number') throw badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ${jsonError(p)}`);
  const got = typeof p.value === 'boolean' ? 'bool' : Array.isArray(p.value) ? 'list' : typeof p.value === 'object' ? 'map' : 'string';
  throw new ApiError(
    500,
    'InternalError',
    `failed to create typed patch object (${where}): .${p.field.path.join('.')}: expected numeric (int or float), got ${got}`,
  );
}
