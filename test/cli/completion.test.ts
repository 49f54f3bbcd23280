// hubble-lab completion bash|zsh: the script is accepted by the shell and completes commands, subcommands and each
// command's flags. Real shells, real processes.
import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandEntries } from '../../lib/cli.ts';
import { concurrencyLimit, runNode, type CliResult } from '../fixtures/cli-process.ts';

const bin = fileURLToPath(new URL('../../bin/hubble-lab.mjs', import.meta.url));

// The CLI runs and the shells that load its scripts are independent of each other: they run side by side, a few at a time.
const slot = concurrencyLimit(4);
const cli = (args: string[]) => slot(() => runNode([bin, ...args], process.env, 120_000));
/** `shell ARGS`; its code is -1 if it does not end within `timeoutMs`. */
const shell = (file: string, args: string[], timeoutMs: number) =>
  slot(
    () =>
      new Promise<CliResult>((resolve) => {
        execFile(file, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
        });
      }),
  );

function has(shell: string): boolean {
  return spawnSync(shell, ['-c', 'exit 0']).status === 0;
}
const hasZsh = has('zsh');

// As each script's own comment says to load it: from the command, through process substitution.
const [bash, bashLoaded, zsh, zshLoaded, fish] = await Promise.all([
  cli(['completion', 'bash']),
  shell('bash', ['-c', `source <("${process.execPath}" "${bin}" completion bash) && complete -p hubble-lab`], 120_000),
  hasZsh ? cli(['completion', 'zsh']) : undefined,
  hasZsh
    ? shell(
        'zsh',
        ['-fc', `autoload -U compinit && compinit -u -D && source <("${process.execPath}" "${bin}" completion zsh) && print -r -- $_comps[hubble-lab]`],
        120_000,
      )
    : undefined,
  cli(['completion', 'fish']),
]);

t.test('bash accepts the script and registers hubble-lab', async (t) => {
  t.equal(bash.code, 0, bash.stderr);
  t.equal(bashLoaded.code, 0, bashLoaded.stderr);
  t.equal(bashLoaded.stdout, 'complete -o default -F _hubble_lab hubble-lab\n');
});

t.test('bash completes commands, subcommands and flags', async (t) => {
  const dir = t.testdir({});
  const script = join(dir, 'hubble-lab.bash');
  writeFileSync(script, bash.stdout);
  /** What bash offers for the words typed so far (the last one being completed). */
  const complete = (...words: string[]) => {
    const line = ['hubble-lab', ...words].map((w) => `'${w}'`).join(' ');
    const r = spawnSync(
      'bash',
      ['-c', `source '${script}'; COMP_WORDS=(${line}); COMP_CWORD=${words.length}; _hubble_lab; printf '%s\\n' "\${COMPREPLY[@]}"`],
      { encoding: 'utf8' },
    );
    t.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n').filter(Boolean);
  };
  t.same(
    complete(''),
    commandEntries.map((e) => e.name),
    'every command',
  );
  t.same(complete('an'), ['analyze']);
  t.same(complete('policy', ''), ['suggest', 'check'], "policy's subcommands");
  t.same(complete('completion', ''), ['bash', 'zsh']);
  t.same(complete('help', 'te'), ['teardown']);
  t.same(complete('observe', '--to-na'), ['--to-namespace']);
  t.same(complete('doctor', '--'), ['--kubeconfig', '--context', '--help']);
  t.same(complete('observe', '--input-file', ''), [], "a flag's value is left to bash's file names");
  for (const entry of commandEntries) {
    const cmd = await entry.load();
    const flags = complete(entry.name, '-');
    for (const o of cmd.options) t.ok(flags.includes(`--${o.name}`) && (!o.short || flags.includes(`-${o.short}`)), `${entry.name} --${o.name}`);
  }
});

t.test('zsh accepts the script', { skip: hasZsh ? false : 'zsh is not installed here' }, async (t) => {
  if (!zsh || !zshLoaded) return;
  t.equal(zsh.code, 0, zsh.stderr);
  t.equal(zshLoaded.code, 0, zshLoaded.stderr);
  t.equal(zshLoaded.stdout, '_hubble-lab\n');
  t.equal(zshLoaded.stderr, '');

  // An interactive zsh in a pseudo-terminal, once it has loaded the script: `pol` TAB, ` --in` TAB, then print the line.
  const dir = t.testdir({ 'hubble-lab.zsh': zsh.stdout });
  const drive = `
    zmodload zsh/zpty
    zpty z 'zsh -f -i'
    zpty -w z 'PS1="> "; bindkey -e; autoload -U compinit; compinit -u -D; source ${join(dir, 'hubble-lab.zsh')}; hubble-lab() { :; }; print -r -- RE""ADY'
    all='' nl=$'\\n'
    waitfor() { local out tries=0; while (( tries++ < 200 )); do if zpty -r -t z out; then all+=$out; [[ $all == $~1 ]] && return 0; else sleep 0.25; fi; done; return 1 }
    waitfor "*\${nl}READY*" || print 'no READY'
    zpty -w -n z $'hubble-lab pol\\t --in\\t\\x01echo LINE:\\x05\\n'
    waitfor "*\${nl}LINE:hubble-lab*\${nl}*" || { print 'no LINE:'; print -r -- "$all" | cat -v | tail -2; }
    print -r -- \${\${(f)all}[(r)LINE:hubble-lab*]}
    zpty -d z`;
  const typed = spawnSync('zsh', ['-fc', drive], { encoding: 'utf8', timeout: 60_000 });
  t.equal(typed.stdout.replace(/\r/g, '').trim(), 'LINE:hubble-lab policy --input', 'pol<TAB> --in<TAB> completes to policy --input');
});

t.test('an unknown shell is a usage error', async (t) => {
  t.equal(fish.code, 2);
  t.equal(fish.stderr, 'hubble-lab: completion: unknown shell "fish"\n  hint: run `hubble-lab completion bash` or `hubble-lab completion zsh`\n');
});
