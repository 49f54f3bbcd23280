// Where the compiled CLI lives and whether it may run: dist/ is used only when no source it was built from has
// changed since, so an edited .ts file is never run stale. Plain JavaScript: it runs before any TypeScript loader.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const rootDir = fileURLToPath(new URL('..', import.meta.url));
export const distDir = join(rootDir, 'dist');
/** Written last by the build: the time (ms since the epoch) at which it started reading the sources. */
export const stampFile = join(distDir, '.built-from-sources-at');
/** What dist/ is compiled or copied from. bin/, manifests/ and package.json are linked: never stale. */
export const sourceDirs = ['lib', 'tasks'].map((dir) => join(rootDir, dir));
/** proto/ is linked too, but also read into dist/'s protobuf descriptor (lib/hubble/grpc/protos.json): it can be. */
const builtFromDirs = [...sourceDirs, join(rootDir, 'proto')];
/** The build bundles @kubernetes/client-node into dist/vendor/: a different version installed makes dist/ stale. */
export const sourceFiles = [join(rootDir, 'tsconfig.json'), join(rootDir, 'node_modules', '@kubernetes', 'client-node', 'package.json')];

/**
 * True when a file or folder of the sources changed after `since` (ms). A folder's mtime changes when a file in it
 * is added, removed or renamed, so those are seen as well as edits. Stops at the first change.
 */
export function sourcesChangedSince(since) {
  const changed = (dir) => {
    if (statSync(dir).mtimeMs > since) return true;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() ? changed(path) : statSync(path).mtimeMs > since) return true;
    }
    return false;
  };
  // A file that is not there (client-node removed: dist/ has its own copy) changes nothing.
  return sourceFiles.some((file) => (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) > since) || builtFromDirs.some(changed);
}

/** The compiled CLI's entry point (a file URL) when dist/ is complete and newer than every source, else undefined. */
export function freshCompiledCli() {
  let builtAt;
  try {
    builtAt = Number(readFileSync(stampFile, 'utf8'));
  } catch {
    return undefined; // never built, or a new build is being swapped in
  }
  if (!Number.isFinite(builtAt) || sourcesChangedSince(builtAt)) return undefined;
  return pathToFileURL(join(distDir, 'lib', 'cli.js'));
}
