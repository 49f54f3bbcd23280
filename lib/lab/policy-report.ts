// The lab report's policy part: the run's flows checked against the policies in force (the cluster's, else those
// the lab applied), every policy drop explained, and a least-privilege policy suggested beside the report.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatError } from '../errors.ts';
import { readResponses } from '../hubble/codec/read.ts';
import { compileLocated, readClusterPolicies, type LocatedPolicy } from '../policy/load.ts';
import { ObservationTable } from '../policy/observations.ts';
import { policyReport, type PolicyReport } from '../policy/report.ts';
import { suggestPolicies, suggestionYaml } from '../policy/suggest.ts';
import { SUGGESTED_POLICY_FILE, annotatePolicyDrops } from '../report/policy.ts';
import { demoNamespace } from '../traffic/manifests.ts';
import { labPolicies } from './policies.ts';
import type { LabContext } from './task.ts';

/**
 * Reads the run's flows file, explains its policy drops and writes suggested-policy.yaml; the result goes on the
 * report (`policy`, and `policies`/`missingRule` on policy-drop findings). A failure here costs the section, never
 * the report: it is said in the run's log instead.
 */
export async function addLabPolicyReport(ctx: LabContext, report: { drops: { policy: boolean; edges: { source: string; destination: string }[] }[]; policy?: PolicyReport }, flowsFile: string): Promise<void> {
  try {
    const table = new ObservationTable();
    for await (const r of readResponses(flowsFile)) table.add(r);
    let located: LocatedPolicy[];
    try {
      located = await readClusterPolicies(ctx.kc);
    } catch (err) {
      ctx.report.info(`policies read from the manifests, not the cluster: ${formatError(err).split('\n')[0]}`);
      located = labPolicies(ctx.options);
    }
    const { set, vocabulary } = compileLocated(located, table.clusterName);
    const observations = table.observations();
    const section = policyReport(located, set, vocabulary, observations);
    const suggestion = suggestPolicies(observations, { format: 'k8s', namespaces: [demoNamespace] });
    if (suggestion.policies.length) {
      await writeFile(join(ctx.options.outDir, SUGGESTED_POLICY_FILE), suggestionYaml(suggestion));
      section.suggested = SUGGESTED_POLICY_FILE;
    }
    annotatePolicyDrops(report.drops, section.drops);
    report.policy = section;
  } catch (err) {
    ctx.report.info(`no policy section: ${formatError(err).split('\n')[0]}`);
  }
}
