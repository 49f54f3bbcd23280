// The lab report's policy part: the run's flows checked against the policies in force (the cluster's, else those
// the lab applied), every policy drop explained, and a least-privilege policy suggested beside the report.
import { formatError } from '../errors.ts';
import { readResponses } from '../hubble/codec/read.ts';
import type { LocatedPolicy } from '../policy/load.ts';
import { readClusterPolicies } from '../policy/cluster.ts';
import { ObservationTable } from '../policy/observations.ts';
import { attachPolicyReport, type PolicyReportTarget } from '../report/policy.ts';
import { demoNamespace } from './manifests.ts';
import { labPolicies } from './policies.ts';
import type { LabContext } from './task.ts';

/**
 * Reads the run's flows file, explains its policy drops and writes suggested-policy.yaml; the result goes on the
 * report (`policy`, and `policies`/`missingRule` on policy-drop findings). A failure here costs the section, never
 * the report: it is said in the run's log instead.
 */
export async function addLabPolicyReport(ctx: LabContext, report: PolicyReportTarget, flowsFile: string): Promise<void> {
  try {
    const table = new ObservationTable();
    for await (const r of readResponses(flowsFile)) table.add(r);
    let policies: LocatedPolicy[];
    try {
      policies = await readClusterPolicies(ctx.kc);
    } catch (err) {
      ctx.progress.info(`policies read from the manifests, not the cluster: ${formatError(err).split('\n')[0]}`);
      policies = labPolicies(ctx.options);
    }
    await attachPolicyReport(report, table, { policies, suggestTo: ctx.options.outDir, namespaces: [demoNamespace] });
  } catch (err) {
    ctx.progress.info(`no policy section: ${formatError(err).split('\n')[0]}`);
  }
}
