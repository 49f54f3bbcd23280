// The `hubble-lab` command: parses argv, dispatches to a subcommand, turns errors into messages and exit codes.
// Only the command that runs is loaded: the command list and `--version` load none.
import { readFileSync } from 'node:fs';
import { closest, parseArgs } from './args.ts';
import type { Command, CommandIO } from './command.ts';
import { ExitCode, HubbleLabError, UsageError, formatError, outputError } from './errors.ts';
import { commandTable, type CommandEntry } from './cli/commands.ts';
import { commandHelp, topHelp } from './cli/help.ts';

const helpCommand: Command = {
  name: 'help',
  summary: "list the commands, or show a command's flags: hubble-lab help <command>",
  usage: 'help [command]',
  options: [],
  async run(args, io) {
    const [topic, ...extra] = args.positionals;
    if (extra.length) throw new UsageError(`help takes one command, got "${args.positionals.join(' ')}"`);
    io.stdout.write(topic === undefined ? topHelp(entries) : commandHelp(await findCommand(topic).load()));
    return ExitCode.pass;
  },
};

const versionCommand: Command = {
  name: 'version',
  summary: "print hubble-lab's version",
  usage: 'version',
  options: [],
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`version takes no arguments, got "${args.positionals.join(' ')}"`);
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    io.stdout.write(`hubble-lab ${version}\n`);
    return ExitCode.pass;
  },
};

/** Every command `hubble-lab` takes, in the order `--help` lists them. */
const entries: readonly CommandEntry[] = [
  ...commandTable,
  {
    name: 'completion',
    group: 'Other',
    summary: 'print a bash or zsh completion script: source <(hubble-lab completion bash)',
    load: async () => (await import('./cli/completion.ts')).completionCommand(entries),
  },
  { name: helpCommand.name, group: 'Other', summary: helpCommand.summary, load: async () => helpCommand },
  { name: versionCommand.name, group: 'Other', summary: versionCommand.summary, load: async () => versionCommand },
];

/** The command list, for tests that hold it against the command modules. */
export const commandEntries = entries;

function findCommand(name: string): CommandEntry {
  const entry = entries.find((e) => e.name === name);
  if (entry) return entry;
  const guess = closest(
    name,
    entries.map((e) => e.name),
  );
  throw new UsageError(`unknown command "${name}"${guess ? ` — did you mean "${guess}"?` : ''}`, {
    hint: 'run `hubble-lab --help` for the list of commands',
  });
}

function defaultIO(): CommandIO {
  const controller = new AbortController();
  // The first signal asks the command to stop cleanly; a second one ends the process at once.
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Output that cannot be written (a full disk) ends the command with one line; a reader that went away (EPIPE)
  // is for the command to handle.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') return;
    process.stderr.write(`hubble-lab: ${formatError(outputError(err, 'write to', 'standard output'))}\n`);
    process.exit(ExitCode.error);
  });
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal };
}

export async function main(argv: string[], io: CommandIO = defaultIO()): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h') {
      io.stdout.write(topHelp(entries));
      return name === undefined ? ExitCode.error : ExitCode.pass;
    }
    if (name === '--version') return await versionCommand.run({ ordered: [], positionals: [] }, io);
    if (name.startsWith('-')) {
      const guess = closest(name, ['--help', '--version']);
      throw new UsageError(`unknown flag ${name}${guess ? ` — did you mean ${guess}?` : ''}`, {
        hint: 'flags go after the command: hubble-lab <command> [flags]; run `hubble-lab --help` for the commands',
      });
    }
    const cmd = await findCommand(name).load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(commandHelp(cmd));
      return ExitCode.pass;
    }
    return await cmd.run(parseArgs(rest, cmd.options, cmd.name), io);
  } catch (err) {
    io.stderr.write(`hubble-lab: ${formatError(err)}\n`);
    return err instanceof HubbleLabError ? err.exitCode : ExitCode.error;
  }
}
