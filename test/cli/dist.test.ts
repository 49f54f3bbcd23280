// The compiled CLI: bin/build.mjs compiles lib/ and tasks/ into dist/, bin/hubble-lab.mjs runs dist/ only while no
// source changed since the build, and dist/ behaves as the sources do. In a copy of the tree, so that the build and
// the edits this test makes never touch the working tree's own dist/ or sources.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProtoFiles } from '../../lib/hubble/grpc/protos.ts';
import { concurrencyLimit, runNode } from '../fixtures/cli-process.ts';
import { writeSynthFile } from '../fixtures/synth.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const copy = mkdtempSync(join(tmpdir(), 'hubble-lab-dist-'));
t.teardown(() => rmSync(copy, { recursive: true, force: true }));
for (const name of ['bin', 'lib', 'tasks', 'proto', 'test/cli/record-loads.mjs', 'package.json', 'tsconfig.json'])
  cpSync(join(repo, name), join(copy, name), { recursive: true });
for (const name of ['node_modules', 'manifests']) symlinkSync(join(repo, name), join(copy, name));

const flows = join(copy, 'flows.jsonl');
await writeSynthFile(flows, { count: 200, seed: 5 });

// Runs that build or edit nothing are independent of each other: they go side by side, a few at a time.
const slot = concurrencyLimit(4);
async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const loads = join(copy, `loads-${Math.random().toString(36).slice(2)}.txt`);
  const r = await slot(() =>
    runNode(
      ['--import', join(copy, 'test/cli/record-loads.mjs'), join(copy, 'bin/hubble-lab.mjs'), ...args],
      { ...process.env, NO_COLOR: '1', RECORD_LOADS_TO: loads, ...env },
      120_000,
    ),
  );
  const loaded = existsSync(loads) ? readFileSync(loads, 'utf8').trim().split('\n') : [];
  rmSync(loads, { force: true });
  return {
    code: r.code,
    stdout: r.stdout,
    stderr: r.stderr,
    loaded,
    compiled: loaded.includes(`file://${copy}/dist/lib/cli.js`),
    fromSource: loaded.includes(`file://${copy}/lib/cli.ts`),
  };
}

function build() {
  const r = spawnSync(process.execPath, [join(copy, 'bin/build.mjs')], { encoding: 'utf8', timeout: 120_000, cwd: copy });
  return { code: r.status, stderr: r.stderr };
}

t.test('a checkout that was never built runs from source', async (t) => {
  const r = await run(['--version']);
  t.equal(r.code, 0);
  t.ok(r.fromSource && !r.compiled);
});

t.test('after a build, the command runs dist/ and does what the sources do', async (t) => {
  const b = build();
  t.equal(b.code, 0, b.stderr);
  t.match(b.stderr, /^hubble-lab: compiled \d+ modules into dist in \d+ ms\n$/);
  // analyze reads the protos, validates the lab's expectations against their JSON schema and writes every report.
  const reports = async (mode: string, env: NodeJS.ProcessEnv) => {
    const out = join(copy, `reports-${mode}`);
    const r = await run(['analyze', '--input', flows, '--expect', join(copy, 'manifests/expectations.yaml'), '--out', out], env);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    delete json.generatedAt;
    return { code: r.code, stdout: r.stdout.replaceAll(out, 'OUT'), stderr: r.stderr.replaceAll(out, 'OUT'), json };
  };
  const argSets = [
    ['--help'],
    ['analyze', '--help'],
    ['observe', '--input-file', flows, '-o', 'jsonpb', '--verdict', 'DROPPED'],
    ['obsreve'],
    // A command that talks to a cluster: client-node from the build's bundle.
    ['doctor', '--kubeconfig', join(copy, 'no-such-kubeconfig')],
  ];
  const [version, runs, [compiled, source]] = await Promise.all([
    run(['--version']),
    Promise.all(argSets.map((args) => Promise.all([run(args), run(args, { HUBBLE_LAB_FROM_SOURCE: '1' })]))),
    Promise.all([reports('compiled', {}), reports('source', { HUBBLE_LAB_FROM_SOURCE: '1' })]),
  ]);
  t.ok(version.compiled && !version.fromSource, 'dist/lib/cli.js, not the sources');
  t.equal(version.stdout, `hubble-lab ${JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version}\n`, 'package.json found from dist/');

  for (const [i, args] of argSets.entries()) {
    const [compiledRun, sourceRun] = runs[i]!;
    t.ok(compiledRun.compiled && sourceRun.fromSource, `${args[0]}: one of each`);
    t.same(
      { code: compiledRun.code, stdout: compiledRun.stdout, stderr: compiledRun.stderr },
      { code: sourceRun.code, stdout: sourceRun.stdout, stderr: sourceRun.stderr },
      args.join(' '),
    );
  }
  const [doctorCompiled, doctorSource] = runs[argSets.length - 1]!;
  t.ok(doctorCompiled.loaded.includes(`file://${copy}/dist/vendor/client-node/index.js`), 'the compiled doctor loads client-node bundled in dist/vendor/');
  t.same(
    doctorCompiled.loaded.filter((u) => u.includes('/node_modules/@kubernetes/client-node/')),
    [],
    'and no module of the installed package',
  );
  t.ok(
    doctorSource.loaded.some((u) => u.includes('/node_modules/@kubernetes/client-node/')),
    'the sources load the installed package',
  );
  t.ok([0, 1, 3].includes(compiled.code), compiled.stderr);
  t.same(compiled, source, 'analyze: same exit, output and report.json');

  // The compiled CLI reads the protos from the descriptor the build wrote; the sources parse proto/.
  const descriptor = join(copy, 'dist/lib/hubble/grpc/protos.json');
  t.ok(existsSync(descriptor), 'the build wrote the protobuf descriptor');
  t.notOk(existsSync(join(copy, 'lib/hubble/grpc/protos.json')), 'beside the compiled module only');
  t.same(JSON.parse(readFileSync(descriptor, 'utf8')), loadProtoFiles().toJSON(), 'the same schema as proto/ parsed');
});

t.test('every file a compiled module names by URL is there', async (t) => {
  const urls = /new URL\((["'])([^"']+)\1, import\.meta\.url\)/g;
  const named: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.js')) for (const m of readFileSync(path, 'utf8').matchAll(urls)) named.push(fileURLToPath(new URL(m[2]!, `file://${path}`)));
    }
  };
  walk(join(copy, 'dist'));
  t.ok(named.length >= 8, `${named.length} files named by URL`);
  for (const path of named) t.ok(existsSync(path), path.slice(copy.length + 1));
  t.ok(
    named.some((p) => p.endsWith('/dist/lib/sim/net/preload.mjs')),
    "the pods' preload is among them",
  );
  t.notOk(
    named.some((p) => p.endsWith('.ts')),
    'no TypeScript module is named in dist/',
  );
});

t.test('an edited, added or removed source is never run stale', async (t) => {
  const table = join(copy, 'lib/cli/commands.ts');
  const original = readFileSync(table, 'utf8');
  writeFileSync(table, original.replace("'show Hubble flows from a file", "'EDITED: show Hubble flows from a file"));
  const edited = await run(['--help']);
  t.ok(edited.fromSource && !edited.compiled, 'an edit: the sources run');
  t.match(edited.stdout, /^ {2}observe +EDITED: show Hubble flows/m, 'with the edit');

  t.equal(build().code, 0);
  const rebuilt = await run(['--help']);
  t.ok(rebuilt.compiled, 'rebuilt: dist/ runs again');
  t.match(rebuilt.stdout, /EDITED: show Hubble flows/, 'with the edit compiled in');

  // A file added with an old mtime is still seen: its folder's mtime changed.
  const added = join(copy, 'lib/hubble/added.ts');
  writeFileSync(added, 'export const added = 1;\n');
  utimesSync(added, new Date(0), new Date(0));
  t.ok((await run(['--version'])).fromSource, 'an added file: the sources run');
  t.equal(build().code, 0);
  t.ok((await run(['--version'])).compiled);
  rmSync(added);
  t.ok((await run(['--version'])).fromSource, 'a removed file: the sources run');
  t.equal(build().code, 0);
  // proto/ is compiled into dist/'s descriptor: an edited proto file makes dist/ stale too.
  const proto = join(copy, 'proto/flow.proto');
  utimesSync(proto, new Date(), new Date(Date.now() + 2000));
  t.ok((await run(['--version'])).fromSource, 'an edited proto: the sources run');
  t.equal(build().code, 0);
  t.notOk(existsSync(join(copy, 'dist/lib/hubble/added.js')), 'the build leaves nothing of a removed source');
  t.ok(statSync(join(copy, 'dist')).isDirectory() && !readdirSync(dirname(join(copy, 'dist'))).some((n) => n.startsWith('dist.')), 'no staging folder left');
});
