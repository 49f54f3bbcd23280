// kubectl exec, attach and run --rm -i against the embedded cluster, over WebSocket and SPDY: streams, exit codes,
// the container's commands (curl, wget, nslookup, sh, node) in the pod's network, and the Cilium agent's CLIs.
import t from 'tap';
import { spawn } from 'node:child_process';
import { startSimCluster } from '../../../lib/sim/cluster.ts';

const sim = await startSimCluster();
t.teardown(() => sim.stop());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Debian's kubectl against the sim; `websockets: false` makes it speak SPDY, as kubectl before 1.30 did. */
function kubectl(args: string[], opts: { stdin?: string; websockets?: boolean; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env, KUBECONFIG: sim.kubeconfigPath, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: opts.websockets === false ? 'false' : 'true' };
    const p = spawn('kubectl', args, { env, timeout: opts.timeoutMs ?? 60_000 });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(opts.stdin ?? '');
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

await ok(['run', 'web', '--image=nginx:alpine', '--labels=app=web']);
await ok(['expose', 'pod', 'web', '--port=80']);
await ok(['create', 'deployment', 'agent-coordinator', '--image=node:20-alpine', '--', 'sleep', 'infinity']);
await ok(['wait', '--for=condition=ready', 'pod/web', '--timeout=30s']);
await ok(['rollout', 'status', 'deployment/agent-coordinator', '--timeout=30s']);

// Before the first test: an await between tests could let tap end the file before the last one is declared.
const hasScript = await new Promise<boolean>((resolve) =>
  spawn('script', ['--version'])
    .on('error', () => resolve(false))
    .on('close', (code) => resolve(code === 0)),
);

for (const websockets of [true, false]) {
  const how = websockets ? 'WebSocket v5.channel.k8s.io' : 'SPDY/3.1';
  t.test(`kubectl exec over ${how}: stdout, stderr, stdin and the exit code`, async (t) => {
    const echo = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo out $HOSTNAME; cat /missing; exit 3'], { websockets });
    t.equal(echo.code, 3, "kubectl exits with the command's code");
    t.equal(echo.stdout, 'out web\n');
    t.match(echo.stderr, /cat: can't open '\/missing': No such file or directory\ncommand terminated with exit code 3/);

    const piped = await kubectl(['exec', '-i', 'web', '--', 'cat'], { websockets, stdin: 'line one\nline two\n' });
    t.same([piped.code, piped.stdout], [0, 'line one\nline two\n'], 'stdin reaches the process and its end ends it');

    const missing = await kubectl(['exec', 'web', '--', 'ps', 'aux'], { websockets });
    t.equal(missing.code, 127);
    t.match(missing.stderr, 'exec: "ps": executable file not found in $PATH');

    const tty = await kubectl(['exec', '-i', '-t', 'web', '--', 'sh'], { websockets, stdin: 'echo in a shell\nexit 5\n' });
    t.equal(tty.code, 5, 'an interactive shell reads its commands from stdin');
    t.match(tty.stdout, 'in a shell');
  });
}

t.test('exec into a workload: deploy/ and ds/ pick a pod; node runs in node images', async (t) => {
  const node = await kubectl([
    'exec',
    'deploy/agent-coordinator',
    '--',
    'node',
    '-e',
    'console.log(6 * 7, require("os").hostname().startsWith("agent-coordinator-"))',
  ]);
  t.same([node.code, node.stdout], [0, '42 true\n']);
  const noNode = await kubectl(['exec', 'web', '--', 'node', '-e', '1']);
  t.equal(noNode.code, 127, 'nginx has no node');
  const status = await kubectl(['exec', '-n', 'kube-system', 'ds/cilium', '--', 'cilium', 'status']);
  t.equal(status.code, 0);
  t.match(status.stdout, /^KVStore:\s+Disabled$/m);
  t.match(status.stdout, /^Kubernetes:\s+Ok\s+1\.31 \(v1\.31\.0-hubble-lab-sim\)/m);
  t.match(status.stdout, /^Cluster health:\s+3\/3 reachable/m);
});

t.test("bad requests get the kubelet's messages", async (t) => {
  const badContainer = await kubectl(['exec', 'web', '-c', 'nope', '--', 'true']);
  t.equal(badContainer.code, 1);
  t.match(badContainer.stderr, 'container nope is not valid for pod web');
  const noPod = await kubectl(['exec', 'ghost', '--', 'true']);
  t.equal(noPod.code, 1);
  t.match(noPod.stderr, 'pods "ghost" not found');
});

t.test("curl, wget and nslookup in a pod: the cluster DNS, the datapath, and curl's exit codes", async (t) => {
  const code = await kubectl(['exec', 'web', '--', 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', 'http://web.default.svc.cluster.local/']);
  t.same([code.code, code.stdout], [0, '200']);
  const body = await kubectl(['exec', 'web', '--', 'curl', '-s', '-X', 'POST', '-d', 'x=1', '-H', 'X-Test: 1', 'http://web/']);
  t.equal(body.code, 0);
  t.match(body.stdout, '405 Not Allowed', 'the method and body reach nginx');
  const fail = await kubectl(['exec', 'web', '--', 'curl', '-sS', '--fail', 'http://web/missing']);
  t.same([fail.code, fail.stderr.split('\n')[0]], [22, 'curl: (22) The requested URL returned error: 404']);
  const unresolved = await kubectl(['exec', 'web', '--', 'curl', '-sS', 'http://no-such-service']);
  t.same([unresolved.code, unresolved.stderr.split('\n')[0]], [6, 'curl: (6) Could not resolve host: no-such-service']);
  const refused = await kubectl(['exec', 'web', '--', 'curl', '-sS', 'http://web:8080/']);
  t.equal(refused.code, 7);
  t.match(refused.stderr, /^curl: \(7\) Failed to connect to web port 8080 after \d+ ms: Couldn't connect to server/);
  const silent = await kubectl(['exec', 'web', '--', 'curl', '-s', 'http://web:8080/']);
  t.same([silent.code, silent.stderr.split('\n')[0]], [7, 'command terminated with exit code 7'], '-s without -S prints no error');
  const wget = await kubectl(['exec', 'web', '--', 'wget', '-qO-', 'http://web/']);
  t.match([wget.code, wget.stdout], [0, /Welcome to nginx!/]);
  const lookup = await kubectl(['exec', 'web', '--', 'nslookup', 'web']);
  t.equal(lookup.code, 0);
  t.match(lookup.stdout, /^Server:\s+127\.96\.0\.10\n[^]*Name:\tweb\.default\.svc\.cluster\.local\nAddress: 127\.96\.\d+\.\d+\n/);
  const nx = await kubectl(['exec', 'web', '--', 'nslookup', 'nothing-here']);
  t.same([nx.code, /\*\* server can't find nothing-here: NXDOMAIN/.test(nx.stdout)], [1, true]);
});

t.test('kubectl run --rm -i: attached to the command, denied by policy or answered, and no pod left', async (t) => {
  const policy = JSON.stringify({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'web-from-orchestration', namespace: 'default' },
    spec: {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'orchestration' } } }] }],
    },
  });
  const applied = await kubectl(['apply', '--validate=false', '-f', '-'], { stdin: policy });
  t.equal(applied.code, 0, applied.stderr);
  const started = Date.now();
  const denied = await kubectl(['run', 'test-pod', '--image=nginx', '--rm', '-i', '--restart=Never', '--', 'curl', '-sS', '-m', '2', 'http://web/']);
  t.match(denied.stdout + denied.stderr, /curl: \(28\) Connection timed out after 2\d\d\d milliseconds/, 'the SYN is dropped: curl times out');
  t.equal(denied.code, 28, "kubectl exits with the container's code");
  t.ok(Date.now() - started >= 2000);
  const allowed = await kubectl([
    'run',
    'orchestrator',
    '--image=nginx',
    '--rm',
    '-i',
    '--restart=Never',
    '--labels=tier=orchestration',
    '--',
    'curl',
    '-sS',
    '-m',
    '5',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}\\n',
    'http://web/',
  ]);
  t.match(allowed.stdout, /^200$/m, 'an orchestration pod gets an answer');
  t.equal(allowed.code, 0);
  const pods = await ok(['get', 'pods', '-o', 'name']);
  t.notMatch(pods, /test-pod|orchestrator/, '--rm deleted both pods');
  await ok(['delete', 'networkpolicy', 'web-from-orchestration']);
});

t.test("kubectl attach: the running process's output, and its stdin with -i", async (t) => {
  const shell = spawn('kubectl', ['run', 'talk', '--image=busybox', '-i', '--restart=Never', '--', 'sh'], {
    env: { ...process.env, KUBECONFIG: sim.kubeconfigPath },
  });
  let out = '';
  shell.stdout.on('data', (d) => (out += d));
  shell.stdin.write('echo first\n');
  const deadline = Date.now() + 20_000;
  while (!out.includes('first') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.match(out, 'first', 'the shell answers the attached stdin');
  shell.stdin.end('echo second\nexit 4\n');
  const code = await new Promise<number | null>((r) => shell.on('close', r));
  t.match(out, 'second');
  t.equal(code, 4, "run -i with --restart=Never ends with the container's exit code");

  await ok(['run', 'ticker', '--image=busybox', '--restart=Never', '--', 'sh', '-c', 'echo started; sleep 2; echo tick; sleep 1']);
  await ok(['wait', '--for=condition=ready', 'pod/ticker', '--timeout=30s']);
  const attached = await kubectl(['attach', 'ticker']);
  t.match(attached.stdout, 'tick', 'attach streams what the process writes until it exits');
  await ok(['delete', 'pod', 'talk', 'ticker', '--wait=false']);
});

t.test("the Cilium agent pod: cilium status and hubble observe from the agent's own Hubble", async (t) => {
  await ok([
    '-n',
    'kube-system',
    'patch',
    'configmap',
    'cilium-config',
    '--type=merge',
    '-p',
    '{"data":{"enable-hubble":"true","hubble-listen-address":":4244"}}',
  ]);
  await ok(['-n', 'kube-system', 'rollout', 'restart', 'daemonset/cilium']);
  await ok(['-n', 'kube-system', 'rollout', 'status', 'daemonset/cilium', '--timeout=60s']);
  const node = (await ok(['get', 'pod', 'web', '-o', 'jsonpath={.spec.nodeName}'])).trim();
  const agent = (
    await ok([
      '-n',
      'kube-system',
      'get',
      'pods',
      '-l',
      'k8s-app=cilium',
      '--field-selector',
      `spec.nodeName=${node}`,
      '-o',
      'jsonpath={.items[0].metadata.name}',
    ])
  ).trim();
  t.ok(agent, `the agent on ${node}`);
  for (let i = 0; i < 3; i++) await kubectl(['exec', 'web', '--', 'curl', '-s', '-o', '/dev/null', 'http://web/']);
  const status = await kubectl(['exec', '-n', 'kube-system', agent, '--', 'cilium-dbg', 'status']);
  t.equal(status.code, 0);
  t.match(status.stdout, /^Hubble:\s+Ok\s+Current\/Max Flows: [1-9]\d*\/4095 \(\d+\.\d\d%\), Flows\/s: \d+\.\d\d/m);
  const observed = await kubectl(['exec', '-n', 'kube-system', agent, '--', 'hubble', 'observe', '--last', '10', '--to-pod', 'default/web']);
  t.equal(observed.code, 0, observed.stderr);
  t.match(observed.stdout, /default\/web(:\d+)? .*(to-endpoint|FORWARDED)/, "the agent's local flows, printed as hubble prints them");
  const badFlag = await kubectl(['exec', '-n', 'kube-system', agent, '--', 'hubble', 'observe', '--bogus']);
  t.equal(badFlag.code, 2);
  t.match(badFlag.stderr, /bogus/);
});

t.test('kubectl cp: tar over exec, into the container and back out', async (t) => {
  const dir = t.testdir({ 'notes.txt': 'written on the machine\n' });
  const into = await kubectl(['cp', `${dir}/notes.txt`, 'web:/tmp/notes.txt']);
  t.equal(into.code, 0, into.stderr);
  const inside = await kubectl(['exec', 'web', '--', 'cat', '/tmp/notes.txt']);
  t.same([inside.code, inside.stdout], [0, 'written on the machine\n'], 'the file is in the container');
  const out = await kubectl(['cp', 'web:/tmp/notes.txt', `${dir}/back.txt`]);
  t.equal(out.code, 0, out.stderr);
  const { readFile } = await import('node:fs/promises');
  t.equal(await readFile(`${dir}/back.txt`, 'utf8'), 'written on the machine\n', 'and back out');
  // kubectl may exit before it prints tar's message, so only the outcome is certain.
  await kubectl(['cp', 'web:/tmp/none.txt', `${dir}/none.txt`]);
  await t.rejects(readFile(`${dir}/none.txt`), 'a file the container lacks is not written');
  const direct = await kubectl(['exec', 'web', '--', 'tar', 'cf', '-', '/tmp/none.txt']);
  t.equal(direct.code, 2);
  t.match(direct.stderr, 'tar: tmp/none.txt: Cannot stat: No such file or directory\ntar: Exiting with failure status due to previous errors');
});

t.test(
  'kubectl exec -it on a terminal: a prompt, keys echoed and erased, and the exit code',
  { skip: hasScript ? false : 'no script(1) to give kubectl a terminal' },
  async (t) => {
    for (const websockets of [true, false]) {
      // script(1) gives kubectl a terminal, so it asks for a TTY and sends keys as typed, ending lines with \r.
      const p = spawn('script', ['-qfec', 'kubectl exec -it web -- sh', '/dev/null'], {
        env: { ...process.env, KUBECONFIG: sim.kubeconfigPath, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: String(websockets) },
      });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      const until = async (text: string) => {
        const deadline = Date.now() + 20_000;
        while (!out.includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      };
      await until('/ # ');
      p.stdin.write('echo on-a-ttx\x7fy\r');
      await until('on-a-tty\r\n/ # ');
      p.stdin.write('exit 4\r');
      const code = await new Promise<number | null>((r) => p.on('close', r));
      const how = websockets ? 'WebSocket' : 'SPDY';
      t.match(out, '/ # echo on-a-ttx\b \by\r\non-a-tty\r\n/ # exit 4', `${how}: the prompt, the keys echoed, the erase, and \\r\\n line ends`);
      t.equal(code, 4, `${how}: the exit code`);
    }
    // The guide's kubectl run … --rm -it: attached on a terminal, lines as a pty ends them, then the pod is gone.
    const run = spawn('script', ['-qfec', "kubectl run tty-run --image=nginx --rm -it --restart=Never -- sh -c 'sleep 1; echo line1; exit 5'", '/dev/null'], {
      env: { ...process.env, KUBECONFIG: sim.kubeconfigPath },
    });
    let out = '';
    run.stdout.on('data', (d) => (out += d));
    run.stdin.end();
    const code = await new Promise<number | null>((r) => run.on('close', r));
    t.match(out, 'line1\r\n');
    t.equal(code, 5, "kubectl run -it ends with the container's exit code");
    t.notMatch(await ok(['get', 'pods', '-o', 'name']), 'tty-run', 'and --rm deleted the pod');
  },
);
