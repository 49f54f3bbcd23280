// Imports go one way: bin → lib/cli → lib/commands → tasks/index.ts (the registry) → tasks/* → lib/*. madge reads
// the import graph of lib/, tasks/ and bin/ (static, dynamic and type-only imports alike, `.ts` specifiers resolved
// through tsconfig.json): it must hold no cycle, and lib/ outside the CLI and its commands never imports tasks/.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface MadgeResult {
  obj(): Record<string, string[]>;
  circular(): string[][];
  warnings(): { skipped: string[] };
}
interface MadgeOptions {
  baseDir: string;
  fileExtensions: string[];
  tsConfig: string;
}
const madge = createRequire(import.meta.url)('madge') as (paths: string[], options: MadgeOptions) => Promise<MadgeResult>;

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsConfig = join(root, 'tsconfig.json');

function graphOf(dir: string, paths: string[]): Promise<MadgeResult> {
  return madge(paths, { baseDir: dir, fileExtensions: ['ts', 'mjs'], tsConfig });
}

/** lib/cli.ts, lib/cli/* and lib/commands/* may import the registry; the rest of lib/ is below the tasks. */
const isCliSide = (file: string) => file.startsWith('lib/commands/') || /^lib\/cli(\.ts$|\/)/.test(file);

/** Imports of a command module from below the CLI, each with why it is not a layer break. */
const commandImports: Record<string, { imports: string; why: string }> = {
  'lib/sim/hubble/cilium-cli.ts': {
    imports: 'lib/commands/observe.ts',
    why: "the embedded agents' `hubble observe` is hubble-lab's observe, which imports nothing of the sim",
  },
};

/** The repository's graph, read once for the tests that look at it. */
let repoGraph: Promise<MadgeResult> | undefined;
const repo = () => (repoGraph ??= graphOf(root, ['lib', 'tasks', 'bin']));

t.test('lib, tasks and bin import each other without a cycle', async (t) => {
  const graph = await repo();
  const files = Object.keys(graph.obj());
  t.ok(files.includes('tasks/index.ts') && files.includes('lib/cli.ts') && files.length > 100, `${files.length} files read`);
  // Every relative import was resolved: what madge skipped are packages only.
  t.same(
    graph.warnings().skipped.filter((s) => s.startsWith('.') || s.startsWith('/')),
    [],
    'no local import left unresolved',
  );
  // The CLI loads its commands with import(): dynamic imports are edges of the graph.
  const loadsRun = Object.entries(graph.obj()).some(
    ([file, deps]) => isCliSide(file) && !file.startsWith('lib/commands/') && deps.includes('lib/commands/run.ts'),
  );
  t.ok(loadsRun, "the CLI's dynamic import of the run command is read");
  t.same(
    graph.circular().map((cycle) => cycle.join(' → ')),
    [],
    'no import cycle',
  );
});

t.test('lib/ below the CLI imports neither tasks/ nor the CLI; tasks/ do not import the CLI', async (t) => {
  const graph = (await repo()).obj();
  const wrong: string[] = [];
  for (const [file, deps] of Object.entries(graph)) {
    for (const dep of deps) {
      const fromLib = file.startsWith('lib/') && !isCliSide(file);
      if (fromLib && dep.startsWith('tasks/')) wrong.push(`${file} imports ${dep}`);
      if ((fromLib || file.startsWith('tasks/')) && isCliSide(dep) && commandImports[file]?.imports !== dep) wrong.push(`${file} imports ${dep}`);
    }
  }
  t.same(wrong, [], 'imports go bin → lib/cli → lib/commands → tasks → lib');
  t.ok(graph['lib/commands/run.ts']?.includes('tasks/index.ts'), 'run takes its tasks from the registry');
  const taskFiles = Object.keys(graph).filter((f) => /^tasks\/\d\d-.*\.ts$/.test(f));
  t.ok(taskFiles.length >= 10, `${taskFiles.length} task files`);
  t.same(
    taskFiles.filter((f) => graph[f]?.includes('tasks/index.ts')),
    [],
    'no task file imports the registry',
  );
});

t.test('the check sees cycles closed by a type-only import and by a dynamic import between .ts files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'import-cycle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.ts'), "import { b } from './b.ts';\nexport interface A { n: number }\nexport const a = b + 1;\n");
  writeFileSync(join(dir, 'b.ts'), "import type { A } from './a.ts';\nexport const b = 1;\nexport const shape: A | undefined = undefined;\n");
  writeFileSync(join(dir, 'c.ts'), "export const c = async () => (await import('./d.ts')).d;\n");
  writeFileSync(join(dir, 'd.ts'), "import { c } from './c.ts';\nexport const d = c;\n");
  const graph = await graphOf(dir, [dir]);
  t.same(
    graph.circular().map((cycle) => [...cycle].sort().join(' ')),
    ['a.ts b.ts', 'c.ts d.ts'],
    'both cycles found',
  );
});
