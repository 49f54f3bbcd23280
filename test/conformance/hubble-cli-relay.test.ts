// The official hubble CLI against `hubble-lab relay`: status, nodes, and observe --server with every selector and the
// Go peer's filter sets, each equal to `hubble-lab observe --input-file` on the same file, flow for flow.
import t, { type Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../lib/cli.ts';
import type { GetFlowsResponse } from '../../lib/flows/types.ts';
import { synthResponses } from '../fixtures/synth.ts';
import { captureIO } from '../fixtures/cli-io.ts';
import { hubbleLabBin } from '../fixtures/cli-process.ts';
import { cilium113Export, hubbleCliOrSkip, inBatches, runHubble, type HubbleRun } from '../fixtures/hubble-cli.ts';

const lines = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));
const isFlow = (line: string) => line.startsWith('{"flow"');

async function hubbleLab(args: string[]): Promise<HubbleRun> {
  const c = captureIO({ stdin: Readable.from([]) });
  const code = await main(['observe', ...args], c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

/** `hubble-lab relay` in-process on a free port; resolves with its address once it says it is ready. */
async function startRelay(t: Test, file: string): Promise<{ address: string; output: () => string }> {
  const stop = new AbortController();
  const c = captureIO({ signal: stop.signal });
  const exit = main(['relay', '--input', file, '--listen', '127.0.0.1:0'], c.io);
  t.teardown(async () => {
    stop.abort();
    await exit;
  });
  const deadline = Date.now() + 30_000;
  while (!/serving until interrupted/.test(c.out())) {
    if (Date.now() > deadline) throw new Error(`relay did not load ${file}: ${c.out()} ${c.err()}`);
    await Promise.race([exit.then((code) => Promise.reject(new Error(`relay exited ${code}: ${c.err()}`))), new Promise((r) => setTimeout(r, 20))]);
  }
  return { address: / on (127\.0\.0\.1:\d+) /.exec(c.out())![1]!, output: c.out };
}

/** Through Relay, --first/--last N count per node: the flows of `all` each node contributes, in stream order. */
function perNode(all: string[], n: number, first: boolean): string[] {
  const byNode = new Map<string, string[]>();
  for (const line of all) {
    const node = (JSON.parse(line) as GetFlowsResponse).flow!.node_name!;
    byNode.set(node, [...(byNode.get(node) ?? []), line]);
  }
  const keep = new Set<string>();
  for (const ls of byNode.values()) for (const l of first ? ls.slice(0, n) : ls.slice(-n)) keep.add(l);
  return all.filter((l) => keep.has(l));
}

function sameLines(t: Test, got: string[], want: string[], what: string): void {
  const i = got.findIndex((g, k) => g !== want[k]);
  if (i === -1 && got.length === want.length) t.ok(want.length > 0, `${what}: ${want.length} flows, identical`);
  else t.fail(`${what}: ${got.length} flows against ${want.length}`, { diagnostic: true, index: i, got: got[i]?.slice(0, 300), want: want[i]?.slice(0, 300) });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });

function tests(bin: string): void {
  const dir = t.testdir({});
  // v0.11.6 prints neither lost events nor SCTP ports (see hubble-cli-offline): an export without them.
  const records = cilium113Export(1500).filter((r) => !r.lost_events && !r.flow?.l4?.SCTP);
  const file = join(dir, 'cilium-1.13.jsonl');
  writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const flows = records.filter((r) => r.flow);
  const nodes = [...new Set(flows.map((r) => r.flow!.node_name!))].sort();

  t.test('hubble status and hubble list nodes: every node of the file, connected, with its flows', async (t) => {
    const relay = await startRelay(t, file);
    for (let i = 0; i < 2; i++) {
      const status = await runHubble(bin, ['status', '--server', relay.address]);
      t.equal(status.code, 0, status.stderr);
      t.match(
        status.stdout,
        new RegExp(
          `^Healthcheck \\(via ${relay.address}\\): Ok\\nCurrent/Max Flows: ${flows.length.toLocaleString('en-US')}/65,535 \\(\\d+\\.\\d\\d%\\)\\n` +
            `Flows/s: \\S+\\nConnected Nodes: ${nodes.length}/${nodes.length}\\n$`,
        ),
        'healthy, all flows, every node connected',
      );
    }
    const list = await runHubble(bin, ['list', 'nodes', '--server', relay.address]);
    t.equal(list.code, 0, list.stderr);
    const [header, ...rows] = lines(list.stdout);
    t.match(header, /^NAME\s+STATUS\s+AGE\s+FLOWS\/S\s+CURRENT\/MAX-FLOWS$/);
    t.same(
      rows.map((r) => r.split(/\s+/)[0]),
      nodes,
      'one row per node, by name',
    );
    for (const row of rows) {
      const name = row.split(/\s+/)[0]!;
      const n = flows.filter((r) => r.flow!.node_name === name).length;
      // AGE and FLOWS/S follow the relay's uptime, which a fast run may catch below a second.
      t.match(row, new RegExp(`^${name}\\s+Connected\\s+\\S+\\s+\\S+\\s+${n}/65535 \\(`), `${name}: connected, ${n} flows`, { row });
    }
    const json = await runHubble(bin, ['list', 'nodes', '--server', relay.address, '-o', 'json']);
    t.same(
      (JSON.parse(json.stdout) as { name: string; state: string }[]).map((n) => [n.name, n.state]),
      nodes.map((n) => [n, 'NODE_CONNECTED']),
    );
  });

  t.test('hubble observe --server equals hubble-lab observe --input-file, flow for flow', async (t) => {
    const relay = await startRelay(t, file);
    const since = records[400]!.time!;
    const until = records[900]!.time!;
    // The Go peer's filter sets, and the selectors that mean the same for a server and a file.
    const cases: string[][] = [
      ['--all'],
      ['--all', '--pod', 'genai-network-demo/document-agent'],
      ['--all', '--from-pod', 'genai-network-demo/traffic-generator', '--not', '--protocol', 'dns'],
      ['--all', '--verdict', 'DROPPED'],
      ['--all', '--not', '--verdict', 'FORWARDED'],
      ['--all', '--protocol', 'http'],
      ['--all', '--namespace', 'genai-network-demo', '--http-status', '2+'],
      ['--all', '--type', 'l7', '--http-method', 'POST', '--to-label', 'app=llm-service'],
      ['--all', '--to-fqdn', '*.openai.com'],
      ['--all', '--not', '--namespace', 'kube-system', '--not', '--verdict', 'DROPPED'],
      ['--all', '--node-name', 'kind-kind/kind-worker', '--tcp-flags', 'SYN'],
      ['--all', '--ip-version', 'v6'],
      ['--since', since, '--until', until],
      ['--since', since, '--until', until, '--verdict', 'FORWARDED', '--protocol', 'tcp'],
    ];
    await inBatches(
      cases.map((flags) => async () => {
        const what = flags.join(' ');
        const [cli, offline] = await Promise.all([
          runHubble(bin, ['observe', '--server', relay.address, '-o', 'jsonpb', ...flags]),
          hubbleLab(['--input-file', file, '-o', 'jsonpb', ...flags]),
        ]);
        t.equal(cli.code, 0, `${what}: the CLI exits 0 ${cli.stderr.slice(0, 200)}`);
        sameLines(t, lines(cli.stdout).filter(isFlow), lines(offline.stdout).filter(isFlow), what);
        // Without filters, node status of the file passes both ways alike (filters drop it from a file only).
        if (flags.length === 1) t.equal(cli.stderr, offline.stderr, `${what}: the same node status on stderr`);
      }),
    );
    // Compact, dict and table as well: the same text. Node status of the file reaches the CLI whatever the filters
    // (a server does not filter it); v0.11.6 then writes a dict separator to stdout (later CLIs: to stderr).
    const oneSeparator = (text: string) => text.replace(/^(------------\n)+/gm, '------------\n');
    for (const [o, filter] of [
      ['compact', '--verdict'],
      ['dict', '--verdict'],
      ['table', '--verdict'],
      ['compact', '--not'],
    ] as const) {
      const flags = ['-o', o, '--color', 'never', '--all', ...(filter === '--not' ? ['--not', '--verdict', 'FORWARDED'] : ['--verdict', 'DROPPED'])];
      const [cli, offline] = await Promise.all([runHubble(bin, ['observe', '--server', relay.address, ...flags]), hubbleLab(['--input-file', file, ...flags])]);
      t.equal(o === 'dict' ? oneSeparator(cli.stdout) : cli.stdout, offline.stdout, `${flags.join(' ')}: identical text`);
      t.ok(cli.stdout.length > 0);
    }
  });

  t.test('--last N, --first N and the default --last 20 count per node, as through Hubble Relay', async (t) => {
    const relay = await startRelay(t, file);
    const cases: [string[], number, boolean][] = [
      [[], 20, false],
      [['--last', '25'], 25, false],
      [['--last', '3', '--verdict', 'DROPPED'], 3, false],
      [['--first', '10'], 10, true],
      [['--first', '4', '--protocol', 'http', '--to-namespace', 'genai-network-demo'], 4, true],
    ];
    for (const [flags, n, first] of cases) {
      const filters = flags.slice(2);
      const all = lines((await hubbleLab(['--input-file', file, '-o', 'jsonpb', '--all', ...filters])).stdout).filter(isFlow);
      const want = perNode(all, n, first);
      t.ok(want.length >= n, `${flags.join(' ') || '(default)'}: something to select`);
      const cli = await runHubble(bin, ['observe', '--server', relay.address, '-o', 'jsonpb', ...flags]);
      t.equal(cli.code, 0, cli.stderr);
      sameLines(t, lines(cli.stdout).filter(isFlow), want, flags.join(' ') || 'no selector (--last 20)');
    }
  });

  t.test('--follow streams the history asked for, then stays open until the CLI is stopped', async (t) => {
    const relay = await startRelay(t, file);
    const all = lines((await hubbleLab(['--input-file', file, '-o', 'jsonpb', '--all'])).stdout).filter(isFlow);
    for (const [flags, want] of [
      [['--last', '2', '--follow'], perNode(all, 2, false)],
      [
        ['--follow', '--last', '5', '--verdict', 'DROPPED'],
        perNode(lines((await hubbleLab(['--input-file', file, '-o', 'jsonpb', '--all', '--verdict', 'DROPPED'])).stdout).filter(isFlow), 5, false),
      ],
    ] as const) {
      const started = Date.now();
      const cli = await runHubble(bin, ['observe', '--server', relay.address, '-o', 'jsonpb', ...flags], { stopAfterMs: 3000, timeoutMs: 20_000 });
      t.ok(Date.now() - started >= 2900, `${flags.join(' ')}: still following when stopped`);
      sameLines(t, lines(cli.stdout).filter(isFlow), [...want], flags.join(' '));
    }
  });

  t.test("a lab export: Relay's own node name on node_status is no node, so 3 nodes are 3/3", async (t) => {
    // As the lab writes it: Relay's node_status first, its node_name the bare name of the node Relay runs on.
    const simNodes = ['kind-sim/sim-control-plane', 'kind-sim/sim-worker', 'kind-sim/sim-worker2'];
    const lab = synthResponses({ count: 600, seed: 31, nodes: simNodes, variant: 'cilium-1.13' }).map((r) =>
      r.node_status ? { ...r, node_name: 'sim-worker' } : r,
    );
    t.equal(lab.filter((r) => r.node_status?.node_names?.length === 3).length > 0, true);
    const labFile = join(dir, 'lab.jsonl');
    writeFileSync(labFile, lab.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const relay = await startRelay(t, labFile);
    const status = await runHubble(bin, ['status', '--server', relay.address]);
    t.match(status.stdout, /\nConnected Nodes: 3\/3\n$/, 'three nodes, all connected');
    const list = await runHubble(bin, ['list', 'nodes', '--server', relay.address]);
    t.same(
      lines(list.stdout)
        .slice(1)
        .map((r) => r.split(/\s+/)[0]),
      simNodes,
      'each by its cluster/node name',
    );
  });

  t.test('a relay answers --all with the whole file from the moment its port opens', async (t) => {
    // A file that is slow to read: a named pipe, written in two halves with a pause between.
    const fifo = join(dir, 'slow.jsonl');
    execFileSync('mkfifo', [fifo]);
    const text = records.map((r) => JSON.stringify(r) + '\n');
    const half = Math.floor(text.length / 2);
    const drops = lines((await hubbleLab(['--input-file', file, '-o', 'jsonpb', '--verdict', 'DROPPED'])).stdout).filter(isFlow);
    t.ok(drops.length >= 6, `${drops.length} drops in the file`);
    const port = await freePort();
    const child = spawn(process.execPath, [hubbleLabBin, 'relay', '--input', fifo, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    t.teardown(() => void child.kill('SIGINT'));
    const writer = createWriteStream(fifo);
    writer.write(text.slice(0, half).join(''));
    await new Promise((r) => setTimeout(r, 1500));
    t.notOk(await canConnect(port), 'half the file read: the port is not open yet');
    t.equal(out, '', 'and the relay has not said it serves');
    writer.end(text.slice(half).join(''));
    const deadline = Date.now() + 30_000;
    while (!(await canConnect(port))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`relay never listened: ${out}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const cli = await runHubble(bin, ['observe', '--server', `127.0.0.1:${port}`, '--all', '--verdict', 'DROPPED', '-o', 'jsonpb']);
    t.equal(cli.code, 0, cli.stderr);
    sameLines(t, lines(cli.stdout).filter(isFlow), drops, 'run as soon as the port accepts connections, --all --verdict DROPPED');
    t.match(
      out,
      new RegExp(`read ${records.length} records \\(${flows.length} flows\\) from .*slow\\.jsonl; serving until interrupted\\n`),
      'and the relay said it was ready',
    );
  });

  t.test('a relay interrupted while it loads a file stops without ever listening', async (t) => {
    const fifo = join(dir, 'interrupted.jsonl');
    execFileSync('mkfifo', [fifo]);
    const stop = new AbortController();
    const c = captureIO({ signal: stop.signal });
    const exit = main(['relay', '--input', fifo, '--listen', '127.0.0.1:0'], c.io);
    const writer = createWriteStream(fifo);
    // The relay stops reading when interrupted: what is still written then has no reader.
    writer.on('error', () => {});
    writer.write(
      records
        .slice(0, 100)
        .map((r) => JSON.stringify(r) + '\n')
        .join(''),
    );
    await new Promise((r) => setTimeout(r, 500));
    stop.abort();
    writer.end(
      records
        .slice(100, 200)
        .map((r) => JSON.stringify(r) + '\n')
        .join(''),
    );
    t.equal(await exit, 0);
    t.equal(c.out(), 'hubble-lab relay: stopped\n', 'no address was ever served');
  });
}

const bin = hubbleCliOrSkip(t);
if (bin !== undefined) tests(bin);
