// Shared setup for the Cilium tests: a sim with the real pod runtime and short SYN retries, objects applied as a
// client would, Hubble switched on as the lab does it, and flows read back from the agents over gRPC.
import type { Test } from 'tap';
import type { Duplex } from 'node:stream';
import { CoreV1Api } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { Flow } from '../../../lib/flows/types.ts';
import { connectObserver } from '../../../lib/hubble/client.ts';
import { restartDaemonSet, setMergePatch, waitForDaemonSetRollout } from '../../../lib/kube/rollout.ts';
import { startSimCluster, type SimCluster } from '../../../lib/sim/cluster.ts';
import { localForward } from '../../../lib/sim/hubble/forward.ts';
import { createDatapath } from '../../../lib/sim/net/datapath.ts';
import { createPodRuntime, type SimPodRuntime } from '../../../lib/sim/runtime/index.ts';
import type { RunningPod } from '../../../lib/sim/runtime/types.ts';
import { raw, waitFor } from '../helpers.ts';
import { resourceForKind } from '../../../lib/sim/apiserver/resources.ts';
import { kubeConfigOf } from '../../fixtures/sim-kube.ts';

export { waitFor };

/** SYN retransmissions: 100 ms, then 200 ms, then the client gives up (ETIMEDOUT after 700 ms), three SYNs in all. */
export const synRtoMs = 100;
export const synRetries = 2;

export interface CiliumSim {
  cluster: SimCluster;
  runtime: SimPodRuntime;
  core: CoreV1Api;
  /** Creates the objects of YAML documents (or objects), as `kubectl create`. */
  apply(docs: string | Record<string, any>[]): Promise<void>;
  /** Deletes one object. */
  remove(doc: Record<string, any>): Promise<void>;
  /** The running pod of a namespace whose name starts with `prefix`. */
  pod(namespace: string, prefix: string): RunningPod;
}

export async function startCiliumSim(t: Test, nodes = 3): Promise<CiliumSim> {
  const datapath = await createDatapath({ synRtoMs, synRetries });
  const runtime = await createPodRuntime({ datapath, shutdownGraceMs: 500 });
  const cluster = await startSimCluster({ nodes, runtime });
  t.teardown(async () => {
    await cluster.stop();
    await datapath.close();
  });
  const toObjects = (docs: string | Record<string, any>[]) => (typeof docs === 'string' ? parseAllDocuments(docs).map((d) => d.toJS()) : docs);
  // Raw requests, as kubectl sends them: client-node's object API drops fields its models rename (NetworkPolicy
  // ingress[].from becomes _from), which would silently turn a policy into allow-all.
  const path = (doc: Record<string, any>, named: boolean) => {
    const info = resourceForKind(doc.apiVersion, doc.kind);
    if (!info) throw new Error(`no resource for ${doc.apiVersion} ${doc.kind}`);
    const ns = info.namespaced ? `/namespaces/${doc.metadata.namespace}` : '';
    return `/${info.group ? 'apis' : 'api'}/${doc.apiVersion}${ns}/${info.resource}${named ? `/${doc.metadata.name}` : ''}`;
  };
  const send = async (method: string, doc: Record<string, any>, named: boolean) => {
    const r = await raw(cluster, method, path(doc, named), method === 'POST' ? { body: doc } : {});
    if (r.status >= 300) throw new Error(`${method} ${doc.kind} ${doc.metadata.name}: ${r.status} ${r.json?.message ?? r.text}`);
  };
  return {
    cluster,
    runtime,
    core: kubeConfigOf(cluster).makeApiClient(CoreV1Api),
    async apply(docs) {
      for (const d of toObjects(docs)) await send('POST', d, false);
    },
    async remove(doc) {
      await send('DELETE', doc, true);
    },
    pod(namespace, prefix) {
      const found = runtime.pods().find((p) => p.spec.namespace === namespace && p.spec.name.startsWith(prefix));
      if (!found) throw new Error(`no running pod ${namespace}/${prefix}*`);
      return found;
    },
  };
}

/**
 * Turns Hubble on the way the lab does: enable-hubble in cilium-config (with `config`, more settings), then a
 * rollout restart of the agents, which read cilium-config when they start.
 */
export async function enableHubble(sim: CiliumSim, config: Record<string, string> = {}): Promise<void> {
  const { cluster } = sim;
  const kc = kubeConfigOf(cluster);
  // As the lab does: the agents have rolled out before the change, so the restart really replaces them.
  await waitForDaemonSetRollout(kc, 'kube-system', 'cilium', { timeoutMs: 20_000, intervalMs: 50 });
  const data = { 'enable-hubble': 'true', 'hubble-listen-address': ':4244', ...config };
  await sim.core.patchNamespacedConfigMap({ name: 'cilium-config', namespace: 'kube-system', body: { data } }, setMergePatch());
  await restartDaemonSet(kc, 'kube-system', 'cilium');
  await waitForDaemonSetRollout(kc, 'kube-system', 'cilium', { timeoutMs: 20_000, intervalMs: 50 });
  const nodes = (await sim.core.listNode()).items.map((n) => n.metadata!.name!);
  await waitFor('every agent to serve Hubble', () => nodes.every((n) => cluster.internals.cilium.hub.serving(n)), 20_000);
}

/** Every flow the agents hold (their rings, through each agent's Observer), in time order. */
export async function agentFlows(sim: CiliumSim): Promise<Flow[]> {
  const agents = sim.runtime.pods().filter((p) => p.spec.namespace === 'kube-system' && p.spec.labels['k8s-app'] === 'cilium');
  const flows: Flow[] = [];
  for (const agent of agents) {
    const fwd = await localForward(() => agent.dial(4244) as Promise<Duplex>);
    const client = await connectObserver(fwd.address, { what: `Hubble agent on ${agent.spec.nodeName}` });
    try {
      for await (const r of client.getFlows({ number: 65535 })) if (r.flow) flows.push(r.flow);
    } finally {
      client.close();
      await fwd.close();
    }
  }
  return flows.sort((a, b) => (a.time! < b.time! ? -1 : a.time! > b.time! ? 1 : 0));
}

/** Waits for the Job's pod to finish and returns its phase and log. */
export async function jobOutcome(sim: CiliumSim, namespace: string, job: string, timeoutMs = 20_000): Promise<{ phase: string; pod: string; log: string }> {
  const pod = await waitFor(
    `job ${job} to finish`,
    async () => {
      const pods = (await sim.core.listNamespacedPod({ namespace, labelSelector: `job-name=${job}` })).items;
      return pods.find((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed');
    },
    timeoutMs,
  );
  const log = await sim.core.readNamespacedPodLog({ namespace, name: pod.metadata!.name! });
  return { phase: pod.status!.phase!, pod: pod.metadata!.name!, log };
}

/** A ConfigMap holding scripts, mounted at /scripts by `nodeScriptPod`. */
export function scriptConfigMap(namespace: string, name: string, files: Record<string, string>): Record<string, any> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: files };
}

/** A container on node:20-alpine running /scripts/<file> from the ConfigMap `configMap`. */
export function nodeScriptSpec(configMap: string, file: string, args: string[] = [], extra: Record<string, any> = {}): Record<string, any> {
  return {
    containers: [
      {
        name: 'main',
        image: 'node:20-alpine',
        command: ['node', `/scripts/${file}`, ...args],
        volumeMounts: [{ name: 'scripts', mountPath: '/scripts' }],
        ...extra,
      },
    ],
    volumes: [{ name: 'scripts', configMap: { name: configMap } }],
  };
}
