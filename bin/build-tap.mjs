#!/usr/bin/env node
// Builds tap's test runtime with the plugins .taprc names (the suite leaves out tap's TypeScript plugin: its tests run
// through tsx), at install time (`prepare`). Left to `tap`, that rebuild happens at the start of the first run, after
// the runner has read the loaders of the build it found: that whole first run then loads ts-node's loader into every
// test process besides tsx, and takes about twice as long. Without tap (npm install --omit=dev) there is nothing to do.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tapPackage = join(root, 'node_modules', 'tap', 'package.json');
if (existsSync(tapPackage)) {
  const bin = join(dirname(tapPackage), JSON.parse(readFileSync(tapPackage, 'utf8')).bin.tap);
  const r = spawnSync(process.execPath, [bin, 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`hubble-lab: tap build failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})\n`);
    process.exit(1);
  }
}
