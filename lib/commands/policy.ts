// `hubble-lab policy suggest|check`: least-privilege policies from observed flows, and a what-if of policies
// against observed flows, both with the evaluator the sim's datapath enforces with.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { optionFlag, optionString, optionValues, type OptionSpec, type ParsedArgs } from '../args.ts';
import type { Command, CommandIO } from '../command.ts';
import { ExitCode, InputError, UsageError } from '../errors.ts';
import { connectObserver } from '../hubble/client.ts';
import { createReadStats, describeMalformed, readResponses } from '../hubble/codec/read.ts';
import { ALL_FLOWS } from '../hubble/filter/flags.ts';
import { loadKubeConfig } from '../kube/config.ts';
import { checkPolicies, formatCheck } from '../policy/check.ts';
import { compileLocated, namedPortsOf, readPolicyFiles, type LocatedPolicy } from '../policy/load.ts';
import { readClusterPolicies } from '../policy/cluster.ts';
import { ObservationTable } from '../policy/observations.ts';
import { suggestPolicies, suggestionYaml, type SuggestFormat } from '../policy/suggest.ts';

const options: OptionSpec[] = [
  {
    name: 'input',
    short: 'i',
    type: 'string',
    valueName: 'FILE',
    group: 'Flows',
    description: 'flows file: hubble observe -o jsonpb/json or the Hubble exporter, plain or gzip; - for stdin',
  },
  { name: 'server', type: 'string', valueName: 'ADDR', group: 'Flows', description: 'Hubble Relay (or agent) to read every buffered flow from' },
  {
    name: 'namespace',
    short: 'n',
    type: 'string',
    repeatable: true,
    valueName: 'NS',
    group: 'suggest',
    description: 'write policies for workloads of this namespace (default: every namespace seen but kube-system)',
  },
  {
    name: 'format',
    type: 'string',
    valueName: 'FORMAT',
    default: 'k8s',
    group: 'suggest',
    description: 'k8s (NetworkPolicy) or cilium (CiliumNetworkPolicy, with toFQDNs and DNS rules)',
  },
  { name: 'l7', type: 'boolean', group: 'suggest', description: 'with --format cilium: HTTP method and path rules, paths templated from those seen' },
  { name: 'out', type: 'string', valueName: 'DIR', group: 'suggest', description: 'write one file per policy into DIR instead of printing them' },
  {
    name: 'policy',
    short: 'p',
    type: 'string',
    repeatable: true,
    valueName: 'FILE|DIR',
    group: 'check',
    description: 'policies to check (YAML files, or folders of them)',
  },
  {
    name: 'kubeconfig',
    type: 'string',
    valueName: 'FILE',
    group: 'check',
    description: "also check the cluster's own policies (with --context, or the current context)",
  },
  { name: 'context', type: 'string', valueName: 'NAME', group: 'check', description: 'kubeconfig context whose cluster policies are included' },
  { name: 'json', type: 'boolean', group: 'check', description: 'print the result as JSON' },
];

const details = `Subcommands:
  suggest   least-privilege policies allowing exactly the traffic observed as forwarded, one per workload
  check     what the given policies would do to the observed traffic (exit 1 if a forwarded flow would drop)

Examples:
  hubble observe -o jsonpb --all > flows.json
  hubble-lab policy suggest --input flows.json --namespace genai-network-demo --out policies/
  hubble-lab policy suggest --input flows.json --format cilium --l7 > policies.yaml
  hubble-lab policy check --policy policies/ --input flows.json
  hubble-lab policy check --policy new.yaml --context kind-kind --input flows.json --json

suggest selects workloads and peers by stable labels (app, tier, app.kubernetes.io/*; never pod-template-hash,
controller-uid or job-name), peers by namespace and labels, the world by FQDN where DNS names were seen (cilium)
or by /32, and always allows cluster DNS on UDP and TCP 53. Traffic that was denied gets no rule, so it stays
denied. The pod's own node needs no rule: Cilium lets it in (kubelet probes). Replies need none (conntrack).

check evaluates every flow as Cilium would: forwarded flows that would be dropped (wouldDrop), denied flows that
stay denied (stillDenied) and denied flows that would be allowed (wouldAllow), per edge, with the rule that
decides. With --kubeconfig or --context the cluster's policies are added to those given ("apply this one too").
Named ports cannot be resolved from flows (they carry no container ports): rules using them match nothing.

Exit codes: 0 done (check: nothing forwarded would drop), 1 check: a forwarded flow would be dropped,
2 bad flags, unreadable flows or a policy that does not parse or validate (named by file and line).`;

export const policyCommand: Command = {
  name: 'policy',
  summary: 'suggest least-privilege policies from flows, or check policies against flows (what-if)',
  usage: 'policy suggest|check (--input FILE|- | --server ADDR) [flags]',
  options,
  details,
  run,
};

const onlyFor: Record<string, 'suggest' | 'check'> = {
  namespace: 'suggest',
  format: 'suggest',
  l7: 'suggest',
  out: 'suggest',
  policy: 'check',
  kubeconfig: 'check',
  context: 'check',
  json: 'check',
};

async function readObservations(args: ParsedArgs, io: CommandIO, sub: string): Promise<ObservationTable> {
  const input = optionString(args, 'input');
  const server = optionString(args, 'server');
  if (input !== undefined && server !== undefined) throw new UsageError(`policy ${sub}: --input and --server cannot be used together`);
  if (input === undefined && server === undefined)
    throw new UsageError(`policy ${sub}: no flows`, { hint: 'pass --input FILE (- for stdin) or --server ADDR' });
  const table = new ObservationTable();
  if (input !== undefined) {
    const stats = createReadStats();
    for await (const r of readResponses(input === '-' ? { stream: io.stdin, name: '<stdin>' } : input, stats)) table.add(r);
    const malformed = describeMalformed(stats);
    if (malformed) io.stderr.write(`hubble-lab: ${malformed}\n`);
  } else {
    const client = await connectObserver(server!, { what: 'Hubble server' });
    try {
      for await (const r of client.getFlows({ number: ALL_FLOWS }, { signal: io.signal })) table.add(r);
    } finally {
      client.close();
    }
  }
  if (table.flows === 0) throw new InputError(`policy ${sub}: ${input ?? server} has no flows`, { hint: 'export flows with `hubble observe -o jsonpb --all`' });
  return table;
}

async function suggest(args: ParsedArgs, io: CommandIO): Promise<number> {
  const format = (optionString(args, 'format') ?? 'k8s').toLowerCase();
  if (format !== 'k8s' && format !== 'cilium') throw new UsageError(`policy suggest: --format takes k8s or cilium, not "${format}"`);
  const l7 = optionFlag(args, 'l7');
  if (l7 && format !== 'cilium') throw new UsageError('policy suggest: --l7 needs --format cilium', { hint: 'HTTP rules exist only in CiliumNetworkPolicy' });
  const namespaces = optionValues(args, 'namespace');
  const table = await readObservations(args, io, 'suggest');
  const observations = table.observations();
  const suggestion = suggestPolicies(observations, { format: format as SuggestFormat, l7, namespaces });
  if (suggestion.policies.length === 0) {
    throw new InputError(`policy suggest: no workload${namespaces.length ? ` of ${namespaces.join(', ')}` : ''} in the flows`, {
      hint: 'check --namespace against the namespaces the flows show',
    });
  }
  for (const note of suggestion.notes) io.stderr.write(`hubble-lab: note: ${note}\n`);
  // The suggestion is checked against the very traffic it came from: what it cannot allow is said, not hidden.
  const loaded = compileLocated(
    suggestion.policies.map((p) => ({ object: p.object, source: `suggested ${p.name}` })),
    table.clusterName,
  );
  const self = checkPolicies(loaded.set, observations, loaded.vocabulary);
  if (self.wouldDrop.allowedFlows > 0) {
    io.stderr.write(
      `hubble-lab: note: ${self.wouldDrop.allowedFlows} forwarded flows cannot be allowed in this format: ${self.wouldDrop.edges.map((e) => `${e.source} → ${e.destination} ${e.protocol}/${e.port}`).join('; ')}\n`,
    );
  }
  if (self.wouldAllow.flows > 0) {
    io.stderr.write(
      `hubble-lab: note: ${self.wouldAllow.flows} denied flows share selectors with allowed ones and would be allowed: ${self.wouldAllow.edges.map((e) => `${e.source} → ${e.destination} ${e.protocol}/${e.port}`).join('; ')}\n`,
    );
  }
  const out = optionString(args, 'out');
  if (out === undefined) {
    io.stdout.write(suggestionYaml(suggestion));
    return ExitCode.pass;
  }
  try {
    mkdirSync(out, { recursive: true });
    const written: string[] = [];
    for (const p of suggestion.policies) {
      const file = join(out, `${p.namespace}.${p.name}.yaml`);
      writeFileSync(file, p.yaml);
      written.push(file);
    }
    io.stdout.write(
      `hubble-lab policy suggest: ${written.length} ${format === 'cilium' ? 'CiliumNetworkPolicies' : 'NetworkPolicies'} from ${table.flows} flows\n${written.map((f) => `  ${f}\n`).join('')}`,
    );
  } catch (err) {
    throw new InputError(`policy suggest: cannot write to ${out}: ${(err as Error).message}`, { cause: err });
  }
  return ExitCode.pass;
}

async function check(args: ParsedArgs, io: CommandIO): Promise<number> {
  const files = optionValues(args, 'policy');
  const kubeconfig = optionString(args, 'kubeconfig');
  const context = optionString(args, 'context');
  const fromCluster = kubeconfig !== undefined || context !== undefined;
  if (files.length === 0 && !fromCluster)
    throw new UsageError('policy check: no policies to check', { hint: 'pass --policy FILE|DIR, and/or --context/--kubeconfig for the cluster’s own' });
  // Policies first: a broken file should fail before a long read of flows.
  const located: LocatedPolicy[] = readPolicyFiles(files);
  if (fromCluster) located.push(...(await readClusterPolicies(loadKubeConfig({ ...(kubeconfig ? { kubeconfig } : {}), ...(context ? { context } : {}) }))));
  compileLocated(located);
  const named = namedPortsOf(located);
  if (named.length)
    io.stderr.write(
      `hubble-lab: note: named ports (${named.join(', ')}) cannot be resolved from flows, which carry no container ports: rules using them match nothing here\n`,
    );
  const table = await readObservations(args, io, 'check');
  const { set, vocabulary } = compileLocated(located, table.clusterName);
  const result = checkPolicies(set, table.observations(), vocabulary, table.skipped);
  if (optionFlag(args, 'json')) io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else
    io.stdout.write(
      `hubble-lab policy check: ${located.length} ${located.length === 1 ? 'policy' : 'policies'} against ${table.flows} flows\n${formatCheck(result)}`,
    );
  return result.wouldDrop.allowedFlows > 0 ? ExitCode.failed : ExitCode.pass;
}

async function run(args: ParsedArgs, io: CommandIO): Promise<number> {
  const [sub, ...extra] = args.positionals;
  if (sub !== 'suggest' && sub !== 'check') {
    throw new UsageError(sub === undefined ? 'policy: say suggest or check' : `policy: unknown subcommand "${sub}"`, {
      hint: 'hubble-lab policy suggest --input flows.json, or hubble-lab policy check --policy FILE --input flows.json',
    });
  }
  if (extra.length) throw new UsageError(`policy ${sub}: unexpected argument "${extra[0]}"`);
  for (const o of args.ordered) {
    const owner = onlyFor[o.name];
    if (owner && owner !== sub) throw new UsageError(`policy ${sub}: --${o.name} is a flag of policy ${owner}`);
  }
  return sub === 'suggest' ? suggest(args, io) : check(args, io);
}
