// What lib/, tasks/, the package's executables and its install-time scripts import from packages is declared in
// dependencies: an install without devDependencies (npm ci --omit=dev) must run the CLI, and a type-only import of a
// devDependency breaks a consumer's tsc as surely.
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Dev-time generators inside lib/ that no command imports, with the devDependency each may use. */
const devOnly: Record<string, string[]> = {
  // `npm run dashboards` writes manifests/grafana/dashboards/*.json; the CLI reads the JSON, never this module.
  'lib/metrics/dashboards.ts': ['@grafana/grafana-foundation-sdk'],
};

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs|js)$/.test(e.name))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** Bare specifiers of static imports, re-exports (type-only ones included) and dynamic imports. */
function packagesImported(text: string): string[] {
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm),
  ].map((m) => (m[1] ?? m[2] ?? m[3])!);
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) =>
      s
        .split('/')
        .slice(0, s.startsWith('@') ? 2 : 1)
        .join('/'),
    );
}

/** What runs when the package is installed: lib/, tasks/ and the executables package.json names. */
/** Scripts npm runs when the package is installed (a build at `prepare`): they run with dependencies only too. */
const installScripts = ['preinstall', 'install', 'postinstall', 'prepare']
  .flatMap((name) => [...(pkg.scripts[name] ?? '').matchAll(/\bnode\s+(\S+\.m?[jt]s)\b/g)].map((m) => m[1]!))
  .filter((f) => existsSync(join(root, f)));

/** What runs when the package is installed: lib/, tasks/, the executables package.json names and its install scripts. */
const runtimeFiles = () => [
  ...new Set([...sources('lib'), ...sources('tasks'), ...[...Object.values(pkg.bin), ...installScripts].map((f) => f.replace(/^\.\//, ''))]),
];

t.test('lib, tasks and the executables import only declared dependencies', async (t) => {
  const files = runtimeFiles();
  t.ok(files.length > 50, `${files.length} files scanned`);
  const wrong: string[] = [];
  for (const file of files) {
    for (const name of packagesImported(readFileSync(join(root, file), 'utf8'))) {
      if (pkg.dependencies[name] || devOnly[file]?.includes(name)) continue;
      wrong.push(`${file}: ${name} (${pkg.devDependencies[name] ? 'a devDependency' : 'not declared'})`);
    }
  }
  t.same(wrong, [], 'every package a runtime file imports is in dependencies');
});

t.test('the scanner sees type-only, multi-line and dynamic imports', async (t) => {
  const text =
    "import type * as grpc from '@grpc/grpc-js';\nimport {\n  a,\n  b,\n} from 'ajv/dist/2020.js';\nconst m = await import('undici');\nimport './side-effect.ts';\nimport x from 'node:fs';\n";
  t.same(packagesImported(text), ['@grpc/grpc-js', 'ajv', 'undici']);
});

t.test('no dependency is declared that nothing at run time imports', async (t) => {
  const used = new Set(runtimeFiles().flatMap((f) => packagesImported(readFileSync(join(root, f), 'utf8'))));
  const unused = Object.keys(pkg.dependencies).filter((name) => !used.has(name));
  t.same(unused, [], 'every dependency has an importer');
});
