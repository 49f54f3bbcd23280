// The report's Policy section (report.md) and the policy fields of drop findings (report.json), from a PolicyReport.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compileLocated, type LocatedPolicy } from '../policy/load.ts';
import type { ObservationTable } from '../policy/observations.ts';
import { explainDrops, policyReport, type PolicyDropExplanation, type PolicyReport } from '../policy/report.ts';
import { suggestPolicies, suggestionYaml } from '../policy/suggest.ts';
import { fmtInt, plural } from './format.ts';

/** The file the suggested least-privilege policy is written to, beside report.md. */
export const SUGGESTED_POLICY_FILE = 'suggested-policy.yaml';

const MAX_ROWS = 20;

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

function more(total: number): string[] {
  return total > MAX_ROWS ? ['', `… and ${fmtInt(total - MAX_ROWS)} more (report.json has them all).`] : [];
}

/** `## Policy`: what was applied, what was dropped and why, what is allowed but unused, and what no policy covers. */
export function policyMarkdown(p: PolicyReport): string {
  const out = ['## Policy', ''];
  if (p.applied.length === 0) out.push('No policy was given or found: every edge below is allowed by default.');
  else {
    out.push(`Applied: ${plural(p.applied.length, 'policy', 'policies')}.`, '');
    out.push(
      table(
        ['Kind', 'Policy', 'From'],
        p.applied.map((a) => [a.kind, a.namespace ? `${a.namespace}/${a.name}` : a.name, a.source]),
      ),
    );
  }
  if (p.drops.length) {
    out.push('', '### Why traffic was dropped', '');
    for (const d of p.drops.slice(0, MAX_ROWS))
      out.push(`- ${d.source} → ${d.destination} ${d.protocol}/${d.port} (${plural(d.flows, 'flow')}): ${d.explanation}`);
    out.push(...more(p.drops.length));
  }
  if (p.applied.length) {
    out.push('', '### Rules no observed flow used', '');
    if (p.unusedRules.length === 0) out.push('Every allow rule was used by some forwarded flow.');
    else {
      out.push('These rules allow traffic that was never seen: more than the workload needed (or traffic this capture missed).', '');
      for (const r of p.unusedRules.slice(0, MAX_ROWS)) out.push(`- ${r.namespace ? `${r.namespace}/` : ''}${r.policy} \`${r.rule}\` (${r.direction})`);
      out.push(...more(p.unusedRules.length));
    }
  }
  out.push('', '### Forwarded edges no policy covers', '');
  if (p.uncovered.length === 0) out.push('Every forwarded edge is selected by a policy on at least one end.');
  else {
    out.push('Neither end is selected by a policy in that direction: allowed by default, not by a rule.', '');
    out.push(
      table(
        ['Client → server', 'Port', 'Flows'],
        p.uncovered.slice(0, MAX_ROWS).map((u) => [`${u.source} → ${u.destination}`, `${u.protocol}/${u.port}`, fmtInt(u.flows)]),
      ),
    );
    out.push(...more(p.uncovered.length));
  }
  if (p.unselected.length) out.push('', `Workloads no policy selects: ${p.unselected.join(', ')}.`);
  if (p.suggested) {
    out.push(
      '',
      `A least-privilege policy allowing exactly the forwarded traffic above: [${p.suggested}](${p.suggested}). Check it against these flows with \`hubble-lab policy check --policy ${p.suggested} --input flows.jsonl\`.`,
    );
  }
  return out.join('\n');
}

/** A drop finding's edge, as report.json lists it under its reason. */
export interface DropEdge {
  source: string;
  destination: string;
  policies?: string[];
  missingRule?: string;
}

/**
 * Adds `policies` and `missingRule` to the edges of policy-drop findings, from the explanation of the edge's most
 * frequent denial (an edge dropped on several ports lists each port's missing rule).
 */
export function annotatePolicyDrops(findings: readonly { policy: boolean; edges: DropEdge[] }[], explanations: readonly PolicyDropExplanation[]): void {
  for (const f of findings) {
    if (!f.policy) continue;
    for (const edge of f.edges) {
      const mine = explanations.filter((x) => x.source === edge.source && x.destination === edge.destination);
      if (mine.length === 0) continue;
      edge.policies = [...new Set(mine.flatMap((x) => x.policies))];
      edge.missingRule = [...new Set(mine.map((x) => x.missingRule))].join('; ');
    }
  }
}

/** What attachPolicyReport changes on a report: its drop findings, and its policy part. */
export interface PolicyReportTarget {
  drops: readonly { policy: boolean; edges: DropEdge[] }[];
  policy?: PolicyReport;
}

export interface AttachOptions {
  /** The policies in force, when known: the Policy section is written only with them. */
  policies?: readonly LocatedPolicy[];
  /** Write suggested-policy.yaml into this folder and link it from the section. */
  suggestTo?: string;
  /** Workloads of these namespaces get suggested policies (default: every namespace seen but kube-system). */
  namespaces?: readonly string[];
}

/**
 * Explains the report's policy drops from the flows observed (their own denied_by fields first, then the
 * policies given) and, with policies, adds the Policy section and the suggested policy file.
 */
export async function attachPolicyReport(report: PolicyReportTarget, table: ObservationTable, opts: AttachOptions = {}): Promise<void> {
  const observations = table.observations();
  if (!opts.policies) {
    annotatePolicyDrops(report.drops, explainDrops(observations, undefined));
    return;
  }
  const { set, vocabulary } = compileLocated(opts.policies, table.clusterName);
  const section = policyReport(opts.policies, set, vocabulary, observations);
  if (opts.suggestTo) {
    const suggestion = suggestPolicies(observations, { format: 'k8s', ...(opts.namespaces ? { namespaces: opts.namespaces } : {}) });
    if (suggestion.policies.length) {
      await writeFile(join(opts.suggestTo, SUGGESTED_POLICY_FILE), suggestionYaml(suggestion));
      section.suggested = SUGGESTED_POLICY_FILE;
    }
  }
  annotatePolicyDrops(report.drops, section.drops);
  report.policy = section;
}

/** Why a policy-drop finding's edge was dropped, in one line: the full explanation when the report has it. */
export function dropWhy(policy: PolicyReport | undefined, edge: DropEdge): string | undefined {
  const full = policy?.drops.filter((x) => x.source === edge.source && x.destination === edge.destination).map((x) => x.explanation);
  if (full?.length) return [...new Set(full)].join('; ');
  if (!edge.missingRule) return undefined;
  return edge.policies?.length ? `${edge.policies.join(', ')}: ${edge.missingRule}` : edge.missingRule;
}
