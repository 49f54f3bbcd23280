// The formatter as a test file: `npm test` fails on a file prettier would change (.prettierrc says how, and
// .prettierignore what it leaves alone); `npm run format` rewrites them.
import t from 'tap';
import { execFile } from 'node:child_process';

const root = new URL('../..', import.meta.url).pathname;
const prettier = new URL('../../node_modules/prettier/bin/prettier.cjs', import.meta.url).pathname;

t.test('prettier would change no file', async (t) => {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [prettier, '--list-different', '--cache', '--cache-location', 'node_modules/.cache/prettier/cache', '.'],
      { cwd: root, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
  const files = stdout.split('\n').filter(Boolean);
  t.equal(
    code,
    0,
    code === 0 ? 'every file is formatted' : `${files.length} file(s) not formatted (run npm run format), the first: ${files[0] ?? stderr.trim()}`,
    { files },
  );
});
