// The GitHub workflow parses and says what CI relies on: tests and the lab on every change, once per pull request,
// a read-only token, reports (junit.xml among them) kept, actions pinned to a major version or a commit.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  'timeout-minutes'?: number;
  steps: Step[];
}
interface Workflow {
  on: { push?: { branches?: string[] }; pull_request?: unknown; workflow_dispatch?: unknown };
  permissions: Record<string, string>;
  concurrency: { group: string; 'cancel-in-progress': boolean };
  jobs: Record<string, Job>;
}

const text = readFileSync(new URL('../../.github/workflows/lab.yml', import.meta.url), 'utf8');
const wf = parse(text, { uniqueKeys: true }) as Workflow;

t.test('runs once per change: pushes to main, pull requests, one run per pull request or branch at a time', async (t) => {
  t.same(wf.on.push, { branches: ['main'] }, 'a pushed branch with a pull request is not run twice');
  t.ok('pull_request' in wf.on);
  t.match(wf.concurrency.group, /github\.event\.pull_request\.number \|\| github\.ref/);
  t.equal(wf.concurrency['cancel-in-progress'], true);
});

t.test('the token only reads', async (t) => {
  t.same(wf.permissions, { contents: 'read' });
  for (const [name, job] of Object.entries(wf.jobs)) t.notOk('permissions' in job, `${name} asks for nothing more`);
});

t.test('npm test runs on every change, and the lab keeps its reports', async (t) => {
  const runs = (job: Job) => job.steps.map((s) => s.run ?? '');
  const test = Object.values(wf.jobs).find((j) => runs(j).includes('npm test'));
  t.ok(test, 'a job runs npm test');
  t.notOk(test?.if, 'on every event');
  const lab = wf.jobs.embedded!;
  t.ok(
    runs(lab).some((r) => r.startsWith('npm run lab')),
    'the lab on the embedded cluster',
  );
  const upload = lab.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
  t.equal(upload?.if, 'always()', 'reports are uploaded when the lab fails too');
  t.equal(
    upload?.with?.path,
    lab.steps.find((s) => s.run?.startsWith('npm run lab'))!.run!.match(/--out (\S+)/)?.[1],
    'the folder the lab writes report.md and junit.xml to',
  );
});

t.test('every job has a timeout and every action a major version or a commit', async (t) => {
  for (const [name, job] of Object.entries(wf.jobs)) {
    t.ok(job['timeout-minutes'], `${name} has a timeout`);
    for (const s of job.steps) {
      if (s.uses) t.match(s.uses, /^[\w.-]+\/[\w.-]+@(v\d+|[0-9a-f]{40})$/, `${name}: ${s.uses}`);
      if (s.run) t.notMatch(s.run, /\$\{\{\s*(inputs|github\.event)\./, `${name}: inputs reach the script through env, not spliced in`);
    }
  }
});
