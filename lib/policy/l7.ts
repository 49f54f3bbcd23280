// L7 rules as Cilium's proxies apply them: HTTP (Envoy, full-match regexes) and DNS (matchName/matchPattern).
import type { DnsRule, HttpRule } from './types.ts';
import { PolicyInvalid, isObject } from './compiled.ts';

/** Compiled regexes by source; patterns come from policies, so the set stays small. */
const regexCache = new Map<string, RegExp>();
const regexCacheLimit = 4096;

/**
 * An RE2 pattern as Envoy's safe_regex matches it: against the whole value. RE2-only syntax is translated;
 * JavaScript-only syntax RE2 refuses (lookaround, backreferences) is refused here too.
 */
function fullMatchRegex(pattern: string): RegExp {
  const cached = regexCache.get(pattern);
  if (cached) return cached;
  if (/\(\?<?[=!]|\\[1-9]/.test(pattern)) throw new SyntaxError('lookaround and backreferences are not RE2 syntax');
  let flags = '';
  let body = pattern.replaceAll('(?P<', '(?<');
  if (body.startsWith('(?i)')) {
    flags = 'i';
    body = body.slice(4);
  }
  const re = new RegExp(`^(?:${body})$`, flags);
  if (regexCache.size >= regexCacheLimit) regexCache.clear();
  regexCache.set(pattern, re);
  return re;
}

function checkRegex(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new PolicyInvalid(path, 'must be a string');
  try {
    fullMatchRegex(value);
  } catch (err) {
    throw new PolicyInvalid(path, `invalid regular expression ${JSON.stringify(value)}: ${(err as Error).message}`);
  }
  return value;
}

/** Validates one `rules.http[]` entry as Cilium does before importing a policy. */
export function compileHttpRule(raw: unknown, path: string): HttpRule {
  if (!isObject(raw)) throw new PolicyInvalid(path, 'must be an object');
  const rule: HttpRule = {};
  const method = checkRegex(raw.method, `${path}.method`);
  const p = checkRegex(raw.path, `${path}.path`);
  const host = checkRegex(raw.host, `${path}.host`);
  if (method !== undefined) rule.method = method;
  if (p !== undefined) rule.path = p;
  if (host !== undefined) rule.host = host;
  if (raw.headers !== undefined && raw.headers !== null) {
    if (!Array.isArray(raw.headers) || raw.headers.some((h) => typeof h !== 'string')) {
      throw new PolicyInvalid(`${path}.headers`, 'must be a list of strings');
    }
    rule.headers = raw.headers as string[];
  }
  if (raw.headerMatches !== undefined && raw.headerMatches !== null) {
    if (!Array.isArray(raw.headerMatches)) throw new PolicyInvalid(`${path}.headerMatches`, 'must be a list');
    rule.headerMatches = raw.headerMatches.map((m: unknown, i) => {
      const at = `${path}.headerMatches[${i}]`;
      if (!isObject(m) || typeof m.name !== 'string' || m.name === '') throw new PolicyInvalid(at, 'header name missing');
      if (m.secret !== undefined) throw new PolicyInvalid(`${at}.secret`, 'secret-backed header values are not supported');
      const mismatch = m.mismatch ?? '';
      if (!['', 'LOG', 'ADD', 'DELETE', 'REPLACE'].includes(mismatch as string)) {
        throw new PolicyInvalid(`${at}.mismatch`, `invalid header action: ${String(mismatch)}`);
      }
      return { name: m.name, ...(typeof m.value === 'string' ? { value: m.value } : {}), ...(mismatch ? { mismatch: mismatch as string } : {}) };
    });
  }
  return rule;
}

function headerValues(headers: Record<string, string | string[]> | undefined, name: string): string[] {
  if (!headers) return [];
  const wanted = name.toLowerCase();
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === wanted) out.push(...(Array.isArray(v) ? v : [v]));
  }
  return out;
}

/** `Name` or `Name: value` / `Name value` (Cilium's headers list). */
function headerRequirement(text: string): { name: string; value?: string } {
  const space = text.indexOf(' ');
  if (space < 0) return { name: text.replace(/:$/, '') };
  return { name: text.slice(0, space).replace(/:$/, ''), value: text.slice(space + 1).trim() };
}

export interface HttpRequestFacts {
  host?: string;
  headers?: Record<string, string | string[]>;
}

function httpRuleMatches(rule: HttpRule, method: string, path: string, req: HttpRequestFacts): boolean {
  if (rule.method !== undefined && !fullMatchRegex(rule.method).test(method)) return false;
  if (rule.path !== undefined && !fullMatchRegex(rule.path).test(path)) return false;
  if (rule.host !== undefined && !fullMatchRegex(rule.host).test(req.host ?? '')) return false;
  for (const h of rule.headers ?? []) {
    const { name, value } = headerRequirement(h);
    const present = headerValues(req.headers, name);
    if (value === undefined ? present.length === 0 : !present.includes(value)) return false;
  }
  for (const m of rule.headerMatches ?? []) {
    if (m.mismatch) continue; // a mismatch action only logs or rewrites; the request still matches
    const present = headerValues(req.headers, m.name);
    if (m.value === undefined ? present.length === 0 : !present.includes(m.value)) return false;
  }
  return true;
}

/**
 * Whether the proxy lets a request through: some rule matches. `path` is the request target as sent
 * (`:path`, query string included), matched in full, as Envoy matches Cilium's path regex.
 */
export function httpRuleAllows(rules: readonly HttpRule[], method: string, path: string, req: HttpRequestFacts = {}): boolean {
  return rules.some((r) => httpRuleMatches(r, method, path, req));
}

// --- DNS ---------------------------------------------------------------------------------------------------

const dnsChars = '[-a-zA-Z0-9_]';

/** Lower-case with the trailing dot, the form Cilium compares names in. */
export function fqdn(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

function isWildcardOnly(pattern: string): boolean {
  return /^\*+\.?$/.test(pattern);
}

/** Cilium's matchpattern: `*` alone matches every name, `**.` any depth of subdomains, `*` within one label. */
export function dnsPatternRegex(pattern: string): RegExp {
  const p = pattern.trim().toLowerCase();
  if (isWildcardOnly(p)) return new RegExp(`(^(${dnsChars}+[.])+$)|(^[.]$)`);
  let s = fqdn(p);
  let out = '';
  const lead = /^\*{2,}\./.exec(s);
  if (lead) {
    out = `(${dnsChars}+([.]${dnsChars}+){0,})[.]`;
    s = s.slice(lead[0].length);
  }
  out += s.replace(/\./g, '[.]').replace(/\*+/g, `${dnsChars}*`);
  return new RegExp(`^${out}$`);
}

/** Validates one `rules.dns[]` (or toFQDNs) entry as Cilium does. */
export function compileDnsRule(raw: unknown, path: string): DnsRule {
  if (!isObject(raw)) throw new PolicyInvalid(path, 'must be an object');
  const { matchName, matchPattern } = raw;
  if ((matchName === undefined || matchName === '') === (matchPattern === undefined || matchPattern === '')) {
    throw new PolicyInvalid(path, 'needs exactly one of matchName and matchPattern');
  }
  if (matchName !== undefined && matchName !== '') {
    if (typeof matchName !== 'string' || !/^[-a-zA-Z0-9_.]+$/.test(matchName) || matchName.length > 255) {
      throw new PolicyInvalid(`${path}.matchName`, `invalid name ${JSON.stringify(matchName)}: only 0-9, a-z, A-Z, ".", "-" and "_" are allowed`);
    }
    return { matchName };
  }
  if (typeof matchPattern !== 'string' || !/^[-a-zA-Z0-9_.*]+$/.test(matchPattern) || matchPattern.length > 255) {
    throw new PolicyInvalid(`${path}.matchPattern`, `invalid pattern ${JSON.stringify(matchPattern)}: only 0-9, a-z, A-Z, ".", "-", "_" and "*" are allowed`);
  }
  return { matchPattern };
}

const patternCache = new Map<string, RegExp>();

function dnsRuleMatches(rule: DnsRule, name: string): boolean {
  if (rule.matchName !== undefined) return fqdn(rule.matchName) === name;
  if (rule.matchPattern === undefined) return false;
  let re = patternCache.get(rule.matchPattern);
  if (!re) {
    re = dnsPatternRegex(rule.matchPattern);
    if (patternCache.size >= regexCacheLimit) patternCache.clear();
    patternCache.set(rule.matchPattern, re);
  }
  return re.test(name);
}

/** Whether the DNS proxy answers a query for `name` (any case, with or without the trailing dot). */
export function dnsRuleAllows(rules: readonly DnsRule[], name: string): boolean {
  const n = fqdn(name);
  return rules.some((r) => dnsRuleMatches(r, n));
}
