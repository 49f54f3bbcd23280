// What a user sees from the hubble-lab front: the command list (which loads no command module), a command's flags,
// did-you-mean for a misspelled command, and the version from package.json. Real processes, through bin/.
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandEntries, main } from '../../lib/cli.ts';
import { commandTable } from '../../lib/cli/commands.ts';
import { commandHelp } from '../../lib/cli/help.ts';
import { concurrencyLimit, runNode } from '../fixtures/cli-process.ts';
import { writeSynthFile } from '../fixtures/synth.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'hubble-lab.mjs');
const recordLoads = join(root, 'test', 'cli', 'record-loads.mjs');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

// The runs of one test are independent of each other: they run side by side, a few at a time.
const slot = concurrencyLimit(4);
function cli(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []) {
  return slot(() => runNode([...nodeArgs, bin, ...args], { ...process.env, NO_COLOR: '1', ...env }, 60_000));
}

/** The modules (file URLs, node_modules included) a run of the CLI loaded. */
async function loadedBy(t: Test, args: string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'hubble-lab-loads-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'loaded.txt');
  const r = await cli(args, { RECORD_LOADS_TO: file }, ['--import', recordLoads]);
  t.equal(r.code, 0, `${args.join(' ')}: exit 0`);
  return readFileSync(file, 'utf8').trim().split('\n');
}

t.test('hubble-lab, --help, -h and help list every command in at most 40 lines', async (t) => {
  const [help, short, word, bare] = await Promise.all([cli(['--help']), cli(['-h']), cli(['help']), cli([])]);
  t.equal(help.code, 0);
  t.equal(help.stderr, '');
  const lines = help.stdout.trimEnd().split('\n');
  t.ok(lines.length <= 40, `${lines.length} lines`);
  t.match(help.stdout, /^Usage:\n {2}hubble-lab <command> \[flags\]$/m);
  for (const e of commandEntries) {
    t.ok(
      lines.some((l) => l.startsWith(`  ${e.name} `) && l.endsWith(` ${e.summary}`) && l.slice(2 + e.name.length, -e.summary.length).trim() === ''),
      `${e.name} listed with its summary`,
    );
  }
  t.same(short, help, '-h');
  t.same(word, help, 'help');
  t.equal(bare.code, 2, 'bare hubble-lab: exit 2, as a usage error');
  t.equal(bare.stdout, help.stdout);
});

t.test('the list and --version load no command module', async (t) => {
  const dir = t.testdir({});
  await writeSynthFile(join(dir, 'flows.jsonl'), { count: 50, seed: 2 });
  const [list, version, observe, analyze] = await Promise.all([
    loadedBy(t, ['--help']),
    loadedBy(t, ['--version']),
    loadedBy(t, ['observe', '--help']),
    loadedBy(t, ['analyze', '--input', join(dir, 'flows.jsonl'), '--out', join(dir, 'out'), '--gate', 'off']),
  ]);
  for (const [args, loaded] of [
    [['--help'], list],
    [['--version'], version],
  ] as const) {
    const ours = loaded.filter((u) => !u.includes('/node_modules/'));
    t.ok(
      ours.some((u) => /\/lib\/cli\.(ts|js)$/.test(u)),
      `${args[0]}: the front loaded (${ours.length} modules)`,
    );
    t.same(
      ours.filter((u) => /\/lib\/(commands|kube|hubble|sim|analysis)\//.test(u)),
      [],
      `${args[0]}: no command module or what commands use`,
    );
  }
  t.ok(
    observe.some((u) => /\/lib\/commands\/observe\.(ts|js)$/.test(u)),
    'observe --help loads observe',
  );
  t.notOk(
    observe.some((u) => /\/lib\/commands\/(analyze|run|sim|doctor)\.(ts|js)$/.test(u)),
    'and no other command',
  );
  t.notOk(
    observe.some((u) => u.includes('/@kubernetes/client-node/')),
    'nor the Kubernetes client',
  );

  t.same(
    analyze.filter((u) =>
      /\/lib\/(sim\/|kube\/(?!label-selector)|metrics\/prometheus\.|hubble\/client\.|hubble\/grpc\/h2-)|\/@kubernetes\/|\/undici\//.test(u),
    ),
    [],
    'analyze of a file loads no cluster, sim, gRPC or HTTP client',
  );
});

t.test('the table in the front says what each command module says', async (t) => {
  for (const entry of commandTable) {
    const cmd = await entry.load();
    t.equal(cmd.name, entry.name);
    t.equal(cmd.summary, entry.summary, `${entry.name}: the summary --help shows is the module's`);
  }
  for (const entry of commandEntries) t.equal((await entry.load()).summary, entry.summary, entry.name);
});

t.test("a command's flags: <command> --help and help <command>", async (t) => {
  const names = ['analyze', 'doctor', 'version'];
  const runs = await Promise.all(names.map((name) => Promise.all([cli([name, '--help']), cli(['help', name])])));
  for (const [i, name] of names.entries()) {
    const cmd = await commandEntries.find((e) => e.name === name)!.load();
    const [flags, help] = runs[i]!;
    t.equal(flags.code, 0);
    t.equal(flags.stdout, commandHelp(cmd), `${name} --help`);
    t.match(flags.stdout, /^ {2}-h, --help +show this help$/m);
    t.same(help, flags, `help ${name}`);
  }
  t.match(runs[0]![0].stdout, /--input FILE/);
  // In-process for the rest: every command's help has its usage and each of its flags.
  for (const entry of commandEntries) {
    const cmd = await entry.load();
    const text = commandHelp(cmd);
    t.ok(text.startsWith(`Usage: hubble-lab ${cmd.usage}\n`), entry.name);
    for (const o of cmd.options) t.match(text, `--${o.name}`, `${entry.name} --${o.name}`);
  }
});

t.test('clusters the lab does not start: --kubeconfig says what happens without it', async (t) => {
  const names = ['doctor', 'port-forward', 'teardown'];
  const [run, ...helps] = await Promise.all([cli(['run', '--help']), ...names.map((name) => cli([name, '--help']))]);
  for (const [i, name] of names.entries()) {
    const flag = helps[i]!.stdout.split('\n').find((l) => l.trimStart().startsWith('--kubeconfig'));
    t.match(flag, /\$KUBECONFIG, else ~\/\.kube\/config/, name);
    t.notMatch(flag, /embedded/, `${name} promises no embedded cluster`);
  }
  t.match(run.stdout, /--kubeconfig PATH +use this cluster instead of a fresh embedded one/, 'run does start one');
});

t.test('a misspelled command or flag: did you mean, exit 2', async (t) => {
  const typos = [
    ['analyse', 'analyze'],
    ['obsreve', 'observe'],
    ['teardwon', 'teardown'],
    ['verison', 'version'],
  ] as const;
  const [far, help, flag, cmdFlag, ...typedRuns] = await Promise.all([
    cli(['kubectl']),
    cli(['help', 'analyse']),
    cli(['--versoin']),
    cli(['observe', '--input-file', '/dev/null', '--nmespace', 'x']),
    ...typos.map(([typed]) => cli([typed, '--input', 'x'])),
  ]);
  for (const [i, [typed, meant]] of typos.entries()) {
    const r = typedRuns[i]!;
    t.equal(r.code, 2, typed);
    t.equal(r.stdout, '');
    t.equal(r.stderr, `hubble-lab: unknown command "${typed}" — did you mean "${meant}"?\n  hint: run \`hubble-lab --help\` for the list of commands\n`);
  }
  t.equal(far.code, 2);
  t.equal(far.stderr.split('\n')[0], 'hubble-lab: unknown command "kubectl"', 'no guess when nothing is near');
  t.equal(help.code, 2);
  t.match(help.stderr, /^hubble-lab: unknown command "analyse" — did you mean "analyze"\?/);
  t.equal(flag.code, 2);
  t.match(flag.stderr, /^hubble-lab: unknown flag --versoin — did you mean --version\?/);
  t.equal(cmdFlag.code, 2);
  t.match(cmdFlag.stderr, /^hubble-lab: observe: unknown flag --nmespace[\s\S]*did you mean --namespace\?/);
});

t.test("version and --version print package.json's version", async (t) => {
  const [word, flag, extra] = await Promise.all([cli(['version']), cli(['--version']), cli(['version', 'x'])]);
  for (const [args, r] of [
    ['version', word],
    ['--version', flag],
  ] as const) {
    t.equal(r.code, 0);
    t.equal(r.stdout, `hubble-lab ${pkg.version}\n`, args);
  }
  t.equal(extra.code, 2, 'version takes no arguments');
});

t.test('in-process main(): the same list and exit codes', async (t) => {
  const out: string[] = [];
  const sink = { write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WritableStream;
  const io = { stdin: process.stdin, stdout: sink, stderr: sink, env: {}, signal: new AbortController().signal } as never;
  t.equal(await main(['help'], io), 0);
  t.equal(out.join(''), (await cli(['help'])).stdout);
});
