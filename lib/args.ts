// Command-line parsing: options in the order given (hubble's --not depends on order), with clear errors.
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

function closest(name: string, names: string[]): string | undefined {
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
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const ordered: ParsedOption[] = [];
  const positionals: string[] = [];
  const seen = new Set<string>();

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    let shown: string;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
      spec = byName.get(name);
      shown = `--${name}`;
      if (!spec) {
        const guess = closest(name, [...byName.keys()]);
        throw new UsageError(`${command}: unknown flag --${name}`, {
          hint: guess ? `did you mean --${guess}? See \`hubble-lab ${command} --help\`.` : `see \`hubble-lab ${command} --help\``,
        });
      }
    } else {
      const letter = arg.slice(1, 2);
      spec = byShort.get(letter);
      shown = `-${letter}`;
      if (arg.length > 2) inline = arg[2] === '=' ? arg.slice(3) : arg.slice(2);
      if (!spec) {
        throw new UsageError(`${command}: unknown flag -${letter}`, { hint: `see \`hubble-lab ${command} --help\`` });
      }
    }
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
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`${command}: ${shown} needs a value`);
      raw = next;
      i++;
    }
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
  const rows = specs.map((s) => {
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.type === 'boolean' ? '' : ` ${s.valueName ?? s.type.toUpperCase()}`}`;
    return { s, flag };
  });
  const width = Math.min(40, Math.max(...rows.map((r) => r.flag.length)) + 2);
  for (const { s, flag } of rows) {
    if (s.group && s.group !== group) {
      group = s.group;
      lines.push('', `${group}:`);
    }
    const extra = [s.repeatable ? 'repeatable' : '', s.default !== undefined ? `default ${s.default}` : '']
      .filter(Boolean)
      .join(', ');
    lines.push(`  ${flag.padEnd(width)}${s.description}${extra ? ` (${extra})` : ''}`);
  }
  return lines.join('\n');
}
