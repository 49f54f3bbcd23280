#!/usr/bin/env node
// Compiles lib/ and tasks/ into dist/ (`npm run build`; `npm install` runs it as `prepare`), so that the hubble-lab
// command starts without transpiling TypeScript on every run.
//
// Each .ts file becomes one .js file at the same place under dist/, with its relative imports' .ts written as .js:
// the layout mirrors the sources, so every `new URL('../x', import.meta.url)` finds what it finds from source.
// The transpiler is esbuild, the one tsx runs the sources with, so compiled and source runs behave the same.
// Other files under lib/ and tasks/ (plain .mjs the sim starts in pods, JSON schemas) are copied; bin/, manifests/,
// proto/ and package.json are links to the originals, and proto/ is also read into a protobuf JSON descriptor
// (lib/hubble/grpc/protos.json). The build is written beside dist/ and swapped in whole, with its stamp last:
// bin/hubble-lab.mjs runs dist/ only when the stamp is newer than every source (bin/dist.mjs).
//
// One package is bundled: @kubernetes/client-node, into dist/vendor/client-node/. Node loads it from node_modules as
// some 900 modules, ~0.4 s of CPU at every start of a command that talks to a cluster; as one bundle ~0.1 s. Its
// entry points (the package and the files lib/ imports from its dist/) share one chunk, so each class is one class.
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, version as esbuildVersion } from 'esbuild';
import { distDir, rootDir, sourceDirs, stampFile } from './dist.mjs';

const startedAt = Date.now();
const staging = `${distDir}.building-${process.pid}`;
const linked = ['bin', 'manifests', 'proto', 'package.json'];

function walk(dir, files = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, files);
    else files.push(path);
  }
  return files;
}

const sources = sourceDirs.flatMap((dir) => walk(dir));
const entryPoints = sources.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
const copied = sources.filter((f) => !entryPoints.includes(f));

/**
 * Every relative import stays an import of its own file (nothing is bundled), with .ts written as .js. JSON is the
 * exception: esbuild would drop the `with { type: 'json' }` an import of it needs, so it is inlined instead.
 */
const keepModules = {
  name: 'keep-modules',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind === 'entry-point' || args.path.endsWith('.json')) return undefined;
      return { path: args.path.replace(/\.ts$/, '.js'), external: true };
    });
  },
};

const vendored = '@kubernetes/client-node';
const vendorDir = join('vendor', 'client-node');
/** The bundle's entry points by name (`index`, `dist/serializer`, …): what lib/ and tasks/ import of the package. */
const vendorEntries = new Map();
/** An import of the package becomes an import of its entry point in the bundle, relative to the importing module. */
const useVendored = {
  name: 'use-vendored',
  setup(b) {
    b.onResolve({ filter: /^@kubernetes\/client-node(\/.*)?$/ }, (args) => {
      const sub = args.path.slice(vendored.length + 1).replace(/\.js$/, '');
      const name = sub === '' ? 'index' : sub;
      vendorEntries.set(name, args.path);
      let path = relative(dirname(relative(rootDir, args.importer)), join(vendorDir, `${name}.js`));
      if (!path.startsWith('.')) path = `./${path}`;
      return { path, external: true };
    });
  },
};

rmSync(staging, { recursive: true, force: true });
const result = await build({
  absWorkingDir: rootDir,
  entryPoints,
  outdir: staging,
  outbase: rootDir,
  bundle: true,
  packages: 'external',
  plugins: [useVendored, keepModules],
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  write: false,
  logLevel: 'warning',
});
// A module a worker thread or child process starts is named by URL, which esbuild leaves alone.
const tsUrl = /new URL\((["'])(\.{1,2}\/[^"']*)\.ts\1, import\.meta\.url\)/g;
for (const file of result.outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, file.path.endsWith('.js') ? file.text.replace(tsUrl, 'new URL($1$2.js$1, import.meta.url)') : file.contents);
}
// Bundled again only when what goes in changed: the package's version, its entry points or these options.
const vendorOptions = {
  absWorkingDir: rootDir,
  entryPoints: [...vendorEntries].sort().map(([out, spec]) => ({ in: spec, out })),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Its CommonJS dependencies require Node's modules.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  // Whitespace and syntax only: names stay, as in the package (the generated models are mostly comments).
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  logLevel: 'warning',
};
if (vendorEntries.size > 0) {
  const { version } = JSON.parse(readFileSync(join(rootDir, 'node_modules', vendored, 'package.json'), 'utf8'));
  const key = JSON.stringify({ version, esbuild: esbuildVersion, ...vendorOptions });
  const keyFile = '.bundled-from';
  const previous = join(distDir, vendorDir);
  const reusable = existsSync(join(previous, keyFile)) && readFileSync(join(previous, keyFile), 'utf8') === key;
  if (reusable) cpSync(previous, join(staging, vendorDir), { recursive: true });
  else {
    await build({ ...vendorOptions, outdir: join(staging, vendorDir) });
    writeFileSync(join(staging, vendorDir, keyFile), key);
  }
}
for (const file of copied) {
  const to = join(staging, relative(rootDir, file));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(file, to);
}
for (const name of linked) symlinkSync(join('..', name), join(staging, name), name === 'package.json' ? 'file' : 'junction');
// The Hubble protos as protobufjs' JSON descriptor, which the compiled CLI reads instead of parsing proto/ at each start.
const protos = await import(pathToFileURL(join(staging, 'lib/hubble/grpc/protos.js')).href);
writeFileSync(fileURLToPath(protos.descriptorFile), JSON.stringify(protos.loadProtoFiles().toJSON()));
writeFileSync(join(staging, relative(distDir, stampFile)), String(startedAt));

const old = `${distDir}.old-${process.pid}`;
try {
  renameSync(distDir, old);
} catch (err) {
  if (err.code !== 'ENOENT') throw err;
}
renameSync(staging, distDir);
rmSync(old, { recursive: true, force: true });
process.stderr.write(`hubble-lab: compiled ${entryPoints.length} modules into ${relative(process.cwd(), distDir) || '.'} in ${Date.now() - startedAt} ms\n`);
