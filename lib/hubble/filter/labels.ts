// Label selectors as Hubble applies them to endpoint labels: Kubernetes selector syntax plus Cilium source prefixes
// (`k8s:app=x`, `reserved:world`; no prefix means any source), matched without allocating per flow.
import { parseCidr } from './ip.ts';

export class SelectorError extends Error {
  override name = 'SelectorError';
}

type Op = 'exists' | 'notexists' | 'in' | 'notin' | 'gt' | 'lt';

interface Requirement {
  /** Cilium source of the selected key; `any` matches every source. */
  source: string;
  key: string;
  op: Op;
  values: string[];
  /** For gt/lt. */
  number: number;
}

// ---- selector text → Kubernetes selector with dot-based source prefixes (Hubble's translateSelector) ----

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\v' || c === '\f';

function translateSelector(selector: string): string {
  let out = '';
  let i = 0;
  const s = selector;
  while (i < s.length) {
    while (i < s.length && (isSpace(s[i]!) || s[i] === '!')) out += s[i++];
    let key = '';
    while (i < s.length && !isSpace(s[i]!) && s[i] !== '=' && s[i] !== '!' && s[i] !== ',') key += s[i++];
    if (!key.includes(':')) key = `any:${key}`;
    out += key.replace(':', '.');
    let nesting = 0;
    while (i < s.length) {
      const c = s[i++]!;
      if (c === '(') nesting++;
      else if (c === ')') nesting--;
      out += c;
      if (c === ',' && nesting === 0) break;
    }
  }
  return out;
}

// ---- Kubernetes label selector lexer and parser (k8s.io/apimachinery labels.Parse) ----

type Tok = 'error' | 'eos' | ')' | ',' | '!' | '==' | '=' | '>' | 'id' | 'in' | '<' | '!=' | 'notin' | '(';

const SYMBOLS = new Set(['=', '!', '(', ')', ',', '>', '<']);
const KEYWORDS: Readonly<Record<string, Tok>> = {
  ')': ')',
  ',': ',',
  '!': '!',
  '==': '==',
  '=': '=',
  '>': '>',
  in: 'in',
  '<': '<',
  '!=': '!=',
  notin: 'notin',
  '(': '(',
};
const isLexSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

function lex(s: string): { tok: Tok; lit: string }[] {
  const items: { tok: Tok; lit: string }[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && isLexSpace(s[i]!)) i++;
    if (i >= s.length) {
      items.push({ tok: 'eos', lit: '' });
      return items;
    }
    if (SYMBOLS.has(s[i]!)) {
      let buf = '';
      let last: { tok: Tok; lit: string } | undefined;
      while (i < s.length && SYMBOLS.has(s[i]!)) {
        buf += s[i];
        const tok = KEYWORDS[buf];
        if (tok) {
          last = { tok, lit: buf };
          i++;
        } else if (last) {
          break;
        } else {
          i++;
        }
      }
      items.push(last ?? { tok: 'error', lit: `error expected: keyword found '${buf}'` });
      continue;
    }
    let buf = '';
    while (i < s.length && !SYMBOLS.has(s[i]!) && !isLexSpace(s[i]!)) buf += s[i++];
    items.push({ tok: KEYWORDS[buf] ?? 'id', lit: buf });
  }
}

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function validateKey(k: string): void {
  const parts = k.split('/');
  let name = k;
  const errs: string[] = [];
  if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) errs.push('prefix part must be a lowercase RFC 1123 subdomain');
  } else if (parts.length > 2) {
    errs.push("a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/'");
  }
  if (parts.length <= 2) {
    if (name.length === 0) errs.push('name part must be non-empty');
    else if (name.length > 63) errs.push('name part must be no more than 63 characters');
    else if (!NAME.test(name)) {
      errs.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
    }
  }
  if (errs.length) throw new SelectorError(`invalid label key "${k}": ${errs.join('; ')}`);
}

function validateValue(k: string, v: string): void {
  if (v.length > 63) throw new SelectorError(`invalid label value "${v}" at key "${k}": must be no more than 63 characters`);
  if (v !== '' && !NAME.test(v)) {
    throw new SelectorError(
      `invalid label value "${v}" at key "${k}": must be empty or consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character`,
    );
  }
}

/** Splits a dot-prefixed selector key the way Cilium's ParseSelectDotLabel does: no prefix means any source. */
function selectKey(k: string): { source: string; key: string } {
  if (k.startsWith('$')) return { source: 'reserved', key: k.slice(1) };
  const dot = k.indexOf('.');
  if (dot < 0) return { source: 'any', key: k };
  return { source: k.slice(0, dot), key: k.slice(dot + 1) };
}

function parseSelector(text: string): Requirement[] {
  const items = lex(text);
  let pos = 0;
  const peek = (values: boolean): { tok: Tok; lit: string } => {
    const it = items[pos]!;
    return values && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'id', lit: it.lit } : it;
  };
  const next = (values: boolean) => {
    const it = peek(values);
    pos++;
    return it;
  };
  const requirement = (): Requirement => {
    let op: Op | undefined;
    let it = next(true);
    if (it.tok === '!') {
      op = 'notexists';
      it = next(true);
    }
    if (it.tok !== 'id') throw new SelectorError(`found '${it.lit}', expected: identifier`);
    const key = it.lit;
    validateKey(key);
    const after = peek(true).tok;
    let values: string[] = [];
    if (after === 'eos' || after === ',') {
      op ??= 'exists';
    } else {
      if (op === 'notexists') {
        const o = next(false);
        throw new SelectorError(`found '${o.lit}', expected: ',' or 'end of string'`);
      }
      const o = next(false);
      switch (o.tok) {
        case 'in':
        case 'notin': {
          op = o.tok;
          const open = next(true);
          if (open.tok !== '(') throw new SelectorError(`found '${open.lit}' expected: '('`);
          const first = peek(true);
          if (first.tok === ')') {
            next(true);
            values = [''];
            break;
          }
          if (first.tok !== 'id' && first.tok !== ',') throw new SelectorError(`found '${first.lit}', expected: ',', ')' or identifier`);
          const set = new Set<string>();
          for (;;) {
            const v = next(true);
            if (v.tok === 'id') {
              set.add(v.lit);
              const t2 = peek(true);
              if (t2.tok === ',') continue;
              if (t2.tok === ')') break;
              throw new SelectorError(`found '${t2.lit}', expected: ',' or ')'`);
            } else if (v.tok === ',') {
              if (set.size === 0) set.add('');
              const t2 = peek(true);
              if (t2.tok === ')') {
                set.add('');
                break;
              }
              if (t2.tok === ',') {
                next(true);
                set.add('');
              }
            } else {
              throw new SelectorError(`found '${v.lit}', expected: ',', or identifier`);
            }
          }
          const close = next(true);
          if (close.tok !== ')') throw new SelectorError(`found '${close.lit}', expected: ')'`);
          values = [...set];
          break;
        }
        case '=':
        case '==':
        case '!=':
        case '>':
        case '<': {
          op = o.tok === '!=' ? 'notin' : o.tok === '>' ? 'gt' : o.tok === '<' ? 'lt' : 'in';
          const v = peek(true);
          if (v.tok === 'eos' || v.tok === ',') {
            values = [''];
          } else {
            next(true);
            if (v.tok !== 'id') throw new SelectorError(`found '${v.lit}', expected: identifier`);
            values = [v.lit];
          }
          break;
        }
        default:
          throw new SelectorError(`found '${o.lit}', expected: '=', '!=', '==', 'in', notin'`);
      }
    }
    let number = NaN;
    if (op === 'gt' || op === 'lt') {
      if (!/^[+-]?\d+$/.test(values[0]!)) throw new SelectorError("for 'Gt', 'Lt' operators, the value must be an integer");
      number = Number(values[0]);
    }
    for (const v of values) validateValue(key, v);
    return { ...selectKey(key), op: op!, values, number };
  };

  const reqs: Requirement[] = [];
  for (;;) {
    const it = peek(true);
    if (it.tok === 'eos') return reqs;
    if (it.tok !== 'id' && it.tok !== '!') throw new SelectorError(`found '${it.lit}', expected: !, identifier, or 'end of string'`);
    reqs.push(requirement());
    const sep = next(true);
    if (sep.tok === 'eos') return reqs;
    if (sep.tok !== ',') throw new SelectorError(`found '${sep.lit}', expected: ',' or 'end of string'`);
    const t2 = peek(true);
    if (t2.tok !== 'id' && t2.tok !== '!') throw new SelectorError(`found '${t2.lit}', expected: identifier after ','`);
  }
}

// ---- matching against endpoint label strings (`source:key=value`) ----

// Positions of the parts of the label being looked at; reused so that matching allocates nothing.
let labelSourceEnd = 0; // source is [0, labelSourceEnd), or 'unspec' when -1, or 'reserved' via '$' when -2
let labelKeyStart = 0;
let labelKeyEnd = 0; // value starts at labelKeyEnd + 1 when labelKeyEnd < length

function scanLabel(s: string): void {
  let next = 0;
  if (s.charCodeAt(0) === 36 /* $ */) {
    labelSourceEnd = -2;
    next = 1;
  } else {
    const colon = s.indexOf(':');
    if (colon < 0) {
      labelSourceEnd = s.startsWith('reserved.') ? -3 : -1;
      next = labelSourceEnd === -3 ? 9 : 0;
    } else {
      labelSourceEnd = colon;
      next = colon + 1;
    }
  }
  const eq = s.indexOf('=', next);
  if (eq < 0) {
    labelKeyStart = next;
    labelKeyEnd = s.length;
  } else if (eq === next && isReservedSource(s)) {
    labelKeyStart = next + 1;
    labelKeyEnd = s.length;
  } else {
    labelKeyStart = next;
    labelKeyEnd = eq;
  }
}

function isReservedSource(s: string): boolean {
  return labelSourceEnd === -2 || labelSourceEnd === -3 || (labelSourceEnd === 8 && s.startsWith('reserved'));
}

function sourceIs(s: string, source: string): boolean {
  if (labelSourceEnd < 0) return source === (labelSourceEnd === -1 ? 'unspec' : 'reserved');
  return labelSourceEnd === source.length && s.startsWith(source);
}

function keyIs(s: string, key: string): boolean {
  return labelKeyEnd - labelKeyStart === key.length && s.startsWith(key, labelKeyStart);
}

function valueIs(s: string, value: string): boolean {
  if (labelKeyEnd >= s.length) return value === '';
  return s.length - labelKeyEnd - 1 === value.length && s.startsWith(value, labelKeyEnd + 1);
}

function labelValue(s: string): string {
  return labelKeyEnd >= s.length ? '' : s.slice(labelKeyEnd + 1);
}

/** Cilium's Label.HasKey: the selector's source must match unless it is `any`; `cidr:` keys match by containment. */
function hasKey(s: string, req: Requirement): boolean {
  if (req.source !== 'any' && !sourceIs(s, req.source)) return false;
  if (req.source === 'cidr' && sourceIs(s, 'cidr') && cidrContains(req.key, s.slice(labelKeyStart, labelKeyEnd))) {
    return true;
  }
  return keyIs(s, req.key);
}

/** Whether the selected CIDR (a label key such as `10.0.0.0/8`) contains the label's CIDR. */
function cidrContains(selectedKey: string, labelKey: string): boolean {
  const selected = splitCidr(selectedKey);
  const label = splitCidr(labelKey);
  if (!selected || !label || selected.bits > label.bits) return false;
  return parseCidr(`${selected.addr}/${selected.bits}`)?.contains(label.addr) ?? false;
}

/** Cilium writes IPv6 in CIDR labels with `-` for `:` (colons separate the source). */
function splitCidr(key: string): { addr: string; bits: number } | undefined {
  const slash = key.lastIndexOf('/');
  if (slash < 0) return undefined;
  const addr = key.slice(0, slash);
  return { addr: addr.includes(':') ? addr : addr.replaceAll('-', ':'), bits: Number(key.slice(slash + 1)) };
}

/**
 * The value of the selected key in these labels (the first in Cilium's label order: key, value, source),
 * or undefined when no label has the key.
 */
function lookup(labels: readonly string[], req: Requirement): string | undefined {
  let found: string | undefined;
  let foundIndex = -1;
  for (let i = 0; i < labels.length; i++) {
    const s = labels[i]!;
    scanLabel(s);
    if (!hasKey(s, req)) continue;
    if (foundIndex < 0) {
      foundIndex = i;
      found = undefined;
      continue;
    }
    // Several labels carry the key (different sources): keep the one Cilium sorts first.
    const first = labels[foundIndex]!;
    found ??= labelOrderKey(first);
    const candidate = labelOrderKey(s);
    if (candidate < found) {
      found = candidate;
      foundIndex = i;
    }
  }
  if (foundIndex < 0) return undefined;
  scanLabel(labels[foundIndex]!);
  return labelValue(labels[foundIndex]!);
}

function labelOrderKey(s: string): string {
  scanLabel(s);
  const source = labelSourceEnd >= 0 ? s.slice(0, labelSourceEnd) : labelSourceEnd === -1 ? 'unspec' : 'reserved';
  return `${s.slice(labelKeyStart, labelKeyEnd)}\u0000${labelValue(s)}\u0000${source}`;
}

function requirementMatches(labels: readonly string[], req: Requirement): boolean {
  if (req.op === 'exists' || req.op === 'notexists') {
    let has = false;
    for (const s of labels) {
      scanLabel(s);
      if (hasKey(s, req)) {
        has = true;
        break;
      }
    }
    return req.op === 'exists' ? has : !has;
  }
  if (req.op === 'in' || req.op === 'notin') {
    const inSet = valueInSet(labels, req);
    if (inSet === undefined) return req.op === 'notin';
    return req.op === 'in' ? inSet : !inSet;
  }
  const value = lookup(labels, req);
  if (value === undefined || !/^[+-]?\d+$/.test(value)) return false;
  const n = Number(value);
  return req.op === 'gt' ? n > req.number : n < req.number;
}

/** Whether the looked-up value is in the requirement's set; undefined when the key is absent. */
function valueInSet(labels: readonly string[], req: Requirement): boolean | undefined {
  // Fast path: exactly one label with the key, compared in place.
  let index = -1;
  for (let i = 0; i < labels.length; i++) {
    scanLabel(labels[i]!);
    if (!hasKey(labels[i]!, req)) continue;
    if (index >= 0) return req.values.includes(lookup(labels, req)!);
    index = i;
  }
  if (index < 0) return undefined;
  const s = labels[index]!;
  scanLabel(s);
  for (const v of req.values) if (valueIs(s, v)) return true;
  return false;
}

export type LabelMatcher = (labels: readonly string[] | undefined) => boolean;

const NO_LABELS: readonly string[] = [];

/** Compiles Hubble label selectors; the matcher is true when any selector selects the labels. Throws SelectorError. */
export function compileLabelSelectors(selectors: readonly string[]): LabelMatcher {
  const compiled = selectors.map((sel) => parseSelector(translateSelector(sel)));
  return (labels) => {
    const ls = labels ?? NO_LABELS;
    for (const reqs of compiled) {
      let all = true;
      for (const req of reqs) {
        if (!requirementMatches(ls, req)) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
    return false;
  };
}
