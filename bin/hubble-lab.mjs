#!/usr/bin/env node
// The hubble-lab command. It runs the CLI compiled into dist/ (`npm run build`, which `npm install` runs) when that
// build is newer than every source, and otherwise the TypeScript sources through tsx: an edited source is never run
// stale, and a checkout that was never built still works. HUBBLE_LAB_FROM_SOURCE=1 always runs the sources.
import { freshCompiledCli } from './dist.mjs';

let cli = process.env.HUBBLE_LAB_FROM_SOURCE === '1' ? undefined : freshCompiledCli();
if (!cli) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = new URL('../lib/cli.ts', import.meta.url);
}
const { main } = await import(cli);
process.exitCode = await main(process.argv.slice(2));
