// Lab step 3b (after deploy-hubble): a Prometheus that scrapes every agent's Hubble metrics, forwarded to 127.0.0.1:9090
// for the run. In the embedded cluster it is this machine's prometheus binary; without one the lab goes on without metrics.
import { CoreV1Api } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { InfraError } from '../lib/errors.ts';
import { applyChanges, describeChange, fieldManager, planApply, type ObjectChange } from '../lib/kube/apply.ts';
import { callApi } from '../lib/kube/errors.ts';
import { forwardService } from '../lib/kube/port-forward.ts';
import { pollUntil, waitForDeploymentRollout } from '../lib/kube/rollout.ts';
import { defineTask, type LabContext, type TaskPlan } from '../lib/lab/task.ts';
import { grafanaSecret, monitoringManifests, monitoringNamespace } from '../lib/lab/monitoring.ts';
import { findPrometheus, installHint } from '../lib/metrics/prometheus-binary.ts';
import type { MetricsState } from '../lib/metrics/lab-metrics.ts';
import { PrometheusClient } from '../lib/metrics/prometheus.ts';
import { isEntryPoint, runTaskStandalone } from './standalone.ts';

export const prometheusLocalPort = 9090;
const ns = monitoringNamespace;
/** The scrape job of the agents (manifests/monitoring/prometheus.yaml). */
export const agentJob = 'hubble-metrics';
const readyTimeoutMs = 120_000;

interface MonitoringPlan extends TaskPlan {
  objectChanges: ObjectChange[];
  skipped: boolean;
  createSecret: boolean;
}

async function grafanaSecretExists(ctx: LabContext): Promise<boolean> {
  const core = ctx.kc.makeApiClient(CoreV1Api);
  try {
    await core.readNamespacedSecret({ namespace: ns, name: grafanaSecret });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw new InfraError(`read Secret ${ns}/${grafanaSecret}: ${(err as Error).message}`, { cause: err });
  }
}

function notCollected(ctx: LabContext, reason: string): void {
  ctx.shared.metrics = { collected: false, reason } satisfies MetricsState;
}

/** The agents' targets, each up, as many as there are cilium agent pods; a line saying what is missing otherwise. */
async function targetsPending(ctx: LabContext, prom: PrometheusClient): Promise<string | undefined> {
  const core = ctx.kc.makeApiClient(CoreV1Api);
  const pods = await callApi('list Cilium agent pods', () => core.listNamespacedPod({ namespace: ns, labelSelector: 'k8s-app=cilium' }));
  const agents = pods.items.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running').length;
  const targets = (await prom.targets()).filter((t) => t.job === agentJob);
  const up = targets.filter((t) => t.health === 'up').length;
  if (up >= agents && agents > 0) return undefined;
  const down = targets.filter((t) => t.health !== 'up').map((t) => `${t.labels['instance'] ?? t.scrapeUrl}${t.lastError ? ` (${t.lastError})` : ''}`);
  return `${up}/${agents} agent target(s) up${down.length ? `; not up: ${down.join(', ')}` : ''}`;
}

export const deployMonitoring = defineTask<MonitoringPlan>({
  id: 'deploy-monitoring',
  title: 'Deploy Prometheus for Hubble metrics',
  kind: 'setup',
  access: [
    { verb: 'get', group: '', resource: 'secrets', namespace: ns },
    { verb: 'create', group: '', resource: 'secrets', namespace: ns },
    { verb: 'patch', group: '', resource: 'configmaps', namespace: ns },
    { verb: 'patch', group: '', resource: 'serviceaccounts', namespace: ns },
    { verb: 'patch', group: '', resource: 'services', namespace: ns },
    { verb: 'patch', group: 'apps', resource: 'deployments', namespace: ns },
    { verb: 'patch', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
    { verb: 'patch', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
    { verb: 'create', group: '', resource: 'pods', namespace: ns, subresource: 'portforward' },
  ],
  async plan(ctx) {
    if (ctx.target.sim && !findPrometheus()) {
      return {
        changes: [],
        notes: [
          `metrics are not collected: the embedded cluster runs prom/prometheus with this machine's prometheus binary, and there is none (${installHint}); the lab goes on with flows only`,
        ],
        objectChanges: [],
        skipped: true,
        createSecret: false,
      };
    }
    const objectChanges = await planApply(ctx.kc, monitoringManifests(ctx.target.sim));
    const unchanged = objectChanges.filter((c) => c.action === 'unchanged').length;
    const createSecret = !(await grafanaSecretExists(ctx));
    const notes = [
      ...(ctx.target.sim
        ? ["embedded cluster: prom/prometheus runs this machine's prometheus binary; its cilium discovery reads the agents' metrics addresses"]
        : []),
      ...(unchanged ? [`${unchanged} object(s) already as intended`] : []),
    ];
    const changes = [
      ...(createSecret ? [`create Secret ${ns}/${grafanaSecret} with a random Grafana admin password (printed once)`] : []),
      ...objectChanges.filter((c) => c.action !== 'unchanged').map(describeChange),
    ];
    return { changes, notes, objectChanges, skipped: false, createSecret };
  },
  async apply(ctx, plan) {
    if (plan.createSecret) {
      const password = randomBytes(18).toString('base64url');
      const core = ctx.kc.makeApiClient(CoreV1Api);
      await callApi(`create Secret ${ns}/${grafanaSecret}`, () =>
        core.createNamespacedSecret({
          namespace: ns,
          fieldManager,
          body: {
            metadata: { name: grafanaSecret, namespace: ns, labels: { 'app.kubernetes.io/part-of': 'hubble-lab' } },
            type: 'Opaque',
            data: { 'admin-password': Buffer.from(password).toString('base64') },
          },
        }),
      );
      ctx.progress.info(`Grafana admin password (shown this once; kept in Secret ${ns}/${grafanaSecret}): ${password}`);
    }
    await applyChanges(ctx.kc, plan.objectChanges);
    ctx.progress.info(`Grafana: kubectl -n ${ns} port-forward deploy/grafana 3000, then http://127.0.0.1:3000 (anonymous visitors may view)`);
  },
  async verify(ctx) {
    // The plan is not passed to verify: decide the skip the same way.
    if (ctx.target.sim && !findPrometheus()) {
      notCollected(ctx, `no prometheus binary on this machine (${installHint})`);
      return;
    }
    await waitForDeploymentRollout(ctx.kc, ns, 'prometheus', { timeoutMs: readyTimeoutMs, onProgress: (l) => ctx.progress.progress(l), signal: ctx.signal });
    const forward = await forwardService(ctx.kc, { namespace: ns, service: 'prometheus', servicePort: 9090, localPort: prometheusLocalPort });
    const url = `http://${forward.address}`;
    const prom = new PrometheusClient(url, { timeoutMs: 10_000 });
    try {
      await pollUntil('Prometheus scraping the agents', () => targetsPending(ctx, prom).catch((err: Error) => err.message), {
        timeoutMs: readyTimeoutMs,
        onProgress: (l) => ctx.progress.progress(l),
        signal: ctx.signal,
      });
    } catch (err) {
      await forward.close();
      throw new InfraError(`Prometheus does not scrape every agent: ${(err as Error).message}`, {
        hint: 'check `kubectl -n kube-system logs deploy/prometheus` and that hubble-metrics-server is set in cilium-config (hubble-lab run enable-hubble)',
        cause: err,
      });
    }
    ctx.defer(() => forward.close());
    ctx.shared.metrics = { collected: true, url } satisfies MetricsState;
    const { version } = await prom.buildInfo();
    ctx.progress.info(`Prometheus ${version}: ${url} (every agent's Hubble metrics, job ${agentJob})`);
  },
});

export default deployMonitoring;
if (isEntryPoint(import.meta.url)) runTaskStandalone(deployMonitoring);
