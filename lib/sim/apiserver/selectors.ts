// Label selectors (string and LabelSelector forms, set-based included) and field selectors, as the API server parses them.
import { badRequest } from './errors.ts';
import { plainLookup, satisfies, selectorRequirements, type LabelSelector, type Requirement } from '../../kube/label-selector.ts';

export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const NAME_RULE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const PREFIX_RULE =
  "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const VALUE_RULE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** Why a label key is not a qualified name (apimachinery's IsQualifiedName), or undefined when it is one. */
function keyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const name = slash === -1 ? key : key.slice(slash + 1);
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  if (key.split('/').length > 2) {
    return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
  }
  if (prefix !== undefined) {
    if (prefix === '') return 'prefix part must be non-empty';
    if (prefix.length > 253) return 'prefix part must be no more than 253 characters';
    if (!SUBDOMAIN.test(prefix)) return PREFIX_RULE;
  }
  if (name === '') return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!NAME.test(name)) return NAME_RULE;
  return undefined;
}

function valueProblem(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  return VALUE.test(value) ? undefined : VALUE_RULE;
}

/** Rejects keys and values a label could never have, with the message labels.Parse gives (and a 400). */
function checkRequirement(req: Requirement): Requirement {
  const fail = (value: string, why: string): never => {
    throw badRequest(`unable to parse requirement: <nil>: Invalid value: ${JSON.stringify(value)}: ${why}`);
  };
  const k = keyProblem(req.key);
  if (k) fail(req.key, k);
  if (req.op === 'In' || req.op === 'NotIn') {
    for (const v of req.values) {
      const why = valueProblem(v);
      if (why) fail(v, why);
    }
  }
  return req;
}

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`. Throws 400 on a syntax error or an impossible key or value. */
export function parseLabelSelector(text: string): Requirement[] {
  const reqs: Requirement[] = [];
  let i = 0;
  const s = text;
  const fail = (why: string): never => {
    throw badRequest(`unable to parse requirement: ${why} in "${text}"`);
  };
  const ws = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const word = (): string => {
    ws();
    const start = i;
    while (i < s.length && !/[\s,=!()]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  while (true) {
    ws();
    if (i >= s.length) break;
    if (s[i] === '!') {
      i++;
      const key = word();
      if (!key) fail('missing key after "!"');
      reqs.push({ key, op: 'DoesNotExist', values: new Set() });
    } else {
      const key = word();
      if (!key) fail(`unexpected "${s[i]}"`);
      ws();
      if (i >= s.length || s[i] === ',') {
        reqs.push({ key, op: 'Exists', values: new Set() });
      } else if (s.startsWith('==', i) || s[i] === '=') {
        i += s.startsWith('==', i) ? 2 : 1;
        reqs.push({ key, op: 'In', values: new Set([word()]) });
      } else if (s.startsWith('!=', i)) {
        i += 2;
        reqs.push({ key, op: 'NotIn', values: new Set([word()]) });
      } else {
        const opWord = word();
        if (opWord !== 'in' && opWord !== 'notin') fail(`unknown operator "${opWord}"`);
        ws();
        if (s[i] !== '(') fail(`expected "(" after ${opWord}`);
        const close = s.indexOf(')', i);
        if (close === -1) fail('missing ")"');
        const values = s
          .slice(i + 1, close)
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '');
        i = close + 1;
        reqs.push({ key, op: opWord === 'in' ? 'In' : 'NotIn', values: new Set(values) });
      }
    }
    ws();
    if (i < s.length) {
      if (s[i] !== ',') fail(`expected "," at position ${i}`);
      i++;
    }
  }
  return reqs.map(checkRequirement);
}

export function labelMatcher(text: string | undefined): LabelMatcher {
  if (!text) return () => true;
  const reqs = parseLabelSelector(text);
  return (labels) => satisfies(reqs, plainLookup(labels));
}

/**
 * A LabelSelector object as workloads carry it. Like Kubernetes, an empty selector matches everything
 * and a missing one matches nothing.
 */
export function selectorMatcher(sel: LabelSelector | undefined | null): LabelMatcher {
  if (!sel) return () => false;
  const reqs = selectorRequirements(sel);
  if (!reqs) return () => false;
  return (labels) => satisfies(reqs, plainLookup(labels));
}

/** A map selector (Service spec.selector): every pair must match; empty matches nothing, as for Services. */
export function mapSelectorMatcher(sel: Record<string, string> | undefined): LabelMatcher {
  if (!sel || Object.keys(sel).length === 0) return () => false;
  return (labels) => Object.entries(sel).every(([k, v]) => labels?.[k] === v);
}

/** The string form of a LabelSelector, as kubectl and the status.selector of a scale subresource show it. */
export function selectorString(sel: LabelSelector | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {}).sort()) parts.push(`${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`);
  }
  return parts.join(',');
}

export type FieldMatcher = (obj: Record<string, any>) => boolean;

function fieldValue(obj: Record<string, any>, path: string): string {
  let cur: any = obj;
  for (const part of path.split('.')) cur = cur?.[part];
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : String(cur);
}

/** Parses `metadata.name=x,spec.nodeName!=` against the fields a resource supports. Throws 400 for others. */
export function fieldMatcher(text: string | undefined, supported: readonly string[]): FieldMatcher {
  if (!text) return () => true;
  const allowed = ['metadata.name', 'metadata.namespace', ...supported];
  const terms = text.split(',').filter((t) => t.trim() !== '');
  const checks: { path: string; value: string; negate: boolean }[] = [];
  for (const term of terms) {
    const m = /^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, path, op, value] = m as unknown as [string, string, string, string];
    if (!allowed.includes(path)) {
      throw badRequest(`field label not supported: ${path}`);
    }
    checks.push({ path, value, negate: op === '!=' });
  }
  return (obj) => checks.every((c) => (fieldValue(obj, c.path) === c.value) !== c.negate);
}
