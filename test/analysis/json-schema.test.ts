// The schema validator: the project's schemas are valid for their draft, each draft a schema may name is the one
// applied, and errors read as paths and plain words (alternatives told through the one the value meant).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { validateSchema, type JsonSchema } from '../../lib/analysis/json-schema.ts';

const load = (path: string) => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as JsonSchema;
const schemas = { expectations: load('../../lib/analysis/expectations.schema.json'), report: load('../../lib/report/report.schema.json') };

t.test("the project's schemas are valid against the 2020-12 meta-schema", async (t) => {
  const ajv = new Ajv2020({ strict: true, strictTypes: false });
  for (const [name, schema] of Object.entries(schemas)) {
    t.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema', `${name} names its draft`);
    t.ok(ajv.validateSchema(schema), `${name}: ${ajv.errorsText(ajv.errors)}`);
  }
});

t.test('the draft a schema names is the one applied', async (t) => {
  // items as a list of schemas: tuple validation in draft-07; in 2020-12 that is prefixItems and `items` must be one schema.
  const tuple = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'array',
    items: [{ type: 'string' }, { type: 'number' }],
    minItems: 2,
    additionalItems: false,
  } as unknown as JsonSchema;
  t.same(validateSchema(['a', 1], tuple), []);
  t.same(validateSchema(['a', 'b'], tuple), [{ path: [1], message: 'expected a number, got "b"' }]);
  const dependent: JsonSchema = { $schema: 'https://json-schema.org/draft/2019-09/schema', type: 'object', dependentRequired: { port: ['protocol'] } };
  t.same(validateSchema({ protocol: 'TCP', port: 80 }, dependent), []);
  t.equal(validateSchema({ port: 80 }, dependent).length, 1, 'a 2019-09 keyword is applied');
  t.throws(() => validateSchema({}, { $schema: 'http://json-schema.org/draft-04/schema#' }), /unsupported \$schema .*draft-04/);
  t.throws(() => validateSchema({}, { type: 'object', propertys: {} }), /unknown keyword: "propertys"/, 'a typo in a schema is an error, not a rule skipped');
});

t.test('errors name the path and say what would be valid', async (t) => {
  const schema: JsonSchema = {
    $defs: { name: { type: 'string', minLength: 1 } },
    type: 'object',
    additionalProperties: false,
    required: ['to'],
    properties: {
      to: {
        anyOf: [
          { $ref: '#/$defs/name' },
          {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: { name: { $ref: '#/$defs/name' }, port: { type: 'integer', maximum: 65535 } },
          },
        ],
      },
      window: { oneOf: [{ type: 'null' }, { type: 'number', exclusiveMinimum: 0 }] },
      list: { type: 'array', minItems: 1, items: { enum: ['a', 'b'] } },
    },
  };
  t.same(validateSchema({ to: 'x', window: null, list: ['a'] }, schema), []);
  t.same(
    validateSchema({ to: { name: '', port: 70000 } }, schema),
    [
      { path: ['to', 'name'], message: 'must not be empty' },
      { path: ['to', 'port'], message: 'must be at most 65535, got 70000' },
    ],
    'the mapping alternative, the one a mapping meant',
  );
  t.same(validateSchema({ to: {} }, schema), [{ path: ['to'], message: 'needs at least one of: name, port' }]);
  t.same(validateSchema({ to: 7 }, schema), [{ path: ['to'], message: 'expected a string or a mapping, got 7' }], 'no alternative fits: one message');
  t.same(validateSchema({ to: 'x', window: 0 }, schema), [{ path: ['window'], message: 'must be greater than 0, got 0' }]);
  t.same(validateSchema({ to: 'x', list: [] }, schema), [{ path: ['list'], message: 'needs at least 1 item(s)' }]);
  t.same(validateSchema({ to: 'x', list: ['a', 'c'] }, schema), [{ path: ['list', 1], message: 'must be one of "a", "b"; got "c"' }]);
  t.same(validateSchema({ ta: 'x' }, schema), [
    { path: [], message: 'missing required key "to"' },
    { path: ['ta'], message: 'unknown key "ta" (known: to, window, list)' },
  ]);
  t.same(
    validateSchema({ 'a/b': 1 }, { type: 'object', additionalProperties: { type: 'string' } }),
    [{ path: ['a/b'], message: 'expected a string, got 1' }],
    'keys with a slash',
  );
});
