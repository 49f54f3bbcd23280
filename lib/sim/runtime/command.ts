// What a node:* container runs: its command and args as the image's entrypoint would see them, reduced to steps
// the runtime can execute — `node …` (a real Node process) and a few shell builtins, joined by && || ;.
import { expandVars } from './env.ts';

export type Step =
  /** Runs Node with these arguments (everything after `node`). */
  | { kind: 'node'; args: string[]; env: Record<string, string> }
  | { kind: 'builtin'; name: 'cd' | 'echo' | 'sleep' | 'true' | 'false' | 'exit' | 'export'; args: string[] }
  /** A program the simulated image cannot run; the container exits 127 with the message in its log. */
  | { kind: 'missing'; name: string; message: string };

export interface ProgramStep {
  step: Step;
  /** How this step is joined to the previous one (undefined for the first). */
  after?: '&&' | '||' | ';';
}

/** A command the runtime cannot run: the container fails with this message, as a shell would. */
export class UnsupportedCommand extends Error {}

const shells = new Set(['sh', 'bash', 'ash', 'dash']);
const nodeNames = new Set(['node', 'nodejs']);
const builtins = new Set(['cd', 'echo', 'sleep', 'true', 'false', 'exit', 'export']);

function base(cmd: string): string {
  return cmd.slice(cmd.lastIndexOf('/') + 1);
}

/** The argv the container starts with: ENTRYPOINT/CMD of the node image, overridden by command/args (Kubernetes rules). */
export function containerArgv(container: Record<string, any>, cluster: Record<string, string>): string[] {
  const expand = (v: unknown) => expandVars(String(v), cluster);
  const command = Array.isArray(container.command) ? container.command.map(expand) : undefined;
  const args = Array.isArray(container.args) ? container.args.map(expand) : undefined;
  if (command?.length) return [...command, ...(args ?? [])];
  // node image: ENTRYPOINT ["docker-entrypoint.sh"], CMD ["node"]
  return ['docker-entrypoint.sh', ...(args ?? ['node'])];
}

/** Turns the container's argv into steps; env is the container's environment (for $VAR in shell scripts). */
export function nodeImageProgram(argv: string[], env: Record<string, string>): ProgramStep[] {
  let words = argv;
  if (base(words[0] ?? '') === 'docker-entrypoint.sh') {
    words = words.slice(1);
    // The entrypoint runs its first argument when it is a command, and hands everything else to node.
    const first = words[0];
    if (first === undefined || first.startsWith('-') || !isCommand(first)) words = ['node', ...words];
  }
  const cmd = words[0];
  if (cmd !== undefined && shells.has(base(cmd))) {
    const c = words.indexOf('-c');
    if (c >= 0) return shellScript(words[c + 1] ?? '', env);
    // A shell with no script and no terminal reads an empty stdin and exits 0; script files are not emulated.
    if (words.length === 1) return [{ step: { kind: 'builtin', name: 'true', args: [] } }];
    return [{ step: { kind: 'missing', name: cmd, message: `${cmd}: running script files is not emulated in the simulated cluster (use ${cmd} -c or node)` } }];
  }
  return [{ step: simpleCommand(words, {}) }];
}

function isCommand(word: string): boolean {
  const b = base(word);
  return nodeNames.has(b) || shells.has(b) || builtins.has(b) || ['npm', 'npx', 'yarn', 'env'].includes(b);
}

function simpleCommand(words: string[], assignments: Record<string, string>): Step {
  let rest = words;
  const env = { ...assignments };
  if (base(rest[0] ?? '') === 'env') {
    rest = rest.slice(1);
    while (rest[0] && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[0])) {
      const [k, ...v] = rest[0].split('=');
      env[k!] = v.join('=');
      rest = rest.slice(1);
    }
  }
  const cmd = rest[0];
  if (cmd === undefined) return { kind: 'builtin', name: 'true', args: [] };
  const b = base(cmd);
  if (nodeNames.has(b)) return { kind: 'node', args: rest.slice(1), env };
  if (builtins.has(b)) return { kind: 'builtin', name: b as 'cd', args: rest.slice(1) };
  if (['npm', 'npx', 'yarn'].includes(b)) {
    return { kind: 'missing', name: b, message: `${b}: not available in the simulated cluster (run the script with node directly)` };
  }
  return { kind: 'missing', name: cmd, message: `sh: ${cmd}: not found` };
}

type Token = { word: string } | { op: '&&' | '||' | ';' };

/** Splits a `sh -c` script into words and operators; expands $VAR and ${VAR} outside single quotes. */
function tokenize(script: string, env: Record<string, string>): Token[] {
  const tokens: Token[] = [];
  let word: string | undefined;
  const push = () => {
    if (word !== undefined) tokens.push({ word });
    word = undefined;
  };
  const variable = (i: number): [string, number] => {
    const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(script.slice(i));
    const plain = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(script.slice(i));
    const m = braced ?? plain;
    if (!m) return ['$', 1];
    return [env[m[1]!] ?? '', m[0].length];
  };
  for (let i = 0; i < script.length; ) {
    const ch = script[i]!;
    const two = script.slice(i, i + 2);
    if (ch === '#' && word === undefined) {
      while (i < script.length && script[i] !== '\n') i++;
      continue;
    }
    if (two === '&&' || two === '||') {
      push();
      tokens.push({ op: two });
      i += 2;
      continue;
    }
    if (ch === ';' || ch === '\n') {
      push();
      tokens.push({ op: ';' });
      i++;
      continue;
    }
    if (ch === ' ' || ch === '\t') {
      push();
      i++;
      continue;
    }
    if (two === '$(' || '|&<>`()'.includes(ch)) {
      throw new UnsupportedCommand(`sh: unsupported in the simulated cluster: "${script.slice(i, i + 20)}" (pipes, redirections, subshells and background jobs are not emulated)`);
    }
    if (ch === "'") {
      const end = script.indexOf("'", i + 1);
      if (end < 0) throw new UnsupportedCommand('sh: syntax error: unterminated quoted string');
      word = (word ?? '') + script.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      let text = '';
      while (j < script.length && script[j] !== '"') {
        if (script[j] === '\\' && '"\\$`'.includes(script[j + 1] ?? '')) {
          text += script[j + 1];
          j += 2;
        } else if (script[j] === '$') {
          const [value, len] = variable(j);
          text += value;
          j += len;
        } else text += script[j++];
      }
      if (j >= script.length) throw new UnsupportedCommand('sh: syntax error: unterminated quoted string');
      word = (word ?? '') + text;
      i = j + 1;
      continue;
    }
    if (ch === '\\') {
      word = (word ?? '') + (script[i + 1] ?? '');
      i += 2;
      continue;
    }
    if (ch === '$') {
      const [value, len] = variable(i);
      word = (word ?? '') + value;
      i += len;
      continue;
    }
    word = (word ?? '') + ch;
    i++;
  }
  push();
  return tokens;
}

function shellScript(script: string, env: Record<string, string>): ProgramStep[] {
  const steps: ProgramStep[] = [];
  let words: string[] = [];
  let after: ProgramStep['after'];
  const flush = (next?: ProgramStep['after']) => {
    if (words.length) {
      const assignments: Record<string, string> = {};
      while (words[0] && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
        const [k, ...v] = words[0].split('=');
        assignments[k!] = v.join('=');
        words = words.slice(1);
      }
      if (words[0] === 'exec') words = words.slice(1);
      const step: Step = words.length ? simpleCommand(words, assignments) : { kind: 'builtin', name: 'export', args: Object.entries(assignments).map(([k, v]) => `${k}=${v}`) };
      steps.push(after ? { step, after } : { step });
    }
    words = [];
    after = next;
  };
  for (const t of tokenize(script, env)) {
    if ('word' in t) words.push(t.word);
    else flush(t.op);
  }
  flush();
  return steps;
}
