// Command-line parsing: options in the order given (hubble's --not depends on order), with clear errors.
import { parseArgs as nodeParseArgs } from 'node:util';
import { UsageError } from './errors.ts';

export interface OptionSpec {
  name: string;
  short?: string;
  /** 'boolean' takes no value; the others take one (`--x v` or `--x=v`). */
  type: 'boolean' | 'string' | 'number';
  repeatable?: boolean;
  description: string;
  /** Shown in help as the value's name. */
  valueName?: string;
  default?: string | number | boolean;
  /** Help sections group related options. */
  group?: string;
}

export interface ParsedOption {
  name: string;
  value: string | boolean | number;
}

export interface ParsedArgs {
  /** Every option in command-line order. */
  ordered: ParsedOption[];
  positionals: string[];
}

/** The name in `names` nearest to `name` (edit distance), if near enough to be what was meant. */
export function closest(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of names) {
    const d = editDistance(name, candidate);
    if (d < bestScore) {
      bestScore = d;
      best = candidate;
    }
  }
  return bestScore <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command: string): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  // Node splits argv into tokens in command-line order (what --not needs): `--x v`, `--x=v`, `-xv`, `-x=v`, grouped
  // short booleans (`-Pf`), `--`. It is told every option as a string or a boolean and is not strict: the checks
  // and their messages (unknown flags with a suggestion, values, numbers, repeats) are ours.
  const { tokens } = nodeParseArgs({
    args: [...argv],
    options: Object.fromEntries(specs.map((s) => [s.name, { type: s.type === 'boolean' ? 'boolean' : 'string', ...(s.short ? { short: s.short } : {}) }])),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const ordered: ParsedOption[] = [];
  const positionals: string[] = [];
  const seen = new Set<string>();

  // `-f=false`: Node reads a short boolean followed by more characters as a group of short flags (`-f -= -f …`);
  // hubble's flag library, like ours, reads it as -f with the value false.
  let groupWithValue = -1;
  for (const token of tokens) {
    if (token.index === groupWithValue) continue;
    if (token.kind === 'option' && token.rawName.length === 2 && token.value === undefined && argv[token.index]!.startsWith(`${token.rawName}=`)) {
      groupWithValue = token.index;
      Object.assign(token, { value: argv[token.index]!.slice(3), inlineValue: true });
    }
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === 'option-terminator') continue;
    const shown = token.rawName;
    const spec = byName.get(token.name);
    // A short flag is known by its letter: Node names an unknown one after the letter, and a long flag given as
    // `--n` is not the short -n.
    if (!spec || (shown.startsWith('--') ? shown !== `--${spec.name}` : shown !== `-${spec.short}`)) {
      if (shown.startsWith('--')) {
        const guess = closest(shown.slice(2), [...byName.keys()]);
        throw new UsageError(`${command}: unknown flag ${shown}`, {
          hint: guess ? `did you mean --${guess}? See \`hubble-lab ${command} --help\`.` : `see \`hubble-lab ${command} --help\``,
        });
      }
      throw new UsageError(`${command}: unknown flag ${shown}`, { hint: `see \`hubble-lab ${command} --help\`` });
    }
    // `-o=json` is json, as in hubble's flag library (Node keeps the '=').
    const inline = token.inlineValue && !shown.startsWith('--') && token.value?.startsWith('=') ? token.value.slice(1) : token.value;
    if (spec.type === 'boolean') {
      let value = true;
      if (inline !== undefined) {
        if (!/^(true|false)$/.test(inline)) {
          throw new UsageError(`${command}: ${shown} takes true or false, not "${inline}"`);
        }
        value = inline === 'true';
      }
      ordered.push({ name: spec.name, value });
      continue;
    }
    const raw = inline;
    if (raw === undefined) throw new UsageError(`${command}: ${shown} needs a value`);
    if (!spec.repeatable && seen.has(spec.name)) {
      throw new UsageError(`${command}: ${shown} given more than once`);
    }
    seen.add(spec.name);
    if (spec.type === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) {
        throw new UsageError(`${command}: ${shown} needs a number, not "${raw}"`);
      }
      ordered.push({ name: spec.name, value: n });
    } else {
      ordered.push({ name: spec.name, value: raw });
    }
  }
  return { ordered, positionals };
}

/** The last value of a flag, or undefined. */
export function optionValue(parsed: ParsedArgs, name: string): string | number | boolean | undefined {
  let value: string | number | boolean | undefined;
  for (const o of parsed.ordered) if (o.name === name) value = o.value;
  return value;
}

export function optionString(parsed: ParsedArgs, name: string): string | undefined {
  const v = optionValue(parsed, name);
  return v === undefined ? undefined : String(v);
}

export function optionNumber(parsed: ParsedArgs, name: string): number | undefined {
  const v = optionValue(parsed, name);
  return typeof v === 'number' ? v : undefined;
}

export function optionFlag(parsed: ParsedArgs, name: string): boolean {
  return optionValue(parsed, name) === true;
}

export function optionValues(parsed: ParsedArgs, name: string): string[] {
  return parsed.ordered.filter((o) => o.name === name).map((o) => String(o.value));
}

export function formatOptionsHelp(specs: readonly OptionSpec[]): string {
  const lines: string[] = [];
  let group: string | undefined;
  // Flags without a heading come first: after a heading they would read as part of its group.
  const ordered = [...specs.filter((s) => !s.group), ...specs.filter((s) => s.group)];
  const groups = [...new Set(ordered.map((s) => s.group))];
  ordered.sort((a, b) => groups.indexOf(a.group) - groups.indexOf(b.group));
  const rows = ordered.map((s) => {
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.type === 'boolean' ? '' : ` ${s.valueName ?? s.type.toUpperCase()}`}`;
    return { s, flag };
  });
  const width = Math.min(40, Math.max(...rows.map((r) => r.flag.length)) + 2);
  for (const { s, flag } of rows) {
    if (s.group && s.group !== group) {
      group = s.group;
      lines.push('', `${group}:`);
    }
    const extra = [s.repeatable ? 'repeatable' : '', s.default !== undefined ? `default ${s.default}` : ''].filter(Boolean).join(', ');
    lines.push(`  ${flag.padEnd(width)}${s.description}${extra ? ` (${extra})` : ''}`);
  }
  return lines.join('\n');
}
