// The typecheck as a test file: `npm test` runs it beside the other test files rather than before all of them.
import t from 'tap';
import { execFile } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const tsc = new URL('../node_modules/typescript/bin/tsc', import.meta.url).pathname;

t.test('tsc --noEmit -p . reports no error', async (t) => {
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [tsc, '--noEmit', '-p', root], { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}`.trim() });
    });
  });
  const errors = output.split('\n').filter((l) => /: error TS\d+:/.test(l));
  // The diagnostics as tsc prints them, one per line, under the failure.
  t.equal(code, 0, code === 0 ? 'no error' : `${errors.length} error(s), the first: ${errors[0] ?? output}`, { tsc: output });
});
