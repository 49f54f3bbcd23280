// `hubble-lab doctor`: the guide's diagnostics in one command — Cilium, Hubble config, Relay, nodes, flow rate.
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { optionString } from '../args.ts';
import type { Command } from '../command.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { connectObserver } from '../hubble/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { deploymentAvailable } from '../kube/rollout.ts';
import { hubbleConfig, staleAgents } from '../../tasks/02-enable-hubble.ts';
import { openHubbleForwards } from '../../tasks/06-port-forward.ts';
import { clusterOptions, labContext, labTarget } from './run.ts';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check Cilium, the Hubble config, Relay reachability and status, nodes and flow rate',
  usage: 'doctor --kubeconfig PATH|--context NAME',
  options: clusterOptions,
  async run(args, io) {
    const kubeconfig = optionString(args, 'kubeconfig');
    const context = optionString(args, 'context');
    if (!kubeconfig && !context) throw new UsageError('doctor needs a cluster to check', { hint: 'pass --kubeconfig or --context' });
    const target = await labTarget(kubeconfig, context, io);
    const ctx = labContext(target, { durationMs: 0, scenario: 'default', outDir: '.', dryRun: false, yes: true }, io, false, []);
    let problems = 0;
    const ok = (line: string) => io.stdout.write(`✔ ${line}\n`);
    const bad = (line: string, hint?: string) => {
      problems++;
      io.stdout.write(`✖ ${line}\n${hint ? `  → ${hint}\n` : ''}`);
    };
    try {
      ok(`cluster: ${target.description}`);
      const apps = target.kc.makeApiClient(AppsV1Api);
      const core = target.kc.makeApiClient(CoreV1Api);
      const ds = await apps.readNamespacedDaemonSet({ namespace: 'kube-system', name: 'cilium' }).catch((err) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (!ds) bad('Cilium: no DaemonSet kube-system/cilium', 'install Cilium first');
      else {
        const want = ds.status?.desiredNumberScheduled ?? 0;
        const ready = ds.status?.numberReady ?? 0;
        (ready === want && want > 0 ? ok : bad)(`Cilium: ${ready}/${want} agents ready`);
      }
      const cm = await core.readNamespacedConfigMap({ namespace: 'kube-system', name: 'cilium-config' });
      const wrong = Object.entries(hubbleConfig).filter(([k, v]) => cm.data?.[k] !== v);
      if (wrong.length) bad(`Hubble config: ${wrong.map(([k]) => `${k}=${cm.data?.[k] ?? '(unset)'}`).join(', ')}`, 'hubble-lab run enable-hubble');
      else ok('Hubble config: enabled, listening on :4244, metrics on :9965');
      const pods = await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=cilium' });
      const stale = staleAgents(cm, pods.items);
      if (stale.length) bad(`agents started before the current config: ${stale.join(', ')}`, 'kubectl -n kube-system rollout restart ds/cilium');
      const relay = await apps.readNamespacedDeployment({ namespace: 'kube-system', name: 'hubble-relay' }).catch(() => undefined);
      if (!relay) bad('Hubble Relay: not deployed', 'hubble-lab run deploy-hubble');
      else if (!deploymentAvailable(relay)) bad('Hubble Relay: not available', 'kubectl -n kube-system describe deploy/hubble-relay');
      else {
        const { relay: fwd, ui } = await openHubbleForwards(ctx);
        ctx.defer(() => fwd.close());
        ctx.defer(() => ui.close());
        const client = await connectObserver(fwd.address, { what: 'Hubble Relay' });
        try {
          const status = await client.serverStatus();
          const nodes = await client.getNodes();
          const max = Number(status.max_flows ?? 0);
          const num = Number(status.num_flows ?? 0);
          ok(`Relay: healthy via port-forward ${fwd.address}`);
          ok(`Current/Max Flows: ${num}/${max}${max ? ` (${((num / max) * 100).toFixed(2)}%)` : ''}`);
          ok(`Flows/s: ${Number(status.flows_rate ?? 0).toFixed(2)}`);
          const connected = status.num_connected_nodes ?? 0;
          const total = connected + (status.num_unavailable_nodes ?? 0);
          (connected === total ? ok : bad)(`Connected Nodes: ${connected}/${total}${status.unavailable_nodes?.length ? ` (unavailable: ${status.unavailable_nodes.join(', ')})` : ''}`);
          for (const n of nodes) io.stdout.write(`  node ${n.name}: ${n.state ?? 'UNKNOWN'} ${n.num_flows ?? 0}/${n.max_flows ?? 0} flows\n`);
        } finally {
          client.close();
        }
      }
    } finally {
      await ctx.close();
    }
    io.stdout.write(problems ? `${problems} problem(s) found\n` : 'no problems found\n');
    return problems ? ExitCode.error : ExitCode.pass;
  },
};
