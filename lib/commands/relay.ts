// `hubble-lab relay`: serves a flows export over the Hubble Relay gRPC API, so `hubble observe`, `hubble status`
// and hubble-lab itself can read a recorded file as if it were a live cluster.
import { optionNumber, optionString, type OptionSpec } from '../args.ts';
import type { Command, CommandIO } from '../command.ts';
import { ExitCode, UsageError } from '../errors.ts';
import type { GetFlowsResponse } from '../flows/types.ts';
import { createReadStats, describeMalformed, readResponses } from '../hubble/codec/read.ts';
import { maxLineBytesOption, parseMaxLineBytes } from '../hubble/codec/lines.ts';
import type { Node } from '../hubble/grpc/messages.ts';
import { parseTimestamp } from '../hubble/grpc/timestamp.ts';
import { startObserverServer } from '../hubble/server/observer-server.ts';
import { recordNodes, relayNodeName } from '../hubble/server/node-names.ts';
import { FlowRing, isValidCapacity } from '../hubble/server/ring.ts';
import { nodeStatusRecord, RingObserverSource } from '../hubble/server/ring-source.ts';
import type { ObserverSource } from '../hubble/server/source.ts';

export const RELAY_VERSION = '1.19.0+hubble-lab';
/** The node name on the records this relay makes itself (node_status, lost_events). */
const RELAY_NODE_NAME = 'hubble-relay';

const options: OptionSpec[] = [
  { name: 'input', short: 'i', type: 'string', valueName: 'FILE', description: 'flows export to serve (hubble observe -o jsonpb, plain or gzip); - for stdin' },
  maxLineBytesOption,
  {
    name: 'listen',
    type: 'string',
    valueName: 'HOST:PORT',
    default: '127.0.0.1:4245',
    description: 'address to serve the Relay API on (port 0: any free port)',
  },
  { name: 'pace', type: 'string', valueName: 'PACE', default: 'max', description: 'max (all at once), realtime (the gaps between flow timestamps) or N/s' },
  {
    name: 'capacity',
    type: 'number',
    valueName: 'N',
    default: 65535,
    description: 'ring buffer size, 2^n−1 like hubble-event-buffer-capacity; older records roll off',
  },
];

/** How fast records enter the ring: as read, at their recorded gaps, or at a fixed rate. */
export type Pace = { kind: 'max' } | { kind: 'realtime' } | { kind: 'rate'; perSecond: number };

export function parsePace(text: string): Pace {
  if (text === 'max') return { kind: 'max' };
  if (text === 'realtime') return { kind: 'realtime' };
  const m = /^(\d+(?:\.\d+)?)\/s$/.exec(text);
  if (m && Number(m[1]) > 0) return { kind: 'rate', perSecond: Number(m[1]) };
  throw new UsageError(`relay: --pace takes max, realtime or N/s (e.g. 500/s), not "${text}"`);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function recordMillis(r: GetFlowsResponse): number | undefined {
  const text = r.time ?? r.flow?.time;
  const t = text === undefined ? undefined : parseTimestamp(text);
  return t ? t.seconds * 1000 + t.nanos / 1e6 : undefined;
}

/** Waits until a record is due: realtime keeps the recorded gaps, a rate spaces records evenly. */
function pacer(pace: Pace, signal: AbortSignal): (r: GetFlowsResponse) => Promise<void> | undefined {
  const startWall = performance.now();
  let firstRecordMs: number | undefined;
  let index = 0;
  return (r) => {
    let dueWall: number;
    if (pace.kind === 'max') return undefined;
    if (pace.kind === 'rate') {
      dueWall = startWall + (index++ * 1000) / pace.perSecond;
    } else {
      const ms = recordMillis(r);
      if (ms === undefined) return undefined;
      firstRecordMs ??= ms;
      dueWall = startWall + Math.max(0, ms - firstRecordMs);
    }
    const wait = dueWall - performance.now();
    // Timers are coarse: only sleep when at least a millisecond ahead, and catch up without sleeping.
    return wait >= 1 ? sleep(wait, signal) : undefined;
  };
}

export const relayCommand: Command = {
  name: 'relay',
  summary: 'serve a flows export over the Hubble Relay gRPC API (for hubble observe/status and hubble-lab)',
  usage: 'relay --input FILE|- [--listen 127.0.0.1:4245] [--pace max|realtime|N/s] [--capacity N]',
  options,
  details: [
    'Examples:',
    '  hubble-lab relay --input flows.jsonl &',
    '  hubble observe --server localhost:4245 --last 20 --verdict DROPPED',
    '  hubble-lab relay --input flows.jsonl.gz --pace realtime --listen 127.0.0.1:4250',
    '',
    'At --pace max a file is read whole before the port opens, so every request sees all of it; with another',
    'pace, or from stdin, records enter the ring buffer as they come, as on a live cluster. GetFlows serves',
    '--first/--last/--since/--until/filters from the ring (--first/--last N count per node, as through Hubble',
    'Relay), and --follow streams records as they arrive, then stays open. Stop with Ctrl-C.',
  ].join('\n'),

  async run(args, io: CommandIO): Promise<number> {
    const input = optionString(args, 'input') ?? args.positionals[0];
    if (!input) throw new UsageError('relay: --input FILE is required (- reads stdin)', { hint: 'see `hubble-lab relay --help`' });
    const listen = optionString(args, 'listen') ?? '127.0.0.1:4245';
    const pace = parsePace(optionString(args, 'pace') ?? 'max');
    const capacity = optionNumber(args, 'capacity') ?? 65535;
    if (!isValidCapacity(capacity)) {
      throw new UsageError(`relay: --capacity must be one less than a power of two (e.g. 4095, 65535), not ${capacity}`);
    }

    const stats = createReadStats();
    const records = readResponses(input === '-' ? io.stdin : input, stats, { maxLineBytes: parseMaxLineBytes(optionString(args, 'max-line-bytes'), 'relay') });

    const ring = new FlowRing(capacity);
    const nodeNames = new Set<string>();
    const seenByNode = new Map<string, number>();
    const startedAtMs = Date.now();
    // What Relay reports per node from its ServerStatus: the node's flows in the ring and all it has seen.
    const nodes = (): Node[] => {
      const inRing = new Map<string, number>();
      for (let seq = ring.oldest; seq < ring.written; seq++) {
        const flowNode = ring.at(seq)?.response.flow?.node_name;
        const node = flowNode === undefined ? undefined : relayNodeName(flowNode);
        if (node !== undefined) inRing.set(node, (inRing.get(node) ?? 0) + 1);
      }
      const uptimeNs = String(BigInt(Date.now() - startedAtMs) * 1_000_000n);
      return [...nodeNames].sort().map((name) => ({
        name,
        version: RELAY_VERSION,
        state: 'NODE_CONNECTED',
        uptime_ns: uptimeNs,
        num_flows: String(inRing.get(name) ?? 0),
        max_flows: String(capacity),
        seen_flows: String(seenByNode.get(name) ?? 0),
      }));
    };
    // Like Hubble Relay, --last/--first N count per node, and a stream starts by naming the nodes it reads from.
    const history = new RingObserverSource(ring, {
      nodeName: RELAY_NODE_NAME,
      version: RELAY_VERSION,
      nodes,
      perNode: true,
      onSkip: (note) => io.stderr.write(`hubble-lab relay: ${note}\n`),
    });
    const source: ObserverSource = {
      async getFlows(req, sink, signal) {
        const names = [...nodeNames].sort();
        if (names.length > 0 && !sink.send(nodeStatusRecord(RELAY_NODE_NAME, 'NODE_CONNECTED', names))) await sink.drained();
        return history.getFlows(req, sink, signal);
      },
      serverStatus: () => history.serverStatus(),
      getNodes: () => history.getNodes(),
      getNamespaces: () => history.getNamespaces(),
    };
    const add = (r: GetFlowsResponse) => {
      for (const name of recordNodes(r)) nodeNames.add(name);
      const flowNode = r.flow?.node_name;
      if (flowNode !== undefined) seenByNode.set(relayNodeName(flowNode), (seenByNode.get(relayNodeName(flowNode)) ?? 0) + 1);
      ring.write(r);
    };
    // A file at full pace is loaded before listening: a request that came while it loads would get a part of it.
    // Otherwise read a file's first record before listening, so an unreadable file fails before anything is
    // served; stdin may take its time, so serve at once.
    const preload = input !== '-' && pace.kind === 'max';
    let first: IteratorResult<GetFlowsResponse> = { done: true, value: undefined };
    try {
      if (preload) {
        for (let next = await records.next(); !next.done && !io.signal.aborted; next = await records.next()) add(next.value);
      } else if (input !== '-') {
        first = await records.next();
      }
    } catch (err) {
      await records.return(undefined);
      throw err;
    }
    if (io.signal.aborted) {
      // Interrupted while loading: nothing was served, so nothing is to be opened.
      await records.return(undefined);
      io.stdout.write('hubble-lab relay: stopped\n');
      return ExitCode.pass;
    }
    const warn = (line: string) => io.stderr.write(`hubble-lab relay: ${line}\n`);
    const server = await startObserverServer(listen, source, { what: 'Hubble Relay', warn }).catch(async (err: unknown) => {
      await records.return(undefined);
      throw err;
    });
    const shown = input === '-' ? 'stdin' : input;
    io.stdout.write(`hubble-lab relay: serving ${shown} on ${server.address} (pace ${optionString(args, 'pace') ?? 'max'}, ring capacity ${capacity})\n`);

    try {
      const due = pacer(pace, io.signal);
      const played = async (r: GetFlowsResponse) => {
        const wait = due(r);
        if (wait) await wait;
        add(r);
      };
      if (!first.done) await played(first.value);
      while (!io.signal.aborted) {
        const next = await records.next();
        if (next.done) break;
        await played(next.value);
      }
      if (!io.signal.aborted) {
        io.stdout.write(`hubble-lab relay: read ${stats.records} records (${stats.flows} flows) from ${shown}; serving until interrupted\n`);
      }
      const malformed = describeMalformed(stats);
      if (malformed) io.stderr.write(`hubble-lab relay: ${malformed}\n`);
      if (!io.signal.aborted) await new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
    } finally {
      await records.return(undefined);
      await server.close();
    }
    io.stdout.write('hubble-lab relay: stopped\n');
    return ExitCode.pass;
  },
};
