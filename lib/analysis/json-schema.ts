// A small JSON Schema validator for the subset our schemas use, reporting each error with the path of the bad value.

export interface JsonSchema {
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

export function validateSchema(value: unknown, schema: JsonSchema): SchemaError[] {
  const errors: SchemaError[] = [];
  check(value, schema, schema, [], errors);
  return errors;
}

function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  if (!schema.$ref) return schema;
  const m = /^#\/\$defs\/(.+)$/.exec(schema.$ref);
  const target = m ? root.$defs?.[m[1]!] : undefined;
  if (!target) throw new Error(`schema: unresolvable $ref ${schema.$ref}`);
  return resolve(target, root);
}

function check(value: unknown, rawSchema: JsonSchema, root: JsonSchema, path: (string | number)[], errors: SchemaError[]): void {
  const schema = resolve(rawSchema, root);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) {
    checkAlternatives(value, alternatives, root, path, errors);
    return;
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(value, t))) {
      errors.push({ path, message: `expected ${types.map((t) => ARTICLE[t]).join(' or ')}, got ${describe(value)}` });
      return;
    }
  }
  if (schema.const !== undefined && value !== schema.const) {
    errors.push({ path, message: `must be ${JSON.stringify(schema.const)}, got ${describe(value)}` });
  }
  if (schema.enum && !schema.enum.includes(value)) {
    errors.push({ path, message: `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}; got ${describe(value)}` });
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push({ path, message: `must be at least ${schema.minimum}, got ${value}` });
    if (schema.maximum !== undefined && value > schema.maximum) errors.push({ path, message: `must be at most ${schema.maximum}, got ${value}` });
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) {
      errors.push({ path, message: `must be greater than ${schema.exclusiveMinimum}, got ${value}` });
    }
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push({ path, message: 'must not be empty' });
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
      errors.push({ path, message: `"${value}" is not valid here${schema.description ? ` (${schema.description})` : ''}` });
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push({ path, message: `needs at least ${schema.minItems} item(s)` });
    if (schema.items) value.forEach((item, i) => check(item, schema.items!, root, [...path, i], errors));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    if (schema.minProperties !== undefined && Object.keys(obj).length < schema.minProperties) {
      const known = Object.keys(schema.properties ?? {});
      errors.push({ path, message: `needs at least one of: ${known.join(', ')}` });
    }
    for (const key of schema.required ?? []) {
      if (obj[key] === undefined) errors.push({ path, message: `missing required key "${key}"` });
    }
    for (const [key, v] of Object.entries(obj)) {
      const prop = schema.properties?.[key];
      if (prop) check(v, prop, root, [...path, key], errors);
      else if (schema.additionalProperties === false) {
        const known = Object.keys(schema.properties ?? {});
        errors.push({ path: [...path, key], message: `unknown key "${key}"${known.length ? ` (known: ${known.join(', ')})` : ''}` });
      } else if (typeof schema.additionalProperties === 'object') check(v, schema.additionalProperties, root, [...path, key], errors);
    }
  }
}

/**
 * A value must match one alternative. The errors reported are those of the alternative whose type fits (the
 * user meant that one); when no type fits, one message lists what would.
 */
function checkAlternatives(value: unknown, alternatives: JsonSchema[], root: JsonSchema, path: (string | number)[], errors: SchemaError[]): void {
  let best: SchemaError[] | undefined;
  const expected: string[] = [];
  for (const alt of alternatives) {
    const resolved = resolve(alt, root);
    const errs: SchemaError[] = [];
    check(value, resolved, root, path, errs);
    if (errs.length === 0) return;
    const types = resolved.type === undefined ? [] : Array.isArray(resolved.type) ? resolved.type : [resolved.type];
    for (const t of types) if (!expected.includes(ARTICLE[t])) expected.push(ARTICLE[t]);
    if (types.length === 0 || types.some((t) => typeMatches(value, t))) {
      if (!best || errs.length < best.length) best = errs;
    }
  }
  if (best) errors.push(...best);
  else errors.push({ path, message: `expected ${expected.join(' or ')}, got ${describe(value)}` });
}
