// `hubble-lab sim start`: runs the embedded cluster in the foreground until Ctrl-C, with a kubeconfig for kubectl.
import { once } from 'node:events';
import { resolve } from 'node:path';
import { optionNumber, optionString, type OptionSpec, type ParsedArgs } from '../args.ts';
import type { Command, CommandIO } from '../command.ts';
import { ExitCode, UsageError } from '../errors.ts';

const options: OptionSpec[] = [
  { name: 'nodes', type: 'number', valueName: 'N', default: 3, description: 'number of nodes (sim-control-plane, sim-worker, sim-worker2, …)' },
  { name: 'kubeconfig', type: 'string', valueName: 'PATH', description: 'where to write the kubeconfig (default: a temporary file, removed on exit)' },
  { name: 'port', type: 'number', valueName: 'N', description: 'API server port on 127.0.0.1 (default: a free port)' },
];

const details = `Examples:
  hubble-lab sim start
  hubble-lab sim start --nodes 2 --kubeconfig ./sim.kubeconfig --port 16443

The cluster is a fresh kind cluster with Cilium and Hubble disabled: nodes, kube-system with the cilium DaemonSet,
cilium-operator, the cilium-config ConfigMap, CoreDNS and kube-dns. Its API server listens on 127.0.0.1 only (TLS
with a certificate made at start, bearer token in the kubeconfig). Pod IPs (127.244.<node>.x) and Service IPs
(127.96.x.y) are virtual: nothing binds them, so several sims can run side by side. Stop with Ctrl-C; the
kubeconfig the sim wrote is removed and every pod process stops.`;

async function run(args: ParsedArgs, io: CommandIO): Promise<number> {
  const [sub, ...extra] = args.positionals;
  if (sub !== 'start') throw new UsageError(sub ? `unknown sim subcommand "${sub}"` : 'sim needs a subcommand', { hint: 'run `hubble-lab sim start`' });
  if (extra.length) throw new UsageError(`sim start takes no arguments, got "${extra.join(' ')}"`);
  const nodes = optionNumber(args, 'nodes') ?? 3;
  const port = optionNumber(args, 'port');
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError(`--port must be a port number, not ${port}`);
  const path = optionString(args, 'kubeconfig');
  const { startSimCluster } = await import('../sim/cluster.ts');
  const cluster = await startSimCluster({ nodes, ...(path ? { kubeconfigPath: resolve(path) } : {}), ...(port !== undefined ? { port } : {}) });
  io.stdout.write(
    [
      `hubble-lab sim: cluster running at ${cluster.apiServerUrl} (${nodes} node${nodes === 1 ? '' : 's'}, context hubble-lab-sim)`,
      `kubeconfig: ${cluster.kubeconfigPath}`,
      '',
      `  kubectl --kubeconfig ${cluster.kubeconfigPath} get pods -A`,
      `  export KUBECONFIG=${cluster.kubeconfigPath}`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  if (!io.signal.aborted) await once(io.signal, 'abort');
  io.stdout.write('hubble-lab sim: stopping\n');
  await cluster.stop();
  io.stdout.write('hubble-lab sim: stopped\n');
  return ExitCode.pass;
}

export const simCommand: Command = {
  name: 'sim',
  summary: 'run the embedded Kubernetes cluster (kind + Cilium look-alike) until Ctrl-C',
  usage: 'sim start [--nodes N] [--kubeconfig PATH] [--port N]',
  options,
  details,
  run,
};
