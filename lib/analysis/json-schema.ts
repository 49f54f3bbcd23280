// JSON Schema validation (ajv, the draft the schema's $schema names), with each error told the way a reader of the
// YAML or JSON file thinks of it: the path of the bad value and what would be valid there.
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';

export interface JsonSchema {
  $schema?: string;
  $id?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  type?: SchemaType | SchemaType[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  minProperties?: number;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  pattern?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  description?: string;
  [key: string]: unknown;
}

type SchemaType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';

export interface SchemaError {
  /** Keys and indexes from the document root to the bad value. */
  path: (string | number)[];
  message: string;
}

function typeOf(v: unknown): SchemaType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as SchemaType;
}

function typeMatches(v: unknown, t: SchemaType): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

const ARTICLE: Record<SchemaType, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  null: 'null',
};

function describe(v: unknown): string {
  const t = typeOf(v);
  if (t === 'string') return `"${String(v)}"`;
  if (t === 'object') return 'a mapping';
  if (t === 'array') return 'a list';
  return String(v);
}

/** Formats a path the way a reader of the YAML file thinks of it: `allow[2].ports[0]`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || '(top level)';
}

/** One compiled schema: its validator, and how to reach any of its subschemas by JSON pointer. */
interface Compiled {
  ajv: Ajv;
  key: string;
  validate: ValidateFunction;
  /** Every subschema object of the schema, to its JSON pointer (ajv's errors carry the object, not its place). */
  pointers: Map<object, string>;
}

const compiled = new WeakMap<JsonSchema, Compiled>();

// ajv is loaded on the first validation, and only the draft asked for: it costs about 80 ms to load, which a command
// that validates nothing should not pay.
const require = createRequire(import.meta.url);
const DRAFTS: Record<string, () => Ajv> = {
  'https://json-schema.org/draft/2020-12/schema': () => new (require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js')).Ajv2020(options),
  'https://json-schema.org/draft/2019-09/schema': () => new (require('ajv/dist/2019.js') as typeof import('ajv/dist/2019.js')).Ajv2019(options),
  'http://json-schema.org/draft-07/schema': () => new (require('ajv') as typeof import('ajv')).Ajv(options),
};
// verbose: errors carry the value and the schema object, which the messages need. strict: a keyword ajv does not
// know (a typo in a schema) is an error when compiling, not a rule silently not applied. validateSchema: checking
// our schemas against the draft's meta-schema doubles the compile time of every run; the tests do it once
// (test/analysis/json-schema.test.ts).
const options: Options = { allErrors: true, verbose: true, strict: true, strictTypes: false, validateSchema: false };

function compile(schema: JsonSchema): Compiled {
  const known = compiled.get(schema);
  if (known) return known;
  // A schema without $schema (a part of a bigger one, as some tests take) is read as this project's draft.
  const draft = (schema.$schema ?? 'https://json-schema.org/draft/2020-12/schema').replace(/#$/, '');
  const make = DRAFTS[draft];
  if (!make) throw new Error(`schema: unsupported $schema ${schema.$schema} (supported: ${Object.keys(DRAFTS).join(', ')})`);
  const ajv = make();
  const key = schema.$id ?? 'urn:hubble-lab:schema';
  ajv.addSchema(schema, key);
  const validate = ajv.getSchema(key)!;
  const pointers = new Map<object, string>();
  const walk = (node: unknown, pointer: string): void => {
    if (node === null || typeof node !== 'object') return;
    if (!Array.isArray(node)) pointers.set(node, pointer);
    for (const [k, v] of Object.entries(node)) walk(v, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  };
  walk(schema, '');
  const c = { ajv, key, validate, pointers };
  compiled.set(schema, c);
  return c;
}

export function validateSchema(value: unknown, schema: JsonSchema): SchemaError[] {
  const c = compile(schema);
  if (c.validate(value)) return [];
  return explain(c, c.validate.errors ?? [], value, []);
}

/** The path of an error's value: `/allow/0/from` → ['allow', 0, 'from'], numbers where the value is a list. */
function pathOf(instancePath: string, root: unknown, base: (string | number)[]): (string | number)[] {
  const path = [...base];
  let node = root;
  for (const raw of instancePath.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const step = Array.isArray(node) ? Number(key) : key;
    path.push(step);
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return path;
}

/** Every subschema an alternative may apply to its value or a value inside it ($refs followed). */
function reachable(c: Compiled, alternatives: JsonSchema[]): Set<object> {
  const seen = new Set<object>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    if (!Array.isArray(node)) seen.add(node);
    const ref = (node as JsonSchema).$ref;
    if (typeof ref === 'string' && ref.startsWith('#')) visit(c.ajv.getSchema(`${c.key}${ref}`)?.schema);
    for (const v of Object.values(node)) visit(v);
  };
  alternatives.forEach(visit);
  return seen;
}

function explain(c: Compiled, errors: ErrorObject[], root: unknown, base: (string | number)[]): SchemaError[] {
  const out: SchemaError[] = [];
  // An anyOf/oneOf failure stands for its alternatives' errors, which ajv also lists: those are told through it.
  const skipped = new Set<ErrorObject>();
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && e.keyword !== 'oneOf') continue;
    const inside = reachable(c, e.schema as JsonSchema[]);
    for (const other of errors) {
      if (
        other !== e &&
        other.parentSchema &&
        inside.has(other.parentSchema) &&
        (other.instancePath === e.instancePath || other.instancePath.startsWith(`${e.instancePath}/`))
      ) {
        skipped.add(other);
      }
    }
  }
  // A value of the wrong type gets that one message, not also those of the keywords for the type it should have.
  const wrongType = new Set(errors.filter((e) => e.keyword === 'type').map((e) => `${e.instancePath}\0${c.pointers.get(e.parentSchema!)}`));
  for (const e of errors) {
    if (skipped.has(e)) continue;
    if (e.keyword !== 'type' && wrongType.has(`${e.instancePath}\0${c.pointers.get(e.parentSchema!)}`)) continue;
    const path = pathOf(e.instancePath, root, base);
    const value: unknown = e.data;
    const parent = (e.parentSchema ?? {}) as JsonSchema;
    const known = Object.keys(parent.properties ?? {});
    const p = e.params as Record<string, any>;
    switch (e.keyword) {
      case 'type': {
        const types = (Array.isArray(p.type) ? p.type : String(p.type).split(',')) as SchemaType[];
        out.push({ path, message: `expected ${types.map((t) => ARTICLE[t]).join(' or ')}, got ${describe(value)}` });
        break;
      }
      case 'const':
        out.push({ path, message: `must be ${JSON.stringify(p.allowedValue)}, got ${describe(value)}` });
        break;
      case 'enum':
        out.push({ path, message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}; got ${describe(value)}` });
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const words: Record<string, string> = { '>=': 'at least', '<=': 'at most', '>': 'greater than', '<': 'less than' };
        out.push({ path, message: `must be ${words[p.comparison as string]} ${p.limit}, got ${value}` });
        break;
      }
      case 'minLength':
        out.push({ path, message: p.limit === 1 ? 'must not be empty' : `needs at least ${p.limit} characters` });
        break;
      case 'pattern':
        out.push({ path, message: `"${String(value)}" is not valid here${parent.description ? ` (${parent.description})` : ''}` });
        break;
      case 'minItems':
        out.push({ path, message: `needs at least ${p.limit} item(s)` });
        break;
      case 'minProperties':
        out.push({ path, message: `needs at least one of: ${known.join(', ')}` });
        break;
      case 'required':
        out.push({ path, message: `missing required key "${p.missingProperty}"` });
        break;
      case 'additionalProperties':
        out.push({
          path: [...path, p.additionalProperty as string],
          message: `unknown key "${p.additionalProperty}"${known.length ? ` (known: ${known.join(', ')})` : ''}`,
        });
        break;
      case 'anyOf':
      case 'oneOf':
        out.push(...explainAlternatives(c, e, path));
        break;
      default:
        out.push({ path, message: e.message ?? `fails ${e.keyword}` });
    }
  }
  return out;
}

/**
 * A value must match one alternative. The errors reported are those of the alternative whose type fits (the
 * user meant that one); when no type fits, one message lists what would.
 */
function explainAlternatives(c: Compiled, e: ErrorObject, path: (string | number)[]): SchemaError[] {
  const alternatives = e.schema as JsonSchema[];
  const at = c.pointers.get(e.parentSchema!);
  if (e.keyword === 'oneOf' && (e.params as { passingSchemas?: unknown }).passingSchemas) {
    return [{ path, message: 'matches more than one of the alternatives, which must be exclusive' }];
  }
  let best: SchemaError[] | undefined;
  const expected: string[] = [];
  alternatives.forEach((alt, i) => {
    const validate = c.ajv.getSchema(`${c.key}#${at}/${e.keyword}/${i}`)!;
    if (validate(e.data)) return;
    const errs = explain(c, validate.errors ?? [], e.data, path);
    const resolved = alt.$ref ? ((c.ajv.getSchema(`${c.key}${alt.$ref}`)?.schema ?? alt) as JsonSchema) : alt;
    const types = resolved.type === undefined ? [] : Array.isArray(resolved.type) ? resolved.type : [resolved.type];
    for (const t of types) if (!expected.includes(ARTICLE[t])) expected.push(ARTICLE[t]);
    if (types.length === 0 || types.some((t) => typeMatches(e.data, t))) {
      if (!best || errs.length < best.length) best = errs;
    }
  });
  return best ?? [{ path, message: `expected ${expected.join(' or ')}, got ${describe(e.data)}` }];
}
