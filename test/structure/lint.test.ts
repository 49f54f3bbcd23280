// The linter as a test file: `npm test` runs it beside the other test files (eslint.config.js says which rules).
// Its cache (node_modules/.cache/eslint) makes a run after a small change re-lint only the files that changed.
import t from 'tap';
import { execFile } from 'node:child_process';
import { relative } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const eslint = new URL('../../node_modules/eslint/bin/eslint.js', import.meta.url).pathname;

interface FileResult {
  filePath: string;
  messages: { line: number; column: number; message: string; ruleId: string | null }[];
}

t.test('eslint reports no problem', async (t) => {
  const args = [eslint, '--cache', '--cache-location', 'node_modules/.cache/eslint/', '--max-warnings', '0', '--format', 'json', '.'];
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, args, { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
  // One problem a line (file:line:column: message [rule]), all of them under the failure.
  let problems: string[] = [];
  try {
    problems = (JSON.parse(stdout) as FileResult[]).flatMap((f) =>
      f.messages.map((m) => `${relative(root, f.filePath)}:${m.line}:${m.column}: ${m.message} [${m.ruleId ?? 'parse'}]`),
    );
  } catch {
    problems = [`${stdout}${stderr}`.trim()];
  }
  t.equal(code, 0, code === 0 ? 'no problem' : `eslint exited ${code}, ${problems.length} problem(s), the first: ${problems[0] ?? stderr.trim()}`, {
    problems,
  });
});
