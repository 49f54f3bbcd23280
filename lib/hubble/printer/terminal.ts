// Colours and terminal-escape neutralisation as the hubble printer applies them (fatih/color codes, ESC → ^[).

export type ColorMode = 'auto' | 'always' | 'never';

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;
export type ColorName = keyof typeof CODES;

export interface Colorer {
  readonly enabled: boolean;
  paint(color: ColorName, text: string): string;
  /** Replaces ESC with `^[` and CR with `\r` (literally), keeping only our own colour sequences. */
  escape(text: string): string;
}

const OWN_SEQUENCES = [...Object.values(CODES).map((c) => `\x1b[${c}m`), '\x1b[0m'];

/** fatih/color's rule for `auto`: colour only on a terminal, and never with NO_COLOR set or TERM=dumb. */
export function colorEnabled(mode: ColorMode, isTTY: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  return isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

export function createColorer(enabled: boolean): Colorer {
  return {
    enabled,
    paint: enabled ? (color, text) => `\x1b[${CODES[color]}m${text}\x1b[0m` : (_color, text) => text,
    escape: (text) => escapeTerminal(text, enabled),
  };
}

function escapeTerminal(text: string, keepOwnColors: boolean): string {
  if (text.indexOf('\x1b') === -1 && text.indexOf('\r') === -1) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\r') out += '\\r';
    else if (c !== '\x1b') out += c;
    else {
      const own = keepOwnColors ? OWN_SEQUENCES.find((seq) => text.startsWith(seq, i)) : undefined;
      if (own) {
        out += own;
        i += own.length - 1;
      } else out += '^[';
    }
  }
  return out;
}
