// `hubble-lab observe`: `hubble observe` over a flows file (filtered here exactly as a Hubble server filters) or a
// live Hubble Relay/agent, with hubble's flags and output formats.
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { optionFlag, optionString, type OptionSpec, type ParsedArgs } from '../args.ts';
import type { Command, CommandIO } from '../command.ts';
import { ExitCode, InputError, UsageError } from '../errors.ts';
import type { GetFlowsRequest, GetFlowsResponse } from '../flows/types.ts';
import { connectObserver } from '../hubble/client.ts';
import { createReadStats, describeMalformed, mergeReadStats, readResponseLineBatches, type ReadOptions, type ReadStats } from '../hubble/codec/read.ts';
import { maxLineBytesOption, parseMaxLineBytes } from '../hubble/codec/lines.ts';
import { ALL_FLOWS, buildGetFlowsRequest, observeFilterOptions, observeSelectorOptions } from '../hubble/filter/flags.ts';
import { OUTPUT_FORMATS, type OutputFormat } from '../hubble/printer/printer.ts';
import type { ColorMode } from '../hubble/printer/terminal.ts';
import { TIME_FORMAT_NAMES } from '../hubble/printer/time-format.ts';
import { defaultJobs, inOrder, jobsOption, parseJobs } from '../parallel/pool.ts';
import { lineRanges, type LineRange } from '../parallel/ranges.ts';
import { RANGE_FORMATS, recordSelector, recordWriter, type PrintSettings } from './observe-file.ts';
import type { ObserveSetup, RangeOutput } from './observe-worker.ts';

const COLOR_MODES: readonly ColorMode[] = ['auto', 'always', 'never'];

const DEFAULT_SERVER = 'localhost:4245';
/** hubble refuses larger --last on files: the last N records are held in memory until the end. */
const MAX_FILE_LAST = 1_000_000;

const options: OptionSpec[] = [
  {
    name: 'input-file',
    type: 'string',
    valueName: 'FILE',
    group: 'Source',
    description: 'read flows from a file (hubble observe -o jsonpb, the Hubble exporter; gzip too); - for stdin',
  },
  maxLineBytesOption,
  jobsOption,
  {
    name: 'server',
    type: 'string',
    valueName: 'ADDR',
    group: 'Source',
    description: `Hubble Relay or agent to ask (default $HUBBLE_SERVER or ${DEFAULT_SERVER})`,
  },
  { name: 'output', short: 'o', type: 'string', valueName: 'FORMAT', default: 'compact', group: 'Output', description: 'compact, dict, json, jsonpb or table' },
  {
    name: 'time-format',
    type: 'string',
    valueName: 'NAME',
    default: 'StampMilli',
    group: 'Output',
    description: `how times print in compact, dict and table: ${TIME_FORMAT_NAMES.join(', ')}`,
  },
  { name: 'print-node-name', type: 'boolean', group: 'Output', description: 'print the node each flow was observed on' },
  { name: 'numeric', type: 'boolean', group: 'Output', description: 'print IP addresses instead of pod, service and DNS names' },
  {
    name: 'color',
    type: 'string',
    valueName: 'WHEN',
    default: 'auto',
    group: 'Output',
    description: 'colour compact and dict output: auto, always or never (NO_COLOR is honoured)',
  },
  { name: 'debug', short: 'D', type: 'boolean', group: 'Output', description: 'also print node status events for nodes that connect (stderr)' },
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

Output is hubble's, byte for byte: lost events print with the flows; node status events go to stderr, only for
nodes that became unavailable or failed unless --debug.

Exit codes: 0 done; 2 bad flags, a file that cannot be read, or a server that cannot be reached; 3 the input had
malformed lines: they were skipped and counted on stderr (first ones with their line numbers) and every other
record was printed, so a CI job notices an export that is not what it should be.`;

export const observeCommand: Command = {
  name: 'observe',
  summary: 'show Hubble flows from a file or a live server, filtered with hubble observe flags',
  usage: 'observe [--input-file FILE|- | --server ADDR] [selectors] [filters] [-o FORMAT]',
  options,
  details,
  run,
};

/** The printer behind buffered stdout writes, so that a slow reader holds back the input instead of memory. */
interface Output {
  /** `sourceLine`: the input line `resp` is the parse of, if any; jsonpb output reuses it when it is canonical. */
  write(resp: GetFlowsResponse, sourceLine?: string): void;
  /** Hands buffered text to stdout, waiting while it is full. */
  flush(): Promise<void>;
  /** Lets the printer finish (the table is laid out at the end), then flushes. */
  end(): Promise<void>;
}

async function writeText(stream: Writable, text: string | Uint8Array): Promise<void> {
  if (text.length === 0) return;
  if (!stream.write(text)) await once(stream, 'drain');
}

function printSettings(format: OutputFormat, args: ParsedArgs, io: CommandIO, follow: boolean): PrintSettings {
  if (format === 'table' && follow) throw new UsageError('observe: table output format is not compatible with follow mode');
  const timeFormat = optionString(args, 'time-format') ?? 'StampMilli';
  if (!TIME_FORMAT_NAMES.some((n) => n.toLowerCase() === timeFormat.toLowerCase())) {
    throw new UsageError(`observe: unknown --time-format ${timeFormat}`, { hint: `one of ${TIME_FORMAT_NAMES.join(', ')}` });
  }
  const color = (optionString(args, 'color') ?? 'auto') as ColorMode;
  if (!COLOR_MODES.includes(color)) throw new UsageError(`observe: --color takes auto, always or never, not "${color}"`);
  return {
    format,
    timeFormat,
    nodeName: optionFlag(args, 'print-node-name'),
    ipTranslation: !optionFlag(args, 'numeric'),
    color,
    debug: optionFlag(args, 'debug'),
    isTTY: (io.stdout as { isTTY?: boolean }).isTTY,
    env: io.env,
  };
}

function createOutput(settings: PrintSettings, io: CommandIO): Output {
  let buffered = '';
  const writer = recordWriter(settings, (text) => void (buffered += text), io.stderr);
  const flush = async () => {
    const text = buffered;
    buffered = '';
    await writeText(io.stdout, text);
  };
  return {
    write: writer.write,
    flush,
    async end() {
      writer.end();
      await flush();
    },
  };
}

function outputFormat(args: ParsedArgs): OutputFormat {
  const value = optionString(args, 'output') ?? 'compact';
  const format = value === 'tab' ? 'table' : value === 'JSON' ? 'json' : value;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`observe: invalid output format: ${value}`, { hint: `one of ${OUTPUT_FORMATS.join(', ')}` });
  }
  return format as OutputFormat;
}

async function run(args: ParsedArgs, io: CommandIO): Promise<number> {
  if (args.positionals.length > 0) {
    throw new UsageError(`observe: unexpected argument "${args.positionals[0]}"`, {
      hint: 'filters are flags, e.g. --pod NAME; see `hubble-lab observe --help`',
    });
  }
  const format = outputFormat(args);
  const inputFile = optionString(args, 'input-file');
  const server = optionString(args, 'server');
  if (inputFile !== undefined && server !== undefined) throw new UsageError('observe: --input-file and --server cannot be used together');
  const live = inputFile === undefined;
  const req = buildGetFlowsRequest(args, { live, warn: (line) => io.stderr.write(`hubble-lab: ${line}\n`) });
  const settings = printSettings(format, args, io, req.follow === true);
  const jobsAsked = parseJobs(optionString(args, 'jobs'), 'observe');
  const jobs = jobsAsked ?? defaultJobs();
  const output = createOutput(settings, io);
  try {
    if (inputFile !== undefined) {
      const read: ReadOptions = { maxLineBytes: parseMaxLineBytes(optionString(args, 'max-line-bytes'), 'observe') };
      if (await readsInParallel(inputFile, req, settings, jobs, jobsAsked !== undefined))
        return await observeFileInParallel(inputFile, req, settings, read, jobs, io);
      return await observeFile(inputFile, req, output, io, read);
    }
    return await observeServer(server ?? io.env.HUBBLE_SERVER ?? DEFAULT_SERVER, req, output, io);
  } catch (err) {
    // A reader that went away (`| head`) is not an error: stop quietly, as a pipe would.
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return ExitCode.pass;
    throw err;
  }
}

/** The records hubble prints for this request from a file: time window, filters, then --first/--last. */
async function observeFile(path: string, req: GetFlowsRequest, output: Output, io: CommandIO, readOptions: ReadOptions): Promise<number> {
  const selected = recordSelector(req);
  const number = req.number ?? 0;
  const first = req.first === true && number > 0;
  const lastN = !req.first && number > 0 && number !== ALL_FLOWS ? number : 0;
  if (lastN > MAX_FILE_LAST) {
    throw new UsageError(`observe: --last must be <= ${MAX_FILE_LAST} with --input-file, got ${lastN}`, { hint: 'use --all for every flow' });
  }
  const last = lastN > 0 ? new LastN(lastN) : undefined;
  const stats = createReadStats();
  let printed = 0;

  let failure: unknown;
  try {
    reading: for await (const { records, lines } of readResponseLineBatches(path === '-' ? io.stdin : path, stats, readOptions)) {
      for (let i = 0; i < records.length; i++) {
        const resp = records[i]!;
        if (!selected(resp)) continue;
        if (last) {
          // Not the line: it shares memory with the whole chunk it was cut from.
          last.push(resp);
          continue;
        }
        output.write(resp, lines[i]);
        if (first && ++printed >= number) break reading;
      }
      await output.flush();
      if (io.signal.aborted) break;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') throw err;
    // The input broke off (truncated gzip, I/O error): still print what was read before saying so.
    failure = err;
  }
  if (last) for (const resp of last.inOrder()) output.write(resp);
  await output.end();
  if (failure !== undefined) throw failure;
  return malformedExit(stats, io);
}

/** Exit 3 with the malformed lines told on stderr when there were any, else 0. */
function malformedExit(stats: ReadStats, io: CommandIO): number {
  const malformed = describeMalformed(stats);
  if (malformed) {
    io.stderr.write(`hubble-lab: ${malformed}\n`);
    return ExitCode.incomplete;
  }
  return ExitCode.pass;
}

/**
 * Without --jobs, a smaller file is read on one thread. Measured on 2 cores: starting the workers takes about 0.25 s
 * and two threads read about 1.35× as fast as one, so threads pay only for files of a few hundred MiB.
 */
const PARALLEL_MIN_BYTES = 256 << 20;
/** Each worker task: large enough that a task's overhead is small, small enough to share the work evenly. */
const RANGE_BYTES = 4 << 20;

/**
 * A file is read on several threads when that prints the same thing: a plain (not gzip) regular file, every matching
 * record printed (no --first/--last), in a format whose output for a record depends on that record alone; and it is
 * large enough to gain from it, or --jobs asked for threads (then any file of two ranges or more).
 */
async function readsInParallel(path: string, req: GetFlowsRequest, settings: PrintSettings, jobs: number, asked: boolean): Promise<boolean> {
  if (jobs < 2 || path === '-' || !RANGE_FORMATS.has(settings.format)) return false;
  if (req.first || (req.number !== undefined && req.number !== 0 && req.number !== ALL_FLOWS)) return false;
  let handle;
  try {
    handle = await open(path, 'r');
    const st = await handle.stat();
    if (!st.isFile() || st.size < (asked ? 2 * RANGE_BYTES : PARALLEL_MIN_BYTES)) return false;
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    return !(head[0] === 0x1f && head[1] === 0x8b);
  } catch {
    // The single-threaded reader names what is wrong with the file.
    return false;
  } finally {
    await handle?.close();
  }
}

/** observeFile for a large plain file: ranges read on worker threads, printed in file order, byte for byte the same. */
async function observeFileInParallel(
  path: string,
  req: GetFlowsRequest,
  print: PrintSettings,
  read: ReadOptions,
  jobs: number,
  io: CommandIO,
): Promise<number> {
  const setup: ObserveSetup = { path, req, print, read };
  const stats = createReadStats();
  const results = inOrder<LineRange, RangeOutput>(lineRanges(path, RANGE_BYTES), {
    module: new URL(`./observe-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url),
    setup,
    jobs,
    ahead: jobs * 2,
  });
  for await (const range of results) {
    mergeReadStats(stats, range.stats);
    await writeText(io.stdout, range.out);
    if (range.err) io.stderr.write(range.err);
    // The input broke off: what was read before is printed, then the error is told, as on one thread.
    if (range.failure) throw new InputError(range.failure.message, range.failure.hint === undefined ? {} : { hint: range.failure.hint });
    if (io.signal.aborted) break;
  }
  return malformedExit(stats, io);
}

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
    await output.end();
  } finally {
    client.close();
  }
  return ExitCode.pass;
}
