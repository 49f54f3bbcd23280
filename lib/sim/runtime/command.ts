// A container's command line: its argv as Kubernetes builds it from the image defaults, command and args, and the
// `sh -c` scripts the sim's shell runs, split into simple commands joined by && || ;.
import { expandVars } from './env.ts';

/** A command the runtime cannot run: the container fails with this message, as a shell would. */
export class UnsupportedCommand extends Error {}

/** The argv the container starts with: ENTRYPOINT/CMD of the node image, overridden by command/args (Kubernetes rules). */
export function containerArgv(container: Record<string, any>, cluster: Record<string, string>): string[] {
  const expand = (v: unknown) => expandVars(String(v), cluster);
  const command = Array.isArray(container.command) ? container.command.map(expand) : undefined;
  const args = Array.isArray(container.args) ? container.args.map(expand) : undefined;
  if (command?.length) return [...command, ...(args ?? [])];
  // node image: ENTRYPOINT ["docker-entrypoint.sh"], CMD ["node"]
  return ['docker-entrypoint.sh', ...(args ?? ['node'])];
}

/** The container's command and args as given (no image defaults), for images whose entrypoint runs them as they are. */
export function givenArgv(container: Record<string, any>, cluster: Record<string, string>): string[] {
  const expand = (v: unknown) => expandVars(String(v), cluster);
  return [...(Array.isArray(container.command) ? container.command.map(expand) : []), ...(Array.isArray(container.args) ? container.args.map(expand) : [])];
}

/** `>FILE`, `>>FILE`, `2>FILE`, `2>&1`, `>&2`: where a command's stdout (1) or stderr (2) goes. */
export interface Redirect {
  fd: 1 | 2;
  append: boolean;
  /** The other descriptor it joins; else `file`. */
  dup?: 1 | 2;
  file?: string;
}

type Token = { word: string } | { op: '&&' | '||' | ';' } | { redirect: Redirect };

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
  for (let i = 0; i < script.length;) {
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
    if (ch === '>') {
      // A lone 1 or 2 just before > names the descriptor (2>…), anything else is a word of its own.
      const fd: 1 | 2 = word === '2' ? 2 : 1;
      if (word === '1' || word === '2') word = undefined;
      else push();
      const append = script[i + 1] === '>';
      i += append ? 2 : 1;
      const dup = /^&([12])/.exec(script.slice(i));
      if (dup) i += 2;
      tokens.push({ redirect: { fd, append, ...(dup ? { dup: Number(dup[1]) as 1 | 2 } : {}) } });
      while (script[i] === ' ' || script[i] === '\t') i++;
      continue;
    }
    if (two === '$(' || '|&<`()'.includes(ch)) {
      throw new UnsupportedCommand(
        `sh: unsupported in the simulated cluster: "${script.slice(i, i + 20)}" (pipes, input redirections, subshells and background jobs are not emulated)`,
      );
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

/** One simple command of a `sh -c` script: leading VAR=value assignments, its words, and how it joins the previous one. */
export interface ScriptCommand {
  assignments: Record<string, string>;
  words: string[];
  redirects: Redirect[];
  after?: '&&' | '||' | ';';
}

/** Splits a `sh -c` script into simple commands; throws UnsupportedCommand for what the sim's shell does not run. */
export function parseScript(script: string, env: Record<string, string>): ScriptCommand[] {
  const commands: ScriptCommand[] = [];
  let words: string[] = [];
  let redirects: Redirect[] = [];
  let after: ScriptCommand['after'];
  const flush = (next?: ScriptCommand['after']) => {
    if (words.length) {
      const assignments: Record<string, string> = {};
      while (words[0] && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
        const [k, ...v] = words[0].split('=');
        assignments[k!] = v.join('=');
        words = words.slice(1);
      }
      if (words[0] === 'exec') words = words.slice(1);
      commands.push({ assignments, words, redirects, ...(after ? { after } : {}) });
    }
    words = [];
    redirects = [];
    after = next;
  };
  let target: Redirect | undefined;
  for (const t of tokenize(script, env)) {
    if ('word' in t) {
      if (target) {
        target.file = t.word;
        target = undefined;
      } else words.push(t.word);
    } else if ('redirect' in t) {
      if (target) throw new UnsupportedCommand('sh: syntax error: a redirection needs a file');
      redirects.push(t.redirect);
      if (t.redirect.dup === undefined) target = t.redirect;
    } else {
      if (target) throw new UnsupportedCommand(`sh: syntax error: unexpected "${t.op}"`);
      flush(t.op);
    }
  }
  if (target) throw new UnsupportedCommand('sh: syntax error: unexpected end of file');
  flush();
  return commands;
}
