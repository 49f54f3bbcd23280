// What `hubble-lab --help` and `hubble-lab <command> --help` print.
import { formatOptionsHelp, type OptionSpec } from '../args.ts';
import type { Command } from '../command.ts';
import type { CommandEntry } from './commands.ts';

/** The command list, grouped as in the table; built from the table alone, so no command module loads for it. */
export function topHelp(entries: readonly CommandEntry[]): string {
  const width = Math.max(...entries.map((e) => e.name.length)) + 2;
  const lines = ['hubble-lab — the Network Observability with Hubble lab as software.', '', 'Usage:', '  hubble-lab <command> [flags]'];
  for (const group of new Set(entries.map((e) => e.group))) {
    lines.push('', `${group}:`);
    for (const e of entries) if (e.group === group) lines.push(`  ${e.name.padEnd(width)}${e.summary}`);
  }
  lines.push(
    '',
    'Flags:',
    '  -h, --help     show this help',
    '      --version  print the version',
    '',
    'Run "hubble-lab <command> --help" (or "hubble-lab help <command>") for a command\'s flags.',
    'Exit codes: 0 pass, 1 compliance failed, 2 usage/input/infrastructure error, 3 incomplete data.',
  );
  return lines.join('\n') + '\n';
}

/** Every command takes it; main() answers it before the command's own flags are parsed. */
export const helpOption: OptionSpec = { name: 'help', short: 'h', type: 'boolean', description: 'show this help' };

export function commandHelp(cmd: Command): string {
  const parts = [`Usage: hubble-lab ${cmd.usage}`, '', cmd.summary, '', 'Flags:', formatOptionsHelp([...cmd.options, helpOption])];
  if (cmd.details) parts.push('', cmd.details.trimEnd());
  return parts.join('\n') + '\n';
}
