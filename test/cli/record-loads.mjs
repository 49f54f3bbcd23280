// Preloaded with `node --import`: appends the URL of every module the process loads to the file named by
// RECORD_LOADS_TO, one per line, so a test can see which modules a command loaded.
import { register } from 'node:module';

const hooks = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (!url.startsWith('node:')) appendFileSync(process.env.RECORD_LOADS_TO, url + '\\n');
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
