// `hubble-lab completion bash|zsh`: a shell completion script for the commands, their subcommands and their flags,
// generated from the commands themselves (so it loads every command module: print it once into a file, or source it).
import type { OptionSpec } from '../args.ts';
import type { Command } from '../command.ts';
import { UsageError } from '../errors.ts';
import type { CommandEntry } from './commands.ts';
import { helpOption } from './help.ts';

const shells = ['bash', 'zsh'] as const;
type Shell = (typeof shells)[number];

interface Completable {
  name: string;
  summary: string;
  options: OptionSpec[];
  /** Words allowed right after the command name: `policy suggest|check`, `sim start`, `help <command>`. */
  words: string[];
}

/** A value that names a file or folder completes as one; any other value has nothing to offer. */
function takesPath(o: OptionSpec): boolean {
  return o.type !== 'boolean' && /FILE|PATH|DIR/.test(o.valueName ?? '');
}

/** `sub1|sub2` as the first word of a usage line is the command's subcommands. */
function subcommandsOf(cmd: Command): string[] {
  const first = cmd.usage.split(/\s+/)[1] ?? '';
  return /^[a-z][a-z-]*(\|[a-z][a-z-]*)*$/.test(first) ? first.split('|') : [];
}

const single = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bashScript(cmds: Completable[]): string {
  const flagWords = (c: Completable) => [...c.options, helpOption].flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]);
  const valued = (c: Completable) => c.options.filter((o) => o.type !== 'boolean').flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]);
  const cases = cmds.map((c) =>
    [
      `    ${c.name})`,
      `      flags=${single(flagWords(c).join(' '))}`,
      `      valued=${single(valued(c).join(' '))}`,
      `      words=${single(c.words.join(' '))}`,
      '      ;;',
    ].join('\n'),
  );
  return `# bash completion for hubble-lab
# In this shell:   source <(hubble-lab completion bash)
# In every shell:  hubble-lab completion bash > ~/.local/share/bash-completion/completions/hubble-lab

_hubble_lab() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local flags='' valued='' words=''
  COMPREPLY=()
  if (( COMP_CWORD == 1 )); then
    COMPREPLY=($(compgen -W ${single(cmds.map((c) => c.name).join(' '))} -- "$cur"))
    return
  fi
  case \${COMP_WORDS[1]} in
${cases.join('\n')}
  esac
  # The value of a flag: bash's own completion (file names, through -o default).
  [[ " $valued " == *" $prev "* ]] && return
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif (( COMP_CWORD == 2 )) && [[ -n $words ]]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}

complete -o default -F _hubble_lab hubble-lab
`;
}

function zshSpecs(o: OptionSpec): string[] {
  const description = `[${o.description.replace(/\\/g, '\\\\').replace(/[[\]]/g, '\\$&')}]`;
  const action = !takesPath(o) ? ' ' : o.valueName === 'DIR' ? '_files -/' : '_files';
  const value = o.type === 'boolean' ? '' : `:${o.valueName ?? o.type.toUpperCase()}:${action}`;
  const repeat = o.repeatable ? '*' : '';
  return [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])].map((flag) => single(`${repeat}${flag}${description}${value}`));
}

function zshScript(cmds: Completable[]): string {
  const described = cmds.map((c) => `    ${single(`${c.name}:${c.summary}`)}`);
  const cases = cmds.map((c) => {
    const specs = [...c.options, helpOption].flatMap(zshSpecs);
    if (c.words.length) specs.push(single(`1:${c.name === 'help' ? 'command' : 'subcommand'}:(${c.words.join(' ')})`));
    specs.push(single('*:file:_files'));
    return `    ${c.name})\n      _arguments -s \\\n        ${specs.join(' \\\n        ')}\n      ;;`;
  });
  return `#compdef hubble-lab
# zsh completion for hubble-lab
# In this shell (after compinit):  source <(hubble-lab completion zsh)
# In every shell:  hubble-lab completion zsh > "\${fpath[1]}/_hubble-lab"

_hubble-lab() {
  local -a commands
  commands=(
${described.join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'hubble-lab command' commands
    return
  fi
  # The command's own arguments, as if it were the command line.
  shift words
  (( CURRENT-- ))
  case $words[1] in
${cases.join('\n')}
  esac
}

if [[ $funcstack[1] == _hubble-lab ]]; then
  _hubble-lab "$@"
else
  compdef _hubble-lab hubble-lab
fi
`;
}

/** The completion command over `entries`, which it lists with itself. */
export function completionCommand(entries: readonly CommandEntry[]): Command {
  return {
    name: 'completion',
    summary: 'print a bash or zsh completion script: source <(hubble-lab completion bash)',
    usage: 'completion bash|zsh',
    options: [],
    details: [
      'Examples:',
      '  source <(hubble-lab completion bash)                                             # this shell',
      '  hubble-lab completion bash > ~/.local/share/bash-completion/completions/hubble-lab   # every bash',
      '  hubble-lab completion zsh > "${fpath[1]}/_hubble-lab"                             # every zsh',
    ].join('\n'),
    async run(args, io) {
      const [shell, ...extra] = args.positionals;
      if (!shells.includes(shell as Shell)) {
        throw new UsageError(shell ? `completion: unknown shell "${shell}"` : 'completion needs a shell', {
          hint: 'run `hubble-lab completion bash` or `hubble-lab completion zsh`',
        });
      }
      if (extra.length) throw new UsageError(`completion ${shell} takes no other arguments, got "${extra.join(' ')}"`);
      const names = entries.map((e) => e.name);
      const cmds: Completable[] = [];
      for (const entry of entries) {
        const cmd = await entry.load();
        cmds.push({ name: cmd.name, summary: cmd.summary, options: cmd.options, words: cmd.name === 'help' ? names : subcommandsOf(cmd) });
      }
      io.stdout.write(shell === 'bash' ? bashScript(cmds) : zshScript(cmds));
      return 0;
    },
  };
}
