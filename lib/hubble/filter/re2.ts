// Go (RE2) regular expressions compiled to JavaScript RegExp, rejecting what RE2 rejects (look-around, back-references).

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

// RE2's \s is ASCII-only and excludes \v; JavaScript's includes Unicode spaces.
const RE2_SPACE = '\\t\\n\\f\\r ';

/** Thrown for a pattern RE2 would reject or that has no JavaScript equivalent here. */
export class Re2Error extends Error {
  override name = 'Re2Error';
}

function hex(code: number): string {
  if (code > 0xffff) throw new Re2Error(`character code ${code.toString(16)} is out of range`);
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Translates one escape starting at `i` (the backslash); returns the JS text and the index after it. */
function escape(p: string, i: number, inClass: boolean): [string, number] {
  const c = p[i + 1];
  if (c === undefined) throw new Re2Error('trailing backslash at end of expression');
  switch (c) {
    case 'a':
      return ['\\x07', i + 2];
    case 'f':
    case 't':
    case 'n':
    case 'r':
    case 'v':
    case 'd':
    case 'D':
    case 'w':
    case 'W':
      return [`\\${c}`, i + 2];
    case 's':
      return [inClass ? RE2_SPACE : `[${RE2_SPACE}]`, i + 2];
    case 'S':
      return [inClass ? '\\S' : `[^${RE2_SPACE}]`, i + 2];
    case 'b':
    case 'B':
      if (inClass) throw new Re2Error(`invalid escape sequence: \`\\${c}\``);
      return [`\\${c}`, i + 2];
    case 'A':
      if (inClass) throw new Re2Error('invalid escape sequence: `\\A`');
      return ['(?<![\\s\\S])', i + 2];
    case 'z':
      if (inClass) throw new Re2Error('invalid escape sequence: `\\z`');
      return ['(?![\\s\\S])', i + 2];
    case 'x': {
      if (p[i + 2] === '{') {
        const close = p.indexOf('}', i + 3);
        const digits = close < 0 ? '' : p.slice(i + 3, close);
        if (!/^[0-9A-Fa-f]{1,6}$/.test(digits)) throw new Re2Error('invalid escape sequence: `\\x{`');
        return [hex(parseInt(digits, 16)), close + 1];
      }
      const digits = p.slice(i + 2, i + 4);
      if (!/^[0-9A-Fa-f]{2}$/.test(digits)) throw new Re2Error('invalid escape sequence: `\\x`');
      return [`\\x${digits}`, i + 4];
    }
    case 'Q': {
      const end = p.indexOf('\\E', i + 2);
      const literal = end < 0 ? p.slice(i + 2) : p.slice(i + 2, end);
      const quoted = literal.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
      return [quoted, end < 0 ? p.length : end + 2];
    }
    case 'p':
    case 'P':
      throw new Re2Error('Unicode classes (\\p, \\P) are not supported here');
    case 'C':
      throw new Re2Error('invalid escape sequence: `\\C`');
  }
  if (c >= '0' && c <= '7') {
    const m = /^[0-7]{1,3}/.exec(p.slice(i + 1))!;
    // A lone non-zero digit is a back-reference, which RE2 does not support.
    if (c !== '0' && m[0].length === 1) throw new Re2Error(`invalid escape sequence: \`\\${c}\``);
    return [hex(parseInt(m[0], 8)), i + 1 + m[0].length];
  }
  if (c === '8' || c === '9') throw new Re2Error(`invalid escape sequence: \`\\${c}\``);
  // RE2 lets any punctuation be escaped; letters and digits not handled above are errors.
  if (/[A-Za-z0-9]/.test(c)) throw new Re2Error(`invalid escape sequence: \`\\${c}\``);
  const code = c.codePointAt(0)!;
  return [code < 128 ? `\\${c}` : c, i + 2];
}

function translate(p: string): { source: string; flags: string } {
  let flags = '';
  let i = 0;
  const lead = /^\(\?([imsU]+)\)/.exec(p);
  if (lead) {
    if (lead[1]!.includes('U')) throw new Re2Error('the ungreedy flag (?U) is not supported here');
    flags = [...new Set(lead[1]!)].join('');
    i = lead[0].length;
  }
  let out = '';
  let inClass = false;
  while (i < p.length) {
    const c = p[i]!;
    if (c === '\\') {
      const [text, next] = escape(p, i, inClass);
      out += text;
      i = next;
      continue;
    }
    if (inClass) {
      if (c === '[' && p[i + 1] === ':') {
        const close = p.indexOf(':]', i + 2);
        const name = close < 0 ? '' : p.slice(i + 2, close);
        if (name.startsWith('^')) throw new Re2Error(`negated POSIX class [:${name}:] is not supported here`);
        const expansion = POSIX_CLASSES[name];
        if (expansion === undefined) throw new Re2Error(`invalid character class range: \`[:${name}:]\``);
        out += expansion;
        i = close + 2;
        continue;
      }
      if (c === '[') {
        out += '\\[';
        i++;
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      if (p[i] === '^') {
        out += '^';
        i++;
      }
      // A `]` right after `[` or `[^` is a literal in RE2.
      if (p[i] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && p[i + 1] === '?') {
      const rest = p.slice(i + 2);
      if (rest.startsWith(':')) {
        out += '(?:';
        i += 3;
      } else if (rest.startsWith('P<')) {
        out += '(?<';
        i += 4;
      } else if (rest.startsWith('<') && !rest.startsWith('<=') && !rest.startsWith('<!')) {
        out += '(?<';
        i += 3;
      } else if (/^[=!]|^<[=!]/.test(rest)) {
        throw new Re2Error('invalid or unsupported Perl syntax: look-around assertions');
      } else {
        throw new Re2Error('flags are supported only as a leading (?i), (?s) or (?m)');
      }
      continue;
    }
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
      if (m && (Number(m[1]) > 1000 || Number(m[3] || 0) > 1000)) {
        throw new Re2Error(`invalid repeat count: \`${m[0]}\``);
      }
      if (!m) {
        // RE2 reads a `{` that does not start a repeat as a literal.
        out += '\\{';
        i++;
        continue;
      }
    }
    out += c;
    i++;
  }
  if (inClass) throw new Re2Error('missing closing ]');
  return { source: out, flags };
}

/** Compiles a Go regular expression (unanchored search, like regexp.MatchString). Throws Re2Error when invalid. */
export function compileRe2(pattern: string): RegExp {
  const { source, flags } = translate(pattern);
  try {
    return new RegExp(source, flags);
  } catch (err) {
    throw new Re2Error((err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, ''));
  }
}
