// Go (RE2) regular expressions with RE2's syntax and its linear-time matching, so that no pattern a client sends
// can make a filter run for longer than a pass over the text it is matched against.
//
// JavaScript's RegExp backtracks: a pattern as plain as `(.|\w)*!` takes time exponential in the text's length.
// re2js is a pure-JS port of Go's regexp (the same parser, so the same accepted syntax and error messages, and an
// automaton that never backtracks). It is several times slower than RegExp on the simple patterns users type,
// so a pattern that is only a literal (with optional `^`/`$` anchors or a `.*` on either end) is matched with
// string search, which is linear too; everything else goes through re2js (bench/re2.bench.ts measures both).
import { RE2JS, RE2JSException } from 're2js';

/** Thrown for a pattern Go's regexp package rejects. */
export class Re2Error extends Error {
  override name = 'Re2Error';
}

/** A compiled pattern: an unanchored search, like Go's regexp.MatchString. */
export interface Re2 {
  readonly source: string;
  test(text: string): boolean;
}

/**
 * Go accepts patterns until their program passes about a million instructions; matching costs time in
 * proportion to the program's size times the text's length, and compiling more than that, so a server that
 * takes patterns from any client bounds both. No filter a person writes comes near either limit.
 */
export const MAX_PATTERN_LENGTH = 1024;
export const MAX_PROGRAM_SIZE = 5000;

const META = new Set('\\.+*?()|[]{}^$');

/**
 * The pattern as a literal search when it is one: `^`/`\A` and `$`/`\z` anchors, a `.*` at an unanchored end
 * (it may match empty, so it changes no answer), and literal characters or escaped punctuation in between.
 */
function literalSearch(pattern: string): ((text: string) => boolean) | undefined {
  let p = pattern;
  let start = false;
  let end = false;
  if (p.startsWith('^')) [p, start] = [p.slice(1), true];
  else if (p.startsWith('\\A')) [p, start] = [p.slice(2), true];
  else if (p.startsWith('.*')) p = p.slice(2);
  if (p.endsWith('\\z') && !p.endsWith('\\\\z')) [p, end] = [p.slice(0, -2), true];
  else if (p.endsWith('$') && !p.endsWith('\\$')) [p, end] = [p.slice(0, -1), true];
  else if (p.endsWith('.*') && !p.endsWith('\\.*')) p = p.slice(0, -2);
  let literal = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      const next = p[i + 1];
      // Only escaped ASCII punctuation stands for itself; letters and digits are classes, anchors or errors.
      if (next === undefined || !/[!-/:-@[-`{-~]/.test(next)) return undefined;
      literal += next;
      i++;
      continue;
    }
    if (META.has(c)) return undefined;
    literal += c;
  }
  if (start && end) return (text) => text === literal;
  if (start) return (text) => text.startsWith(literal);
  if (end) return (text) => text.endsWith(literal);
  return (text) => text.includes(literal);
}

/** Go's messages quote the part of the pattern at fault, which may be all of a huge pattern. */
function shortened(message: string): string {
  return message.length <= 300 ? message : `${message.slice(0, 300)}…`;
}

/** Compiles a Go regular expression (unanchored search, like regexp.MatchString). Throws Re2Error when invalid. */
export function compileRe2(pattern: string): Re2 {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new Re2Error(`expression too long: ${pattern.length} characters, at most ${MAX_PATTERN_LENGTH}`);
  }
  let compiled: RE2JS;
  try {
    // Compiled even when a literal search will do the matching: the syntax check is Go's, whatever the pattern.
    compiled = RE2JS.compile(pattern);
  } catch (err) {
    if (err instanceof RE2JSException) throw new Re2Error(shortened(err.message.replace(/^error parsing regexp: /, '')));
    throw err;
  }
  if (compiled.programSize() > MAX_PROGRAM_SIZE) {
    throw new Re2Error(`expression too large: ${compiled.programSize()} instructions, at most ${MAX_PROGRAM_SIZE}`);
  }
  const search = literalSearch(pattern);
  return { source: pattern, test: search ?? ((text) => compiled.test(text)) };
}
