// The shape of a hubble-lab subcommand: its flags (for parsing and help) and what it runs.
import type { Readable, Writable } from 'node:stream';
import type { OptionSpec, ParsedArgs } from './args.ts';

export interface CommandIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly. */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  /** One usage line without the program name, e.g. `observe [flags]`. */
  usage: string;
  options: OptionSpec[];
  /** Free text after the flags in `--help`: examples, notes. */
  details?: string;
  /** Returns the exit code. Throws HubbleLabError for usage, input and infrastructure errors. */
  run(args: ParsedArgs, io: CommandIO): Promise<number>;
}
