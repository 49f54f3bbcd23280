// Command-line parsing: order kept, values checked, unknown flags named with a suggestion.
import t from 'tap';
import { closest, formatOptionsHelp, parseArgs, optionValues, type OptionSpec } from '../lib/args.ts';
import { UsageError } from '../lib/errors.ts';

const specs: OptionSpec[] = [
  { name: 'namespace', short: 'n', type: 'string', repeatable: true, description: 'ns' },
  { name: 'not', type: 'boolean', description: 'negate' },
  { name: 'last', type: 'number', description: 'last N' },
  { name: 'output', short: 'o', type: 'string', description: 'format' },
];

t.test('keeps options in command-line order with both value forms', async (t) => {
  const p = parseArgs(['-n', 'a', '--not', '--namespace=b', '-ojson', 'pos', '--last', '5'], specs, 'observe');
  t.same(p.ordered, [
    { name: 'namespace', value: 'a' },
    { name: 'not', value: true },
    { name: 'namespace', value: 'b' },
    { name: 'output', value: 'json' },
    { name: 'last', value: 5 },
  ]);
  t.same(p.positionals, ['pos']);
  t.same(optionValues(p, 'namespace'), ['a', 'b']);
});

t.test('rejects unknown flags with a suggestion, missing values and bad numbers', async (t) => {
  t.throws(() => parseArgs(['--namspace', 'x'], specs, 'observe'), { message: 'observe: unknown flag --namspace', hint: /did you mean --namespace/ });
  t.throws(() => parseArgs(['--last'], specs, 'observe'), new UsageError('observe: --last needs a value'));
  t.throws(() => parseArgs(['--last', 'ten'], specs, 'observe'), { message: 'observe: --last needs a number, not "ten"' });
  t.throws(() => parseArgs(['-o', 'a', '-o', 'b'], specs, 'observe'), { message: 'observe: -o given more than once' });
});

t.test("the forms hubble's flag library also reads: -o=json, -f=false, grouped short booleans, -- and dash values", async (t) => {
  const more: OptionSpec[] = [
    ...specs,
    { name: 'follow', short: 'f', type: 'boolean', description: 'follow' },
    { name: 'debug', short: 'D', type: 'boolean', description: 'debug' },
  ];
  t.same(parseArgs(['-o=json', '-f=false', '--not=true'], more, 'observe').ordered, [
    { name: 'output', value: 'json' },
    { name: 'follow', value: false },
    { name: 'not', value: true },
  ]);
  t.same(
    parseArgs(['-fD', '-Dn', 'a'], more, 'observe').ordered,
    [
      { name: 'follow', value: true },
      { name: 'debug', value: true },
      { name: 'debug', value: true },
      { name: 'namespace', value: 'a' },
    ],
    'a group of short booleans, the last letter of a group taking the next word',
  );
  const p = parseArgs(['--namespace', '-x', '-', '--', '--not', '-n'], more, 'observe');
  t.same(p.ordered, [{ name: 'namespace', value: '-x' }], 'a value may start with a dash');
  t.same(p.positionals, ['-', '--not', '-n'], 'after --, everything is positional');
  t.throws(() => parseArgs(['-f=maybe'], more, 'observe'), { message: 'observe: -f takes true or false, not "maybe"' });
  t.throws(() => parseArgs(['-fq'], more, 'observe'), { message: 'observe: unknown flag -q' });
  t.throws(() => parseArgs(['--n', 'a'], more, 'observe'), { message: 'observe: unknown flag --n' }, 'a short name is no long flag');
});

t.test('help lists flags without a heading first, then each heading once, in the order given', async (t) => {
  const mixed: OptionSpec[] = [
    { name: 'kubeconfig', type: 'string', valueName: 'PATH', description: 'cluster', group: 'Cluster' },
    { name: 'dry-run', type: 'boolean', description: 'plan only' },
    { name: 'out', type: 'string', valueName: 'DIR', description: 'where', group: 'Output' },
    { name: 'context', type: 'string', valueName: 'NAME', description: 'context', group: 'Cluster' },
    { name: 'yes', short: 'y', type: 'boolean', description: 'no questions', default: false },
  ];
  t.equal(
    formatOptionsHelp(mixed),
    [
      '      --dry-run          plan only',
      '  -y, --yes              no questions (default false)',
      '',
      'Cluster:',
      '      --kubeconfig PATH  cluster',
      '      --context NAME     context',
      '',
      'Output:',
      '      --out DIR          where',
    ].join('\n'),
  );
});

t.test('closest: the name meant, or none when nothing is near', async (t) => {
  t.equal(closest('analyse', ['observe', 'analyze', 'relay']), 'analyze');
  t.equal(closest('obsreve', ['observe', 'analyze', 'relay']), 'observe');
  t.equal(closest('kubectl', ['observe', 'analyze', 'relay']), undefined);
});
