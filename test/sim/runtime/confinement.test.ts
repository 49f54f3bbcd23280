// Pod processes are confined: a script that tries to read the sim's files, other processes' command lines or the
// machine's, to write outside its volumes, or to start processes or workers that would leave the datapath, is refused;
// its own volumes work. The shell's own readers (cat, ls) stay inside the container's files too.
import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createPodRuntime } from '../../../lib/sim/runtime/index.ts';
import { FakeCluster, logLines, podSpec, terminated, waitForStatus } from './helpers.ts';
import { fileTempDir } from '../../fixtures/temp-dir.ts';

const rt = await createPodRuntime({ shutdownGraceMs: 200 });
t.teardown(() => rt.shutdown());

// Stands for the sim's kubeconfig with its token: a file of the machine, outside every pod.
const simDir = fileTempDir('hubble-lab-confinement-');
const secret = join(simDir, 'kubeconfig');
writeFileSync(secret, 'token: sim-admin-token\n');
const escapee = join(tmpdir(), `hubble-lab-escape-${process.pid}`);

const attempt = `
import fs from 'node:fs';
import cp from 'node:child_process';
import { Worker } from 'node:worker_threads';
const out = {};
const tryIt = (name, fn) => { try { out[name] = fn() ?? 'ok'; } catch (err) { out[name] = err.code ?? err.message; } };
tryIt('simKubeconfig', () => fs.readFileSync(process.argv[2], 'utf8'));
tryIt('otherCommandLines', () => fs.readFileSync('/proc/1/cmdline', 'utf8'));
tryIt('hostFiles', () => fs.readdirSync('/etc').length);
tryIt('hostTmp', () => fs.writeFileSync(process.argv[3], 'escaped'));
tryIt('spawn', () => String(cp.execFileSync('/bin/sh', ['-c', 'cat ' + process.argv[2]])));
tryIt('worker', () => { new Worker('1', { eval: true }); });
tryIt('binding', () => { process.binding('fs'); });
tryIt('ownVolume', () => fs.readFileSync(new URL('./settings.txt', import.meta.url), 'utf8').trim());
tryIt('ownEmptyDir', () => { fs.writeFileSync('data/out.txt', 'written'); return fs.readFileSync('data/out.txt', 'utf8'); });
console.log(JSON.stringify(out));
`;

t.test('a pod script that tries to leave its container is refused; its own volumes work', async (t) => {
  const cluster = new FakeCluster();
  cluster.configMaps.set('default/attempt', { 'attempt.mjs': attempt, 'settings.txt': 'mine\n' });
  const pod = rt.start(
    podSpec('intruder', '127.244.1.40', {
      restartPolicy: 'Never',
      volumes: [
        { name: 'code', configMap: { name: 'attempt' } },
        { name: 'data', emptyDir: {} },
      ],
      containers: [
        {
          name: 'main',
          image: 'node:20-alpine',
          // The two arguments name the machine's files outright; the script reaches its own files relative to itself
          // and to its working directory (/), as scripts in the sim do.
          command: ['node', '/config/attempt.mjs', secret, escapee],
          volumeMounts: [
            { name: 'code', mountPath: '/config' },
            { name: 'data', mountPath: '/data' },
          ],
        },
      ],
    }),
    cluster,
  );
  const [status] = await waitForStatus(pod, terminated, 15_000);
  const lines = await logLines(pod);
  t.equal(status?.state.state === 'terminated' && status.state.exitCode, 0, lines.join('\n'));
  const result = JSON.parse(lines.at(-1)!);
  t.same(result, {
    simKubeconfig: 'ERR_ACCESS_DENIED',
    otherCommandLines: 'ERR_ACCESS_DENIED',
    hostFiles: 'ERR_ACCESS_DENIED',
    hostTmp: 'ERR_ACCESS_DENIED',
    spawn: 'ERR_ACCESS_DENIED',
    worker: 'ERR_ACCESS_DENIED',
    binding: 'ERR_ACCESS_DENIED',
    ownVolume: 'mine',
    ownEmptyDir: 'written',
  });
  t.notOk(existsSync(escapee), 'nothing was written outside the pod');
});

t.test("exec'd commands read only the container's files", async (t) => {
  const pod = rt.start(
    podSpec('reader', '127.244.1.41', { containers: [{ name: 'c', image: 'busybox:1.36', command: ['sleep', 'infinity'] }] }),
    new FakeCluster(),
  );
  await waitForStatus(pod, (s) => s.every((c) => c.state.state === 'running'));
  const run = async (command: string[]) => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d) => (out += d));
    stderr.on('data', (d) => (err += d));
    const code = await pod.exec!(undefined, command, { stdout, stderr });
    return { code, out, err };
  };
  const cat = await run(['cat', secret]);
  t.same([cat.code, cat.out], [1, ''], "an absolute path is the container's, where there is no such file");
  t.match(cat.err, `cat: can't open '${secret}': No such file or directory`);
  const climb = await run(['cat', `../../../../../../../..${secret}`]);
  t.same([climb.code, climb.out], [1, ''], 'no climbing out with ..');
  const script = await run(['sh', secret]);
  t.equal(script.code, 2, "sh FILE reads the container's file too");
  const curl = await run(['sh', '-c', `curl -s -o ${escapee} http://127.244.1.41:1/`]);
  t.equal(curl.code, 7);
  t.notOk(existsSync(escapee));
});
