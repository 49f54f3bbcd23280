// `hubble-lab run` as a user and a machine see it, on a fresh embedded cluster started here: a task file run alone
// prints and exits as `run <id>`; a dry run plans every step of a cluster with nothing deployed; --json writes only
// JSON lines, the last one how the run ended and where its report is; analyze alone reports the latest run's flows.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { labTasks } from '../../tasks/index.ts';
import { concurrencyLimit, hubbleLabBin, type CliResult } from '../fixtures/cli-process.ts';
import { buildScenario } from '../fixtures/scenario.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** The `tsx` command npx runs. */
const tsxCli = fileURLToPath(import.meta.resolve('tsx/cli'));

/** A process as a user starts it, in `cwd`; killed (code -1) if it does not end in time. */
function run(args: string[], cwd = root, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, CI: 'true', NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

// The runs that deploy nothing are independent of each other: they go side by side, a few at a time.
const slot = concurrencyLimit(4);
const hubbleLab = (args: string[], cwd?: string) => slot(() => run([hubbleLabBin, ...args], cwd));
/** `npx tsx tasks/<file> ARGS`, as the README says a task runs alone. */
const taskFile = (file: string, args: string[]) => slot(() => run([tsxCli, join('tasks', file), ...args]));

/** A temporary folder removed when `t` ends. */
function tempDir(t: Test, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Output with its timings taken out, to compare two runs of the same plan. */
const untimed = (text: string) => text.replace(/ \d+(\.\d+)?m?s$/gm, ' <time>').replace(/in [\d.]+s/g, 'in <time>');

function jsonLines(t: Test, stdout: string): Record<string, unknown>[] {
  const lines = stdout.split('\n').filter((l) => l !== '');
  const events: Record<string, unknown>[] = [];
  for (const line of lines) {
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      t.fail(`not a JSON line on stdout: ${line}`);
    }
  }
  return events;
}

t.test('on a fresh embedded cluster', async (t) => {
  const sim = await startSimCluster({});
  t.teardown(() => sim.stop());
  const kubeconfig = ['--kubeconfig', sim.kubeconfigPath];

  // Everything before the whole run deploys nothing, so it all starts at once. analyze alone reads the latest run's
  // flows of the folder it runs in: one with no run, and two alike, one for its human and one for its --json output.
  const noRun = tempDir(t, 'lab-analyze-');
  const [human, json] = [tempDir(t, 'lab-analyze-'), tempDir(t, 'lab-analyze-')];
  const flows = buildScenario({ seed: 7 }).lines.join('\n') + '\n';
  const older = join('reports', '2026-12-07T10-00-00-000Z');
  const latest = join('reports', '2026-12-07T11-30-00Z');
  for (const cwd of [human, json]) {
    for (const dir of [older, latest]) mkdirSync(join(cwd, dir), { recursive: true });
    writeFileSync(join(cwd, older, 'flows.jsonl'), '');
    writeFileSync(join(cwd, latest, 'flows.jsonl'), flows);
    // A later folder without flows (a setup-only run) is not the one read.
    mkdirSync(join(cwd, 'reports', '2026-12-07T12-00-00-000Z'));
  }
  // A run that is not a dry run holds the cluster's lease: the analyze runs go one after the other.
  const analyzeRuns = (async () => {
    const none = await hubbleLab(['run', 'analyze', ...kubeconfig], noRun);
    const res = await hubbleLab(['run', 'analyze', ...kubeconfig], human);
    return [none, res, await hubbleLab(['run', 'analyze', '--json', ...kubeconfig], json)] as const;
  })();
  const undeployed = Promise.all([
    taskFile('04-deploy-demo.ts', ['--dry-run', ...kubeconfig]),
    hubbleLab(['run', 'deploy-demo', '--dry-run', ...kubeconfig]),
    taskFile('04-deploy-demo.ts', ['--scenario', 'nope', ...kubeconfig]),
    hubbleLab(['run', 'deploy-demo', '--scenario', 'nope', ...kubeconfig]),
    hubbleLab(['run', '--dry-run', '--json', ...kubeconfig]),
    analyzeRuns,
  ]);

  t.test('a task file run alone prints and exits as hubble-lab run <id>', async (t) => {
    const [alone, viaRun, badAlone, badRun] = await undeployed;
    t.equal(alone.code, 0, `exit 0\n${alone.stdout}\n${alone.stderr}`);
    t.equal(alone.code, viaRun.code, 'same exit code');
    t.match(alone.stdout, /would create Deployment genai-network-demo\/agent-coordinator/);
    t.equal(untimed(alone.stdout), untimed(viaRun.stdout), 'same output');

    t.equal(badAlone.code, 2, 'a usage error exits 2');
    t.equal(badAlone.code, badRun.code, 'as run does');
    t.equal(badAlone.stderr, badRun.stderr, 'with the same message');
    t.match(badAlone.stderr, /--scenario: unknown scenario "nope"/);
  });

  t.test('--dry-run --json plans every task of a cluster with nothing deployed, in JSON lines only', async (t) => {
    const res = (await undeployed)[4];
    t.equal(res.code, 0, `exit 0\n${res.stdout}\n${res.stderr}`);
    const events = jsonLines(t, res.stdout);
    const ends = events.filter((e) => e.event === 'task-end');
    t.same(
      ends.map((e) => e.id),
      labTasks.map((task) => task.id),
      'every task, in order',
    );
    t.same([...new Set(ends.map((e) => e.outcome))], ['planned'], 'each one planned');
    t.ok(
      events.some((e) => e.event === 'info' && /kube-system\/hubble-relay \(not created yet: deploy-hubble creates it\)/.test(String(e.line))),
      'wait plans for the Deployments the earlier tasks would create',
    );
    t.match(events.at(-1), { event: 'finished', exitCode: 0 }, 'the closing line is JSON');
  });

  t.test('a whole run with --json writes JSON lines only, the last one its verdict and report', async (t) => {
    const out = tempDir(t, 'lab-json-');
    const res = await hubbleLab(['run', '--json', '--duration', '4s', '--out', out, ...kubeconfig]);
    t.equal(res.code, 0, `exit 0\n${res.stdout}\n${res.stderr}`);
    const events = jsonLines(t, res.stdout);
    const ends = events.filter((e) => e.event === 'task-end');
    t.same(
      ends.map((e) => e.id),
      labTasks.map((task) => task.id),
      'every task, in order',
    );
    t.same(
      ends.filter((e) => e.outcome !== 'done' && e.outcome !== 'unchanged'),
      [],
      'each one done (or already as intended)',
    );
    t.match(events.at(-1), { event: 'finished', verdict: 'PASS', exitCode: 0, report: join(out, 'report.md') });
    t.match(readFileSync(join(out, 'report.md'), 'utf8'), /^# ✅ PASS/);
  });

  t.test("analyze alone reports the latest run's flows.jsonl and ends with where its report is", async (t) => {
    const [none, res, jsonRes] = (await undeployed)[5];
    t.equal(none.code, 2, 'no earlier run: exit 2');
    t.match(none.stderr, /no flows to analyze: this run collected none and no earlier run left a reports\/<time>\/flows\.jsonl/);

    t.ok([0, 1, 3].includes(res.code), `exits with the verdict's code (${res.code})\n${res.stdout}\n${res.stderr}`);
    t.match(res.stdout, `reading the latest run's flows: ${join(latest, 'flows.jsonl')}`);
    const reportLine = /^report: (reports\/[^/]+\/report\.md)$/m.exec(res.stdout.trimEnd().split('\n').at(-1)!);
    t.ok(reportLine, `the run ends with where its report is\n${res.stdout}`);
    const report = JSON.parse(readFileSync(join(human, reportLine![1]!.replace(/report\.md$/, 'report.json')), 'utf8'));
    t.equal(report.input.source, join(latest, 'flows.jsonl'), "the report's source is the file read");
    t.ok(report.totals.flows > 100, `${report.totals.flows} flows analysed`);
    const verdict = /lab finished in [\d.]+s: (\w+)/.exec(res.stdout)?.[1];
    t.equal(verdict, report.compliance.status, "the verdict printed is the report's");

    t.equal(jsonRes.code, res.code, 'the same exit code with --json');
    const last = jsonLines(t, jsonRes.stdout).at(-1);
    t.match(last, { event: 'finished', verdict: report.compliance.status, exitCode: res.code, report: /^reports\/[^/]+\/report\.md$/ });
  });
});
