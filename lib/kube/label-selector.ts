// metav1.LabelSelector matching: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist) as
// requirements, checked against a label set. Shared by policy evaluation and the sim's API server; each validates
// selectors in its own words before asking for requirements.

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface Requirement {
  key: string;
  op: Operator;
  values: ReadonlySet<string>;
}

/** Values a key has in a label set: none, one, or (Cilium labels, one per source) more. */
export type LabelLookup = (key: string) => readonly string[];

const none: readonly string[] = [];

const OPERATORS: ReadonlySet<string> = new Set<Operator>(['In', 'NotIn', 'Exists', 'DoesNotExist']);

export function isOperator(op: unknown): op is Operator {
  return typeof op === 'string' && OPERATORS.has(op);
}

/** Whether the labels `lookup` reads satisfy every requirement. */
export function satisfies(reqs: readonly Requirement[], lookup: LabelLookup): boolean {
  for (const r of reqs) {
    const values = lookup(r.key);
    switch (r.op) {
      case 'In':
        if (!values.some((v) => r.values.has(v))) return false;
        break;
      case 'NotIn':
        if (values.some((v) => r.values.has(v))) return false;
        break;
      case 'Exists':
        if (values.length === 0) return false;
        break;
      case 'DoesNotExist':
        if (values.length !== 0) return false;
        break;
    }
  }
  return true;
}

/** Plain Kubernetes labels (one value per key); none when undefined. */
export function plainLookup(labels: Readonly<Record<string, string>> | undefined): LabelLookup {
  if (!labels) return () => none;
  return (key) => (Object.hasOwn(labels, key) ? [labels[key]!] : none);
}

/**
 * The requirements of a selector: each matchLabels pair is `key In (value)`, each expression as written. Undefined
 * when an expression has an operator that is not one of the four; values are not checked here.
 */
export function selectorRequirements(sel: LabelSelector): Requirement[] | undefined {
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key, op: 'In', values: new Set([value]) });
  for (const e of sel.matchExpressions ?? []) {
    if (!isOperator(e.operator)) return undefined;
    reqs.push({ key: e.key, op: e.operator, values: new Set(e.values ?? []) });
  }
  return reqs;
}
