// hubble-lab observe --input-file against the official hubble CLI reading the same export from stdin: every filter
// flag v0.11.6 has, --not, repeats and either-side flags, in every output format, byte for byte.
import t, { type Test } from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../lib/cli.ts';
import type { GetFlowsResponse } from '../../lib/flows/types.ts';
import { captureIO } from '../fixtures/cli-io.ts';
import { cilium113Export, findHubbleCli, hubbleCliOrSkip, inBatches, runHubble, SHARED_HUBBLE_CLI, type HubbleRun } from '../fixtures/hubble-cli.ts';

const lines = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));

/** Where two texts first part, line and column, with a little of each side. */
function firstDifference(got: string, want: string): { line: number; got: string; want: string } | undefined {
  if (got === want) return undefined;
  const g = got.split('\n');
  const w = want.split('\n');
  let i = 0;
  while (i < g.length && i < w.length && g[i] === w[i]) i++;
  return { line: i + 1, got: (g[i] ?? '<end>').slice(0, 400), want: (w[i] ?? '<end>').slice(0, 400) };
}

async function hubbleLab(args: string[]): Promise<HubbleRun> {
  const c = captureIO({ stdin: Readable.from([]) });
  const code = await main(['observe', ...args], c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

/** Lost events and SCTP ports: printed by later CLIs (and by hubble-lab), not by v0.11.6. */
const laterThanV0116 = (r: GetFlowsResponse) => r.lost_events !== undefined || r.flow?.l4?.SCTP !== undefined;

/**
 * v0.11.6 writes the dict separator before a node status block to stdout, while the block goes to stderr; later
 * CLIs (and hubble-lab) write both to stderr. The same text either way, once the separators are counted apart.
 */
function dictSeparatorsApart(run: HubbleRun): { stdout: string; stderr: string; separators: number } {
  const sep = /^------------\n/gm;
  const separators = (run.stdout.match(sep)?.length ?? 0) + (run.stderr.match(sep)?.length ?? 0);
  return { stdout: run.stdout.replace(sep, ''), stderr: run.stderr.replace(sep, ''), separators };
}

function tests(bin: string): void {
  const dir = t.testdir({});
  const records = cilium113Export(1200);
  const file = join(dir, 'cilium-1.13.jsonl');
  writeFileSync(
    file,
    records
      .filter((r) => !laterThanV0116(r))
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  const input = readFileSync(file);

  /** The CLI and hubble-lab on the same export with the same flags: exit code, stdout and stderr identical. */
  async function compare(t: Test, flags: string[], opts: { mayBeEmpty?: boolean } = {}): Promise<void> {
    const what = flags.join(' ') || '(no filter)';
    let [cli, ours] = await Promise.all([runHubble(bin, ['observe', ...flags], { input }), hubbleLab(['--input-file', file, ...flags])]);
    t.equal(cli.code, 0, `${what}: the CLI exits 0`, { stderr: cli.stderr.slice(0, 300) });
    t.equal(ours.code, cli.code, `${what}: the same exit code`);
    if (flags.includes('dict') && /^------------$/m.test(ours.stderr)) {
      const [c, o] = [dictSeparatorsApart(cli), dictSeparatorsApart(ours)];
      t.equal(o.separators, c.separators, `${what}: as many dict separators, v0.11.6 printing those of node status on stdout`);
      [cli, ours] = [
        { ...cli, ...c },
        { ...ours, ...o },
      ];
    }
    const out = firstDifference(ours.stdout, cli.stdout);
    if (out)
      t.fail(`${what}: stdout differs at line ${out.line} (${lines(ours.stdout).length} lines against ${lines(cli.stdout).length})`, {
        diagnostic: true,
        ...out,
      });
    else if (opts.mayBeEmpty) t.pass(`${what}: ${lines(cli.stdout).length} lines, identical`);
    else t.ok(cli.stdout.length > 0, `${what}: ${lines(cli.stdout).length} lines, identical`);
    const err = firstDifference(ours.stderr, cli.stderr);
    if (err) t.fail(`${what}: stderr differs at line ${err.line}`, { diagnostic: true, ...err });
  }

  // Every filter flag of v0.11.6 (hubble observe --help), alone, repeated, negated and combined.
  const filterCases: string[][] = [
    [],
    ['--namespace', 'genai-network-demo'],
    ['-n', 'kube-system'],
    ['--from-namespace', 'kube-system'],
    ['--to-namespace', 'genai-network-demo', '--not', '--from-namespace', 'genai-network-demo'],
    ['--pod', 'genai-network-demo/document-agent'],
    ['--from-pod', 'genai-network-demo/traffic-generator', '--to-pod', 'genai-network-demo/agent-coordinator'],
    ['--to-pod', 'kube-system/coredns', '--to-pod', 'genai-network-demo/llm-service'],
    ['--label', 'app=llm-service'],
    ['-l', 'k8s:app=document-agent', '--label', 'k8s-app=kube-dns'],
    ['--from-label', 'tier=processing'],
    ['--to-label', 'reserved:world'],
    ['--not', '--label', 'reserved:host', '--ip-version', 'v4'],
    ['--service', 'genai-network-demo/document-agent-service'],
    ['--from-service', 'genai-network-demo/llm-service'],
    ['--to-service', 'kube-system/kube-dns'],
    ['--workload', 'document-agent'],
    ['--from-workload', 'traffic-generator'],
    ['--to-workload', 'llm-service', '--to-workload', 'coredns'],
    ['--ip', '10.244.0.3'],
    ['--from-ip', '10.244.1.0/24'],
    ['--to-ip', '104.18.7.192', '--to-ip', '10.244.2.12'],
    ['--ip', 'fd00:10:244:1::/64'],
    ['--ip-version', 'v6'],
    ['-4', '--protocol', 'icmp'],
    ['-6'],
    ['--ip-version', 'none'],
    ['--port', '53'],
    ['--from-port', '53'],
    ['--to-port', '80', '--not', '--verdict', 'FORWARDED'],
    ['--identity', '7419'],
    ['--from-identity', '60871', '--from-identity', '8412'],
    ['--to-identity', '2'],
    ['--fqdn', 'api.openai.com'],
    ['--from-fqdn', '*.openai.com'],
    ['--to-fqdn', 'api.*'],
    ['--protocol', 'http'],
    ['--protocol', 'dns', '--protocol', 'icmpv6'],
    ['--protocol', 'udp'],
    ['--protocol', 'sctp', '--protocol', 'kafka'],
    ['--verdict', 'DROPPED'],
    ['--verdict', 'FORWARDED', '--not', '--protocol', 'tcp'],
    ['--type', 'drop'],
    ['--type', 'trace:to-endpoint'],
    ['-t', 'l7', '--type', 'trace:to-stack'],
    ['--http-status', '200'],
    ['--http-status', '4+', '--http-status', '5+'],
    ['--http-method', 'post'],
    ['--http-path', '/api/v1/.*'],
    ['--tcp-flags', 'syn'],
    ['--tcp-flags', 'SYN,ACK', '--tcp-flags', 'fin'],
    ['--node-name', 'kind-kind/kind-worker'],
    ['--node-name', 'kind-*2', '--not', '--protocol', 'tcp'],
    ['--trace-id', '4bf92f3577b34da6a3ce929d0e0e4736'],
    ['--not', '--namespace', 'kube-system', '--not', '--verdict', 'DROPPED'],
    ['--namespace', 'genai-network-demo', '--protocol', 'http', '--http-method', 'get', '--not', '--http-status', '2+'],
    ['--allowlist', '{"source_pod":["kube-system/"]}'],
    ['--denylist', '{"destination_port":["53"]}', '--from-namespace', 'genai-network-demo'],
  ];
  const formats = ['compact', 'dict', 'table'] as const;

  t.test(`${filterCases.length} filter sets, each as jsonpb and as one of compact, dict and table`, async (t) => {
    const runs = filterCases.flatMap((filters, i) => [
      ['-o', 'jsonpb', ...filters],
      ['-o', formats[i % formats.length]!, '--color', 'never', ...filters],
    ]);
    const mayBeEmpty = (flags: string[]) => flags.includes('--ip-version') && flags.includes('none');
    await inBatches(runs.map((flags) => () => compare(t, flags, { mayBeEmpty: mayBeEmpty(flags) })));
  });

  t.test('every output format with the printing flags: node names, numeric, time formats, colour', async (t) => {
    const runs: string[][] = [];
    for (const o of formats) {
      runs.push(['-o', o, '--color', 'never']);
      runs.push(['-o', o, '--color', 'never', '--print-node-name', '--verdict', 'DROPPED']);
      runs.push(['-o', o, '--color', 'never', '--numeric', '--protocol', 'dns']);
      runs.push(['-o', o, '--color', 'never', '--time-format', 'RFC3339Nano', '--pod', 'genai-network-demo/llm-service']);
    }
    for (const tf of ['YearMonthDay', 'YearMonthDayHour', 'YearMonthDayHourMinute', 'RFC3339', 'RFC3339Milli', 'RFC3339Micro', 'RFC1123Z']) {
      runs.push(['-o', 'compact', '--color', 'never', '--time-format', tf, '--protocol', 'http']);
    }
    runs.push(['-o', 'compact', '--color', 'always', '--protocol', 'dns']);
    runs.push(['-o', 'dict', '--color', 'always', '--verdict', 'DROPPED']);
    runs.push(['-o', 'json']);
    await inBatches(runs.map((flags) => () => compare(t, flags)));
  });

  // hubble#1109, fixed after v0.11.6: --from-/--to-identity and --from-/--to-workload next to other filter flags
  // become two ORed filters. hubble-lab builds the one filter they mean, which the CLI gets given as --allowlist.
  const v0116FilterBugs: [string[], string, string][] = [
    [
      ['--from-identity', '60871', '--to-identity', '21053'],
      '{"source_identity":[60871],"destination_identity":[21053]}',
      `allowlist:\n- '{"source_identity":[60871]}'\n- '{"destination_identity":[21053]}'\n`,
    ],
    [
      ['--from-identity', '8412', '--protocol', 'tcp'],
      '{"source_identity":[8412],"protocol":["tcp"]}',
      `allowlist:\n- '{"protocol":["tcp"],"source_identity":[8412]}'\n- '{"protocol":["tcp"]}'\n`,
    ],
    [
      ['--from-workload', 'traffic-generator', '--to-workload', 'agent-coordinator'],
      '{"source_workload":[{"name":"traffic-generator"}],"destination_workload":[{"name":"agent-coordinator"}]}',
      `allowlist:\n- '{"source_workload":[{"name":"traffic-generator"}]}'\n- '{"destination_workload":[{"name":"agent-coordinator"}]}'\n`,
    ],
  ];
  t.test('--from/--to-identity and --from/--to-workload with other filters: as later CLIs, not as v0.11.6 (hubble#1109)', async (t) => {
    for (const [flags, meant, buggy] of v0116FilterBugs) {
      const raw = await runHubble(bin, ['observe', '--print-raw-filters', ...flags]);
      t.equal(raw.stdout, buggy, `${flags.join(' ')}: v0.11.6 makes two ORed filters`);
      for (const o of ['jsonpb', 'compact']) {
        const format = ['-o', o, '--color', 'never'];
        const [cli, ours] = await Promise.all([
          runHubble(bin, ['observe', ...format, '--allowlist', meant], { input }),
          hubbleLab(['--input-file', file, ...format, ...flags]),
        ]);
        t.ok(cli.stdout.length > 0, `${o} --allowlist '${meant}': some flows`);
        t.equal(ours.stdout, cli.stdout, `${o} ${flags.join(' ')}: what the CLI prints for the one filter meant`);
      }
    }
  });

  t.test('HUBBLE_CLI names the CLI; a name that is no executable is said so, and where it was looked for', async (t) => {
    t.same(findHubbleCli({ HUBBLE_CLI: bin }), { bin });
    t.same(findHubbleCli({ HUBBLE_CLI: join(dir, 'no-hubble') }), { bin: undefined, reason: `HUBBLE_CLI=${join(dir, 'no-hubble')} is not an executable file` });
    t.same(findHubbleCli({ HUBBLE_CLI: file }), { bin: undefined, reason: `HUBBLE_CLI=${file} is not an executable file` }, 'a file that does not run');
    if (existsSync(SHARED_HUBBLE_CLI)) t.same(findHubbleCli({}), { bin: SHARED_HUBBLE_CLI }, 'else the shared binary, when there');
    else t.match(findHubbleCli({}).reason, /^no hubble CLI: set HUBBLE_CLI=/, 'else why there is none');
    const version = await runHubble(bin, ['version']);
    t.match(version.stdout, /^hubble /, `the CLI answers: ${version.stdout.trim()}`);
  });

  t.test('lost events and SCTP ports: printed as later CLIs print them, where v0.11.6 prints nothing', async (t) => {
    const later = records.filter(laterThanV0116);
    const lost = later.filter((r) => r.lost_events).length;
    t.ok(lost >= 3 && later.length === lost + 1, `${lost} lost events and an SCTP flow`);
    const before = records.slice(records.indexOf(later[0]!) - 6, records.indexOf(later[0]!));
    const laterFile = join(dir, 'later.jsonl');
    writeFileSync(laterFile, [...before, ...later].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const laterInput = readFileSync(laterFile);
    for (const o of ['jsonpb', 'compact']) {
      const flags = ['-o', o, '--color', 'never'];
      const [cli, ours] = await Promise.all([runHubble(bin, ['observe', ...flags], { input: laterInput }), hubbleLab(['--input-file', laterFile, ...flags])]);
      const lostLines = o === 'jsonpb' ? /^\{"lost_events".*\n/gm : /^EVENTS LOST: .*\n/gm;
      t.equal(ours.stdout.match(lostLines)?.length, lost, `${o}: hubble-lab prints each lost event`);
      t.notMatch(cli.stdout, lostLines, `${o}: v0.11.6 prints none`);
      // v0.11.6 prints SCTP flows without their ports.
      let withoutLater = ours.stdout.replace(lostLines, '');
      if (o === 'compact') withoutLater = withoutLater.replace(/(\S):(36412|38412)\b/g, '$1');
      t.equal(withoutLater, cli.stdout, `${o}: everything else identical`);
      t.equal(ours.stderr, cli.stderr);
    }
  });
}

const bin = hubbleCliOrSkip(t);
if (bin !== undefined) tests(bin);
