// FQDN and node-name glob patterns (`*.cilium.io`, `kind-*`, `cluster/node`) compiled to anchored regular expressions,
// matched by re2js in linear time as Hubble's Go regexp matches them: with JavaScript's RegExp, each `*` multiplies
// the backtracking, and `*a*a*a*a*a*a*a*a*b` against a 60-character name ran for minutes.
import { RE2JS } from 're2js';

/** One FQDN label sequence, underscores included: what an empty cluster or node pattern matches. */
const FQDN = '(?:[-0-9_a-z]+(?:\\.[-0-9_a-z]+)*)';

export class PatternError extends Error {
  override name = 'PatternError';
}

function fqdnPatternSource(pattern: string): string {
  let p = pattern.trim();
  if (p.endsWith('.')) p = p.slice(0, -1);
  p = p.toLowerCase();
  if (p === '') throw new PatternError('empty pattern');
  if (p.endsWith('.')) throw new PatternError('multiple trailing dots in pattern');
  let out = '';
  for (const ch of p) {
    if (ch === '.') out += '\\.';
    else if (ch === '*') out += '[-.0-9a-z]*';
    else if (ch === '-' || ch === '_' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')) out += ch;
    else throw new PatternError(`'${ch}': invalid rune in pattern`);
  }
  return out;
}

function nodeNamePatternSource(pattern: string): string {
  if (pattern === '') throw new PatternError('empty pattern');
  const parts = pattern.split('/');
  if (parts.length > 2) throw new PatternError('too many slashes in pattern');
  const [cluster, node] = parts.length === 1 ? ['', parts[0]!] : [parts[0]!, parts[1]!];
  return `${cluster === '' ? FQDN : fqdnPatternSource(cluster)}/${node === '' ? FQDN : fqdnPatternSource(node)}`;
}

/** What the patterns compile to: a whole-name test. */
export interface NamePattern {
  test(name: string): boolean;
}

function anchored(sources: string[]): NamePattern {
  const re = RE2JS.compile(`^(?:${sources.join('|')})$`);
  return { test: (name) => re.test(name) };
}

/** Matches whole names against any of the FQDN patterns (lower-case, `*` spans labels). */
export function compileFqdnPatterns(patterns: readonly string[]): NamePattern {
  return anchored(patterns.map(fqdnPatternSource));
}

/** Matches `cluster/node` names against any of the node-name patterns; a pattern without `/` matches any cluster. */
export function compileNodeNamePatterns(patterns: readonly string[]): NamePattern {
  return anchored(patterns.map(nodeNamePatternSource));
}
