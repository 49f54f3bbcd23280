// Defaulting, as the API server applies it on every write: the fields clients read back without having set them.
import type { KObject } from './store.ts';
import type { ResourceInfo } from './resources.ts';

type Obj = Record<string, any>;

function setDefault(obj: Obj, key: string, value: unknown): void {
  if (obj[key] === undefined || obj[key] === null) obj[key] = value;
}

function imagePullPolicy(image: string | undefined): string {
  if (!image) return 'IfNotPresent';
  const last = image.slice(image.lastIndexOf('/') + 1);
  if (image.includes('@')) return 'IfNotPresent';
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(p: Obj | undefined): void {
  if (!p) return;
  setDefault(p, 'timeoutSeconds', 1);
  setDefault(p, 'periodSeconds', 10);
  setDefault(p, 'successThreshold', 1);
  setDefault(p, 'failureThreshold', 3);
  if (p.httpGet) setDefault(p.httpGet, 'scheme', 'HTTP');
}

function defaultContainer(c: Obj): void {
  setDefault(c, 'resources', {});
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  setDefault(c, 'imagePullPolicy', imagePullPolicy(c.image));
  for (const p of c.ports ?? []) setDefault(p, 'protocol', 'TCP');
  for (const e of c.env ?? []) {
    if (e.valueFrom?.fieldRef) setDefault(e.valueFrom.fieldRef, 'apiVersion', 'v1');
  }
  defaultProbe(c.readinessProbe);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.startupProbe);
}

export function defaultPodSpec(spec: Obj | undefined, opts: { isPod: boolean }): void {
  if (!spec) return;
  // Job templates must name their restartPolicy (validation rejects Always), so templates get theirs from the caller.
  if (opts.isPod) setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'schedulerName', 'default-scheduler');
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) defaultContainer(c);
  for (const v of spec.volumes ?? []) {
    if (v.configMap) setDefault(v.configMap, 'defaultMode', 420);
    if (v.secret) setDefault(v.secret, 'defaultMode', 420);
  }
  if (opts.isPod) {
    setDefault(spec, 'serviceAccountName', 'default');
    setDefault(spec, 'serviceAccount', spec.serviceAccountName);
    setDefault(spec, 'enableServiceLinks', true);
    setDefault(spec, 'priority', 0);
    setDefault(spec, 'preemptionPolicy', 'PreemptLowerPriority');
    setDefault(spec, 'tolerations', [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
  }
}

function defaultTemplate(spec: Obj | undefined, jobTemplate: boolean): void {
  const podSpec = spec?.template?.spec;
  if (!podSpec) return;
  if (!jobTemplate) setDefault(podSpec, 'restartPolicy', 'Always');
  defaultPodSpec(podSpec, { isPod: false });
  setDefault(spec.template, 'metadata', {});
  // Typed clients send `creationTimestamp: null` in templates; the API server's typed decoding drops it.
  if (spec.template.metadata.creationTimestamp === null) delete spec.template.metadata.creationTimestamp;
}

function qosClass(spec: Obj): string {
  const containers: Obj[] = spec.containers ?? [];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      const l = lim[r];
      if (l === undefined || (req[r] !== undefined && String(req[r]) !== String(l))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Applies the defaults of the object's resource in place (the caller passes its own copy). */
export function applyDefaults(info: ResourceInfo, obj: KObject): void {
  const spec: Obj | undefined = obj.spec;
  switch (`${info.group}/${info.resource}`) {
    case '/namespaces':
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name! };
      obj.spec = { finalizers: ['kubernetes'], ...obj.spec };
      obj.status = { phase: 'Active', ...obj.status };
      break;
    case '/pods':
      obj.spec ??= {};
      defaultPodSpec(obj.spec, { isPod: true });
      obj.status ??= {};
      setDefault(obj.status, 'phase', 'Pending');
      setDefault(obj.status, 'qosClass', qosClass(obj.spec));
      break;
    case '/secrets':
      setDefault(obj, 'type', 'Opaque');
      break;
    case '/services': {
      obj.spec ??= {};
      const s = obj.spec;
      setDefault(s, 'type', 'ClusterIP');
      setDefault(s, 'sessionAffinity', 'None');
      if (s.type !== 'ExternalName') {
        setDefault(s, 'ipFamilies', ['IPv4']);
        setDefault(s, 'ipFamilyPolicy', 'SingleStack');
        setDefault(s, 'internalTrafficPolicy', 'Cluster');
      }
      if (s.type === 'NodePort' || s.type === 'LoadBalancer') setDefault(s, 'externalTrafficPolicy', 'Cluster');
      for (const p of s.ports ?? []) {
        setDefault(p, 'protocol', 'TCP');
        setDefault(p, 'targetPort', p.port);
      }
      obj.status ??= { loadBalancer: {} };
      break;
    }
    case 'apps/deployments':
      if (!spec) break;
      setDefault(spec, 'replicas', 1);
      setDefault(spec, 'strategy', { type: 'RollingUpdate' });
      if (spec.strategy.type === 'RollingUpdate') {
        spec.strategy.rollingUpdate = { maxUnavailable: '25%', maxSurge: '25%', ...spec.strategy.rollingUpdate };
      }
      setDefault(spec, 'revisionHistoryLimit', 10);
      setDefault(spec, 'progressDeadlineSeconds', 600);
      defaultTemplate(spec, false);
      break;
    case 'apps/replicasets':
      if (!spec) break;
      setDefault(spec, 'replicas', 1);
      defaultTemplate(spec, false);
      break;
    case 'apps/daemonsets':
      if (!spec) break;
      setDefault(spec, 'updateStrategy', { type: 'RollingUpdate' });
      if (spec.updateStrategy.type === 'RollingUpdate') {
        spec.updateStrategy.rollingUpdate = { maxUnavailable: 1, maxSurge: 0, ...spec.updateStrategy.rollingUpdate };
      }
      setDefault(spec, 'revisionHistoryLimit', 10);
      defaultTemplate(spec, false);
      break;
    case 'batch/jobs':
      if (!spec) break;
      if (spec.completions == null && spec.parallelism == null) {
        spec.completions = 1;
        spec.parallelism = 1;
      }
      setDefault(spec, 'parallelism', 1);
      setDefault(spec, 'backoffLimit', 6);
      setDefault(spec, 'completionMode', 'NonIndexed');
      setDefault(spec, 'suspend', false);
      if (!spec.podFailurePolicy) setDefault(spec, 'podReplacementPolicy', 'TerminatingOrFailed');
      defaultTemplate(spec, true);
      break;
    case 'networking.k8s.io/networkpolicies':
      if (!spec) break;
      if (!spec.policyTypes || spec.policyTypes.length === 0) {
        spec.policyTypes = spec.egress ? ['Ingress', 'Egress'] : ['Ingress'];
      }
      for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) {
        for (const p of rule?.ports ?? []) setDefault(p, 'protocol', 'TCP');
      }
      break;
  }
}
