// The expectations file: YAML (or JSON) read, validated against expectations.schema.json, errors located by line.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { InputError } from '../errors.ts';
import { formatPath, validateSchema, type JsonSchema, type SchemaError } from './json-schema.ts';
import schemaJson from './expectations.schema.json' with { type: 'json' };

export const expectationsSchema = schemaJson as unknown as JsonSchema;

export type CheckMode = 'fail' | 'warn' | 'off';
export type IncompleteMode = 'fail' | 'warn' | 'pass';

export interface EndpointSelector {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
}

export interface PortSpec {
  /** Upper case (TCP, UDP, SCTP); undefined matches any protocol. */
  protocol: string | undefined;
  port: number;
}

export interface EdgeRule {
  /** `allow[2]` and, when read from a file, `expect.yaml:14`: how reports point back at the rule. */
  label: string;
  name: string | undefined;
  from: EndpointSelector;
  to: EndpointSelector;
  ports: PortSpec[] | undefined;
}

export interface SloLimits {
  maxErrorRate: number | undefined;
  maxP99Ms: number | undefined;
  minRequests: number;
}

export interface SloRule extends SloLimits {
  label: string;
  from: EndpointSelector;
  to: EndpointSelector;
}

export interface Expectations {
  /** Where they came from (a path), for reports. */
  source: string;
  allow: EdgeRule[] | undefined;
  deny: EdgeRule[] | undefined;
  slo: { default: SloLimits | undefined; edges: SloRule[] } | undefined;
  checks: { allowedDropped: CheckMode; denyEnforced: CheckMode; drift: CheckMode; slo: CheckMode };
  incomplete: IncompleteMode;
  /** The share of malformed input lines (0–1) above which the verdict is INCOMPLETE; undefined: the default, 1%. */
  maxMalformedShare: number | undefined;
}

export const DEFAULT_CHECK_MODES: Expectations['checks'] = { allowedDropped: 'fail', denyEnforced: 'fail', drift: 'warn', slo: 'fail' };

interface RawSelectorObject {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
}
type RawSelector = string | RawSelectorObject;
interface RawRule {
  name?: string;
  from: RawSelector;
  to: RawSelector;
  ports?: (number | string)[];
}
interface RawSloLimits {
  maxErrorRate?: number;
  maxP99Ms?: number;
  minRequests?: number;
}
interface RawExpectations {
  version?: 1;
  allow?: RawRule[];
  deny?: RawRule[];
  slo?: { default?: RawSloLimits; edges?: (RawSloLimits & { from: RawSelector; to: RawSelector })[] };
  checks?: Partial<Expectations['checks']>;
  incomplete?: IncompleteMode;
  maxMalformedShare?: number;
}

function selector(raw: RawSelector): EndpointSelector {
  return typeof raw === 'string' ? { name: raw } : { ...raw };
}

export function parsePort(raw: number | string): PortSpec {
  if (typeof raw === 'number') return { protocol: undefined, port: raw };
  const parts = raw.split('/');
  const num = parts.find((p) => /^\d+$/.test(p))!;
  const proto = parts.find((p) => !/^\d+$/.test(p));
  return { protocol: proto?.toUpperCase(), port: Number(num) };
}

function limits(raw: RawSloLimits): SloLimits {
  return { maxErrorRate: raw.maxErrorRate, maxP99Ms: raw.maxP99Ms, minRequests: raw.minRequests ?? 1 };
}

/** Builds Expectations from an already-validated object; `where(path)` locates a rule for reports. */
function build(raw: RawExpectations, source: string, where: (path: (string | number)[]) => string): Expectations {
  const rules = (list: RawRule[] | undefined, key: string): EdgeRule[] | undefined =>
    list?.map((r, i) => ({
      label: where([key, i]),
      name: r.name,
      from: selector(r.from),
      to: selector(r.to),
      ports: r.ports?.map(parsePort),
    }));
  return {
    source,
    allow: rules(raw.allow, 'allow'),
    deny: rules(raw.deny, 'deny'),
    slo: raw.slo
      ? {
          default: raw.slo.default ? limits(raw.slo.default) : undefined,
          edges: (raw.slo.edges ?? []).map((r, i) => ({ ...limits(r), label: where(['slo', 'edges', i]), from: selector(r.from), to: selector(r.to) })),
        }
      : undefined,
    checks: { ...DEFAULT_CHECK_MODES, ...raw.checks },
    incomplete: raw.incomplete ?? 'fail',
    maxMalformedShare: raw.maxMalformedShare,
  };
}

/** Parses and validates expectations text. Throws InputError listing every problem as `source:line: path: message`. */
export function parseExpectations(text: string, source: string): Expectations {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number | undefined): number | undefined => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => `${source}:${lineOf(e.pos[0]) ?? '?'}: ${e.message.split('\n')[0]}`);
    throw invalid(source, problems);
  }
  const value: unknown = doc.toJS() ?? {};
  const locate = (path: (string | number)[]): number | undefined => {
    // The innermost node that exists: a missing key is reported at the mapping that lacks it.
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lineOf(node.range[0]);
    }
    return undefined;
  };
  const errors: SchemaError[] = validateSchema(value, expectationsSchema);
  if (errors.length > 0) {
    throw invalid(
      source,
      errors.map((e) => `${source}:${locate(e.path) ?? 1}: ${formatPath(e.path)}: ${e.message}`),
    );
  }
  return build(value as RawExpectations, source, (path) => `${formatPath(path)} (${source}:${locate(path) ?? 1})`);
}

function invalid(source: string, problems: string[]): InputError {
  return new InputError(`expectations file ${source} is not valid:\n  ${problems.join('\n  ')}`, {
    hint: 'the format is described in lib/analysis/expectations.schema.json (allow, deny, slo, checks, incomplete)',
  });
}

export async function loadExpectations(path: string): Promise<Expectations> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String(err);
    throw new InputError(`cannot read expectations file ${path}: ${why}`, { hint: 'pass --expect with the path of a YAML expectations file', cause: err });
  }
  return parseExpectations(text, path);
}
