// `hubble-lab observe`: `hubble observe` over a flows file (filtered here exactly as a Hubble server filters) or a
// live Hubble Relay/agent, with hubble's flags and output formats.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { optionString, type OptionSpec, type ParsedArgs } from '../args.ts';
import type { Command, CommandIO } from '../command.ts';
import { ExitCode, UsageError } from '../errors.ts';
import type { Flow, GetFlowsRequest, GetFlowsResponse } from '../flows/types.ts';
import { connectObserver } from '../hubble/client.ts';
import { createReadStats, describeMalformed, readResponseBatches } from '../hubble/codec/read.ts';
import { toJsonpb, toLegacyJson } from '../hubble/codec/write.ts';
import { ALL_FLOWS, buildGetFlowsRequest, observeFilterOptions, observeSelectorOptions } from '../hubble/filter/flags.ts';
import { compileFlowFilters } from '../hubble/filter/match.ts';
import { parseTimestamp, timestampToNanos } from '../hubble/grpc/timestamp.ts';

const FORMATS = ['compact', 'dict', 'json', 'jsonpb', 'table'] as const;
type Format = (typeof FORMATS)[number];

const DEFAULT_SERVER = 'localhost:4245';
/** hubble refuses larger --last on files: the last N records are held in memory until the end. */
const MAX_FILE_LAST = 1_000_000;

const options: OptionSpec[] = [
  { name: 'input-file', type: 'string', valueName: 'FILE', group: 'Source', description: 'read flows from a file (hubble observe -o jsonpb, the Hubble exporter; gzip too); - for stdin' },
  { name: 'server', type: 'string', valueName: 'ADDR', group: 'Source', description: `Hubble Relay or agent to ask (default $HUBBLE_SERVER or ${DEFAULT_SERVER})` },
  { name: 'output', short: 'o', type: 'string', valueName: 'FORMAT', default: 'compact', group: 'Output', description: 'compact, dict, json, jsonpb or table' },
  ...observeSelectorOptions,
  ...observeFilterOptions,
];

const details = `Examples:
  hubble-lab observe --input-file flows.json -o jsonpb --namespace genai-network-demo --protocol http
  hubble-lab observe --server localhost:4245 --last 100 --verdict DROPPED
  hubble-lab observe --input-file - --not --protocol dns < flows.json

With --input-file the file is filtered here exactly as a Hubble server would filter it: the same flows, in file
order, printed the same way (-o jsonpb output equals hubble observe --input-file's). Without --last/--first a file
yields every matching flow; against a server a bare request means --last 20, as with hubble.

--verdict DENIED: Hubble has no such verdict (the hubble CLI rejects it). A policy drop is verdict DROPPED with
drop reason POLICY_DENIED (no rule allowed it) or POLICY_DENY (a deny rule); DENIED is read as exactly that.

Node status events go to stderr (-o jsonpb: only NODE_ERROR and NODE_UNAVAILABLE, as hubble prints them); lost
events are printed with the flows.

Exit codes: 0 done; 2 bad flags, a file that cannot be read, or a server that cannot be reached; 3 the input had
malformed lines: they were skipped and counted on stderr (first ones with their line numbers) and every other
record was printed, so a CI job notices an export that is not what it should be.`;

export const observeCommand: Command = {
  name: 'observe',
  summary: 'Show Hubble flows from a file or a live server, filtered with hubble observe flags',
  usage: 'observe [--input-file FILE|- | --server ADDR] [selectors] [filters] [-o FORMAT]',
  options,
  details,
  run,
};

/** Where each record goes: formats differ in what they print for node status and lost events, and where. */
interface Output {
  write(resp: GetFlowsResponse): void;
  /** Hands buffered text to the streams, waiting while stdout is full. */
  flush(): Promise<void>;
}

async function writeText(stream: Writable, text: string): Promise<void> {
  if (text.length === 0) return;
  if (!stream.write(text)) await once(stream, 'drain');
}

function textOutput(io: CommandIO, render: (resp: GetFlowsResponse) => { stdout?: string; stderr?: string } | undefined): Output {
  let buffered = '';
  return {
    write(resp) {
      const text = render(resp);
      if (!text) return;
      if (text.stderr !== undefined) io.stderr.write(text.stderr + '\n');
      if (text.stdout !== undefined) buffered += text.stdout + '\n';
    },
    async flush() {
      const text = buffered;
      buffered = '';
      await writeText(io.stdout, text);
    },
  };
}

function jsonpbOutput(io: CommandIO): Output {
  return textOutput(io, (resp) => {
    const state = resp.node_status?.state_change;
    if (resp.node_status) return state === 'NODE_ERROR' || state === 'NODE_UNAVAILABLE' ? { stderr: toJsonpb(resp) } : undefined;
    return { stdout: toJsonpb(resp) };
  });
}

/** `-o json` under HUBBLE_COMPAT=legacy-json-output: bare Flow and LostEvent objects; node status prints nothing. */
function legacyJsonOutput(io: CommandIO): Output {
  return textOutput(io, (resp) => {
    const line = toLegacyJson(resp);
    return line === undefined ? undefined : { stdout: line };
  });
}

async function createOutput(format: Format, io: CommandIO, follow: boolean): Promise<Output> {
  if (format === 'table' && follow) throw new UsageError('table output format is not compatible with follow mode');
  if (format === 'jsonpb') return jsonpbOutput(io);
  if (format === 'json') {
    const legacy = (io.env.HUBBLE_COMPAT ?? '').split(',').includes('legacy-json-output');
    return legacy ? legacyJsonOutput(io) : jsonpbOutput(io);
  }
  throw new UsageError(`observe: -o ${format} is not available yet`, { hint: 'use -o jsonpb or -o json' });
}

function outputFormat(args: ParsedArgs): Format {
  const value = optionString(args, 'output') ?? 'compact';
  const format = value === 'tab' ? 'table' : value === 'JSON' ? 'json' : value;
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`observe: invalid output format: ${value}`, { hint: `one of ${FORMATS.join(', ')}` });
  }
  return format as Format;
}

async function run(args: ParsedArgs, io: CommandIO): Promise<number> {
  if (args.positionals.length > 0) {
    throw new UsageError(`observe: unexpected argument "${args.positionals[0]}"`, { hint: 'filters are flags, e.g. --pod NAME; see `hubble-lab observe --help`' });
  }
  const format = outputFormat(args);
  const inputFile = optionString(args, 'input-file');
  const server = optionString(args, 'server');
  if (inputFile !== undefined && server !== undefined) throw new UsageError('observe: --input-file and --server cannot be used together');
  const live = inputFile === undefined;
  const req = buildGetFlowsRequest(args, { live, warn: (line) => io.stderr.write(`hubble-lab: ${line}\n`) });
  const output = await createOutput(format, io, req.follow === true);
  try {
    if (inputFile !== undefined) return await observeFile(inputFile, req, output, io);
    return await observeServer(server ?? io.env.HUBBLE_SERVER ?? DEFAULT_SERVER, req, output, io);
  } catch (err) {
    // A reader that went away (`| head`) is not an error: stop quietly, as a pipe would.
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return ExitCode.pass;
    throw err;
  }
}

/** The records hubble prints for this request from a file: time window, filters, then --first/--last. */
async function observeFile(path: string, req: GetFlowsRequest, output: Output, io: CommandIO): Promise<number> {
  const matches = compileFlowFilters(req.whitelist, req.blacklist);
  const since = req.since === undefined ? undefined : timestampToNanos(parseTimestamp(req.since)!);
  const until = req.until === undefined ? undefined : timestampToNanos(parseTimestamp(req.until)!);
  const number = req.number ?? 0;
  const first = req.first === true && number > 0;
  const lastN = !req.first && number > 0 && number !== ALL_FLOWS ? number : 0;
  if (lastN > MAX_FILE_LAST) {
    throw new UsageError(`observe: --last must be <= ${MAX_FILE_LAST} with --input-file, got ${lastN}`, { hint: 'use --all for every flow' });
  }
  const last = lastN > 0 ? new LastN(lastN) : undefined;
  const stats = createReadStats();
  let printed = 0;

  const selected = (resp: GetFlowsResponse): boolean => {
    if (since !== undefined || until !== undefined) {
      // As hubble, the record's own time decides; a record without one is at the epoch.
      const t = resp.time === undefined ? undefined : parseTimestamp(resp.time);
      const ns = t === undefined ? 0n : timestampToNanos(t);
      if (since !== undefined && ns < since) return false;
      if (until !== undefined && ns > until) return false;
    }
    return matches(resp.flow ?? NO_FLOW);
  };

  reading: for await (const batch of readResponseBatches(path === '-' ? io.stdin : path, stats)) {
    for (const resp of batch) {
      if (!selected(resp)) continue;
      if (last) {
        last.push(resp);
        continue;
      }
      output.write(resp);
      if (first && ++printed >= number) break reading;
    }
    await output.flush();
    if (io.signal.aborted) break;
  }
  if (last) for (const resp of last.inOrder()) output.write(resp);
  await output.flush();

  const malformed = describeMalformed(stats);
  if (malformed) {
    io.stderr.write(`hubble-lab: ${malformed}\n`);
    return ExitCode.incomplete;
  }
  return ExitCode.pass;
}

/** Records that are not flows (lost events, node status) are filtered as hubble does: as an empty flow. */
const NO_FLOW: Flow = Object.freeze({});

/** The last N records seen, in arrival order, without holding more than N. */
class LastN {
  private readonly items: GetFlowsResponse[] = [];
  private next = 0;
  constructor(private readonly size: number) {}
  push(resp: GetFlowsResponse): void {
    if (this.items.length < this.size) this.items.push(resp);
    else this.items[this.next] = resp;
    this.next = (this.next + 1) % this.size;
  }
  *inOrder(): Generator<GetFlowsResponse> {
    const n = this.items.length;
    const start = n < this.size ? 0 : this.next;
    for (let i = 0; i < n; i++) yield this.items[(start + i) % n]!;
  }
}

async function observeServer(address: string, req: GetFlowsRequest, output: Output, io: CommandIO): Promise<number> {
  const client = await connectObserver(address, { what: 'Hubble server' });
  let sinceFlush = 0;
  try {
    for await (const resp of client.getFlows(req, { signal: io.signal })) {
      output.write(resp);
      // Following a live stream, print as records come; otherwise batch the writes.
      if (req.follow || ++sinceFlush >= 256) {
        sinceFlush = 0;
        await output.flush();
      }
    }
    await output.flush();
  } finally {
    client.close();
  }
  return ExitCode.pass;
}
