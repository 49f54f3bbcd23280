// The `hubble-lab` command: parses argv, dispatches to a subcommand, turns errors into messages and exit codes.
import { formatOptionsHelp, parseArgs } from './args.ts';
import type { Command, CommandIO } from './command.ts';
import { ExitCode, HubbleLabError, UsageError, formatError, outputError } from './errors.ts';

/** Subcommands load lazily so that `--help` and small commands start fast. */
const commands: Record<string, () => Promise<Command>> = {
  observe: async () => (await import('./commands/observe.ts')).observeCommand,
  analyze: async () => (await import('./commands/analyze.ts')).analyzeCommand,
  relay: async () => (await import('./commands/relay.ts')).relayCommand,
  sim: async () => (await import('./commands/sim.ts')).simCommand,
  run: async () => (await import('./commands/run.ts')).runCommand,
  'port-forward': async () => (await import('./commands/port-forward.ts')).portForwardCommand,
  doctor: async () => (await import('./commands/doctor.ts')).doctorCommand,
  policy: async () => (await import('./commands/policy.ts')).policyCommand,
  teardown: async () => (await import('./commands/teardown.ts')).teardownCommand,
};

async function loadCommands(): Promise<Command[]> {
  const loaded: Command[] = [];
  for (const load of Object.values(commands)) {
    loaded.push(await load());
  }
  return loaded;
}

export function commandHelp(cmd: Command): string {
  const parts = [`Usage: hubble-lab ${cmd.usage}`, '', cmd.summary, '', 'Flags:', formatOptionsHelp(cmd.options)];
  parts.push(`  ${'-h, --help'.padEnd(12)}show this help`);
  if (cmd.details) parts.push('', cmd.details.trimEnd());
  return parts.join('\n') + '\n';
}

async function topHelp(): Promise<string> {
  const all = await loadCommands();
  const width = Math.max(...all.map((c) => c.name.length)) + 2;
  const lines = [
    'hubble-lab — the Network Observability with Hubble lab as software.',
    '',
    'Usage: hubble-lab <command> [flags]      (hubble-lab <command> --help for its flags)',
    '',
    'Commands:',
    ...all.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
  ];
  for (const c of all) {
    lines.push('', `hubble-lab ${c.usage}`, formatOptionsHelp(c.options));
  }
  lines.push(
    '',
    'Exit codes: 0 pass, 1 compliance failed, 2 usage/input/infrastructure error, 3 incomplete data.',
  );
  return lines.join('\n') + '\n';
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
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      io.stdout.write(await topHelp());
      return name === undefined ? ExitCode.error : ExitCode.pass;
    }
    if (name === '--version') {
      io.stdout.write('hubble-lab 0.1.0\n');
      return ExitCode.pass;
    }
    const load = commands[name];
    if (!load) throw new UsageError(`unknown command "${name}"`, { hint: 'run `hubble-lab --help` for the list of commands' });
    const cmd = await load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(commandHelp(cmd));
      return ExitCode.pass;
    }
    const parsed = parseArgs(rest, cmd.options, cmd.name);
    return await cmd.run(parsed, io);
  } catch (err) {
    io.stderr.write(`hubble-lab: ${formatError(err)}\n`);
    return err instanceof HubbleLabError ? err.exitCode : ExitCode.error;
  }
}
