// `hubble-lab doctor`: the guide's diagnostics in one command — API, Cilium, Hubble config, agents, Relay and UI, nodes, flow rate.
import { AppsV1Api, CoreV1Api, VersionApi, type V1DaemonSet, type V1Deployment } from '@kubernetes/client-node';
import { optionString } from '../args.ts';
import type { Command } from '../command.ts';
import { ExitCode, HubbleLabError } from '../errors.ts';
import { connectObserver, type Node, type ServerStatus } from '../hubble/client.ts';
import { apiError, apiStatusCode, isNotFound } from '../kube/errors.ts';
import { forwardService, type Forward } from '../kube/port-forward.ts';
import { deploymentAvailable, explainDeployment } from '../kube/rollout.ts';
import { describeConfigDiff, hubbleConfig, hubbleConfigDiff, staleAgents } from '../lab/cilium-config.ts';
import { runningClusterOptions, runningClusterTarget, type LabTarget } from '../lab/context.ts';
import { relayLocalPort } from '../lab/forwards.ts';

const ns = 'kube-system';

/** A word as a shell reads it: hints are commands to paste. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

interface Out {
  ok(line: string): void;
  bad(line: string, hint?: string, details?: string[]): void;
  /** An indented line under the last check. */
  detail(line: string): void;
}

/** The commands a hint suggests, aimed at the cluster doctor checked (both tools take the same flags). */
interface Hints {
  lab(args: string): string;
  kubectl(args: string): string;
}

/** A read that may find nothing (undefined); any other failure is an InfraError naming the request. */
async function read<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw apiError(what, err);
  }
}

function deploymentReady(d: V1Deployment): string {
  return `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1} ready`;
}

async function checkDeployment(target: LabTarget, out: Out, hints: Hints, name: string, title: string): Promise<boolean> {
  const apps = target.kc.makeApiClient(AppsV1Api);
  const d = await read(`read Deployment ${ns}/${name}`, () => apps.readNamespacedDeployment({ namespace: ns, name }));
  if (!d) {
    out.bad(`${title}: not deployed (no Deployment ${ns}/${name})`, `deploy it: ${hints.lab('run deploy-hubble')}`);
    return false;
  }
  if (!deploymentAvailable(d)) {
    const why = await explainDeployment(target.kc, ns, name);
    out.bad(
      `${title}: not available (${deploymentReady(d)})`,
      `see why: ${hints.kubectl(`-n ${ns} describe deployment/${name}`)}; ${hints.lab('run deploy-hubble')} puts back the lab's manifest`,
      why,
    );
    return false;
  }
  out.ok(`${title}: available (${deploymentReady(d)})`);
  return true;
}

interface AgentState {
  ds: V1DaemonSet | undefined;
  hubbleEnabled: boolean;
  stale: number;
}

async function checkAgents(target: LabTarget, out: Out, hints: Hints): Promise<AgentState> {
  const apps = target.kc.makeApiClient(AppsV1Api);
  const core = target.kc.makeApiClient(CoreV1Api);
  const ds = await read(`read DaemonSet ${ns}/cilium`, () => apps.readNamespacedDaemonSet({ namespace: ns, name: 'cilium' }));
  const pods = (await read(`list pods in ${ns}`, () => core.listNamespacedPod({ namespace: ns, labelSelector: 'k8s-app=cilium' })))?.items ?? [];
  if (!ds) out.bad(`Cilium: no DaemonSet ${ns}/cilium`, 'install Cilium: the lab needs a cluster running Cilium');
  else {
    const want = ds.status?.desiredNumberScheduled ?? 0;
    const ready = ds.status?.numberReady ?? 0;
    if (ready === want && want > 0) out.ok(`Cilium: ${ready}/${want} agents ready`);
    else {
      const notReady = pods
        .filter((p) => !p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((p) => {
          const waiting = p.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting?.reason;
          return `${p.metadata?.name} ${waiting ?? p.status?.phase ?? 'Unknown'}`;
        });
      out.bad(
        `Cilium: ${ready}/${want} agents ready${notReady.length ? ` (not ready: ${notReady.join(', ')})` : ''}`,
        `see why: ${hints.kubectl(`-n ${ns} describe pods -l k8s-app=cilium`)}`,
      );
    }
  }

  const cm = await read(`read ConfigMap ${ns}/cilium-config`, () => core.readNamespacedConfigMap({ namespace: ns, name: 'cilium-config' }));
  if (!cm) {
    out.bad(`Hubble config: no ConfigMap ${ns}/cilium-config`, 'install Cilium: the lab needs a cluster running Cilium');
    return { ds, hubbleEnabled: false, stale: 0 };
  }
  const data = cm.data ?? {};
  const hubbleEnabled = data['enable-hubble'] === 'true';
  const wrong = hubbleConfigDiff(data);
  if (wrong.length) {
    out.bad(
      `Hubble config: ${hubbleEnabled ? 'enabled, but' : 'not enabled:'} cilium-config has ${describeConfigDiff(wrong)}`,
      `set the lab's Hubble settings and restart the agents: ${hints.lab('run enable-hubble')}`,
    );
  } else out.ok(`Hubble config: enabled, listening on ${hubbleConfig['hubble-listen-address']}, metrics on ${hubbleConfig['hubble-metrics-server']}`);

  const stale = staleAgents(cm, pods);
  if (stale.length) {
    out.bad(
      `Cilium agents: ${stale.length} of ${pods.length} started before the last cilium-config change and run the old config: ${stale.join(', ')}`,
      `restart them: ${hints.lab('run enable-hubble')} (or ${hints.kubectl(`-n ${ns} rollout restart daemonset/cilium`)})`,
    );
  } else if (pods.length) out.ok(`Cilium agents: all ${pods.length} run the current cilium-config`);
  return { ds, hubbleEnabled, stale: stale.length };
}

async function checkRelayApi(target: LabTarget, out: Out, hints: Hints, agents: AgentState): Promise<void> {
  const logs = hints.kubectl(`-n ${ns} logs deployment/hubble-relay`);
  let forward: Forward;
  try {
    forward = await forwardService(target.kc, { namespace: ns, service: 'hubble-relay', servicePort: 80, localPort: relayLocalPort });
  } catch (err) {
    out.bad(`Relay: cannot port-forward to it: ${(err as Error).message}`, (err as HubbleLabError).hint ?? `see its logs: ${logs}`);
    return;
  }
  try {
    let client: Awaited<ReturnType<typeof connectObserver>> | undefined;
    let status: ServerStatus;
    let nodes: Node[];
    try {
      client = await connectObserver(forward.address, { what: 'Hubble Relay' });
      status = await client.serverStatus();
      nodes = await client.getNodes();
    } catch (err) {
      out.bad(
        `Relay: does not answer through port-forward ${forward.address} (pod ${forward.podName} port ${forward.remotePort}): ${(err as Error).message}`,
        `see its logs: ${logs}; and check that Service ${ns}/hubble-relay port 80 targets the port Relay listens on`,
      );
      return;
    } finally {
      client?.close();
    }
    const max = Number(status.max_flows ?? 0);
    const num = Number(status.num_flows ?? 0);
    out.ok(`Relay: healthy via port-forward ${forward.address}`);
    out.ok(`Current/Max Flows: ${num}/${max}${max ? ` (${((num / max) * 100).toFixed(2)}%)` : ''}`);
    out.ok(`Flows/s: ${Number(status.flows_rate ?? 0).toFixed(2)}`);
    const connected = status.num_connected_nodes ?? 0;
    // Relay only knows the agents that serve Hubble: with Hubble off it counts 0 of 0, so the agents set the total.
    const total = Math.max(connected + (status.num_unavailable_nodes ?? 0), agents.ds?.status?.desiredNumberScheduled ?? 0);
    const unavailable = status.unavailable_nodes?.length ? ` (unavailable: ${status.unavailable_nodes.join(', ')})` : '';
    if (connected === total && total > 0) out.ok(`Connected Nodes: ${connected}/${total}`);
    else {
      out.bad(
        `Connected Nodes: ${connected}/${total}${unavailable}`,
        !agents.hubbleEnabled
          ? 'the agents serve Hubble once it is enabled in cilium-config and they are restarted (see above)'
          : agents.stale
            ? 'the agents serve Hubble once they are restarted (see above)'
            : `check the Cilium agents on those nodes and Relay's logs: ${logs}`,
      );
    }
    for (const n of nodes) out.detail(`node ${n.name}: ${n.state ?? 'UNKNOWN'} ${n.num_flows ?? 0}/${n.max_flows ?? 0} flows`);
  } finally {
    await forward.close();
  }
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: "check the API, Cilium and its agents, the Hubble config, Relay and UI, Relay's status, nodes and flow rate",
  usage: 'doctor [--kubeconfig PATH] [--context NAME]',
  options: runningClusterOptions,
  details: ['Each check prints ✔ or ✖; under a ✖, → says what to do.', 'Exit codes: 0 no problem found, 2 a problem found (or bad usage).'].join('\n'),
  async run(args, io) {
    const kubeconfig = optionString(args, 'kubeconfig');
    const context = optionString(args, 'context');
    const target = await runningClusterTarget(kubeconfig, context);
    // Hints name the cluster checked (`hubble-lab run` without flags would start an embedded one instead).
    const named = [...(kubeconfig ? ['--kubeconfig', kubeconfig] : []), ...(context ? ['--context', context] : [])];
    const flags = (named.length ? named : ['--context', target.kc.getCurrentContext()]).map(shellWord).join(' ');
    const hints: Hints = {
      lab: (a) => `hubble-lab ${a} ${flags}`,
      kubectl: (a) => `kubectl ${flags} ${a}`,
    };
    let problems = 0;
    const out: Out = {
      ok: (line) => io.stdout.write(`✔ ${line}\n`),
      bad: (line, hint, details = []) => {
        problems++;
        io.stdout.write(`✖ ${line}\n${details.map((d) => `  ${d}\n`).join('')}${hint ? `  → ${hint}\n` : ''}`);
      },
      detail: (line) => io.stdout.write(`  ${line}\n`),
    };
    try {
      let version;
      try {
        version = await target.kc.makeApiClient(VersionApi).getCode();
      } catch (err) {
        const e = apiError('reach the Kubernetes API', err);
        const server = target.kc.getCurrentCluster()?.server;
        out.bad(
          `cluster: ${target.description}: ${e.message}`,
          apiStatusCode(err) === undefined
            ? `start the cluster, or fix its address ${server} in ${kubeconfig ?? 'the kubeconfig'}${context ? ` (context ${context})` : ''}`
            : e.hint,
        );
        return finish();
      }
      out.ok(`cluster: ${target.description}, Kubernetes ${version.gitVersion}`);
      const agents = await checkAgents(target, out, hints);
      const relayUp = await checkDeployment(target, out, hints, 'hubble-relay', 'Hubble Relay');
      await checkDeployment(target, out, hints, 'hubble-ui', 'Hubble UI');
      if (relayUp) await checkRelayApi(target, out, hints, agents);
    } catch (err) {
      // A check the cluster refused (RBAC, a server error) ends the diagnosis; what was found so far stays.
      if (!(err instanceof HubbleLabError)) throw err;
      out.bad(err.message, err.hint);
    }
    return finish();

    function finish(): number {
      io.stdout.write(problems ? `${problems} problem${problems === 1 ? '' : 's'} found\n` : 'no problems found\n');
      return problems ? ExitCode.error : ExitCode.pass;
    }
  },
};
