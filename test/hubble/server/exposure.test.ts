// Listening beyond loopback is said out loud: which addresses count as loopback, the warning's words, and
// `hubble-lab relay --listen 0.0.0.0:…` printing it (run inside a network namespace of its own, so that the
// port it opens is reachable from nowhere).
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exposureWarning, isLoopbackHost } from '../../../lib/hubble/server/exposure.ts';
import { startObserverServer } from '../../../lib/hubble/server/observer-server.ts';
import { FlowRing } from '../../../lib/hubble/server/ring.ts';
import { RingObserverSource } from '../../../lib/hubble/server/ring-source.ts';
import { hubbleLabBin } from '../../fixtures/cli-process.ts';
import { flowMix } from '../../fixtures/flow-mix.ts';

t.test('loopback addresses', async (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'relay.localhost']) {
    t.ok(isLoopbackHost(host), host);
  }
  for (const host of ['', '0.0.0.0', '::', '10.0.0.5', '192.168.1.2', '::ffff:10.0.0.1', 'fe80::1', 'example.com', '128.0.0.1']) {
    t.notOk(isLoopbackHost(host), host);
  }
});

t.test('the warning names the exposure', async (t) => {
  t.equal(exposureWarning('Hubble Relay', '127.0.0.1', 4245), undefined);
  t.equal(
    exposureWarning('Hubble Relay', '0.0.0.0', 4245),
    'warning: Hubble Relay listens on 0.0.0.0:4245, on every network interface of this machine: anyone who can connect reads every flow it serves (no TLS, no authentication); listen on 127.0.0.1 unless that is what you want',
  );
  t.match(exposureWarning('Hubble Relay', '::', 4245), /listens on \[::\]:4245, on every network interface/);
  t.match(exposureWarning('Hubble Relay', '10.1.2.3', 80), /listens on 10\.1\.2\.3:80, on an address other machines can reach/);
});

t.test('an Observer server on loopback warns of nothing', async (t) => {
  const ring = new FlowRing(7);
  for (const listen of ['127.0.0.1:0', 'localhost:0']) {
    const warnings: string[] = [];
    const server = await startObserverServer(listen, new RingObserverSource(ring, { nodeName: 'n', version: 'v' }), { warn: (l) => warnings.push(l) });
    await server.close();
    t.same(warnings, [], listen);
  }
});

const netns =
  spawnSync('unshare', ['-rn', 'true']).status === 0 ? ['unshare', '-rn'] : spawnSync('unshare', ['-n', 'true']).status === 0 ? ['unshare', '-n'] : undefined;

t.test('hubble-lab relay --listen 0.0.0.0:0 warns on stderr', { skip: netns ? false : 'no network namespace available (unshare)' }, async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'flows.jsonl');
  writeFileSync(
    file,
    flowMix(10, { seed: 61 })
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  const [cmd, ...pre] = netns!;
  const child = spawn(cmd!, [...pre, process.execPath, hubbleLabBin, 'relay', '--input', file, '--listen', '0.0.0.0:0'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  t.teardown(() => {
    clearTimeout(kill);
    child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (/serving until interrupted/.test(stdout) || child.exitCode !== null) {
        clearInterval(poll);
        resolve();
      }
    }, 20);
  });
  t.match(stdout, /serving .* on 0\.0\.0\.0:\d+ /);
  t.match(
    stderr,
    /^hubble-lab relay: warning: Hubble Relay listens on 0\.0\.0\.0:\d+, on every network interface of this machine: anyone who can connect reads every flow it serves/m,
  );
});
