// The lab's manifests against the lab guide (names, labels, ports, images as it has them) and against themselves.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { loadManifests, manifestsDir, parseManifests, type KubeObject } from '../../lib/lab/manifests.ts';

// The lab guide and the Hubble reference live outside the repository: the parts these tests check are copied into
// test/fixtures (the guide's manifests and hubble observe commands; the reference's list of metrics).
const guidePath = fileURLToPath(new URL('../fixtures/lab-guide.md', import.meta.url));
const hubbleFactsPath = fileURLToPath(new URL('../fixtures/hubble-metrics.md', import.meta.url));
const guide = readFileSync(guidePath, 'utf8');

const load = (file: string) => loadManifests(path.join(manifestsDir, file));
const find = (objects: KubeObject[], kind: string, name: string): KubeObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const podSpec = (o: KubeObject): any => (o.kind === 'Pod' ? o.spec : (o.spec as any).template.spec);
const podLabels = (o: KubeObject): Record<string, string> => (o.kind === 'Pod' ? o.metadata.labels : (o.spec as any).template.metadata.labels) ?? {};

/** The guide's YAML blocks by the file name in their first comment line (`# hubble-relay.yaml`). */
function guideBlocks(): Map<string, KubeObject[] | unknown> {
  const blocks = new Map<string, KubeObject[] | unknown>();
  for (const m of guide.matchAll(/```yaml\n# (\S+)\n([\s\S]*?)```/g)) {
    const [, name, body] = m;
    blocks.set(name!, name!.endsWith('.json') ? parseYaml(body!) : parseManifests(body!, `${guidePath} (${name})`));
  }
  return blocks;
}

/** Every Kubernetes object of the lab (expectations.yaml beside them is not one). */
const everything = () => ['hubble', 'demo', 'policy', 'traffic', 'grafana'].flatMap((dir) => load(dir));

t.test('every manifest parses and names what it is', async (t) => {
  const all = everything();
  t.ok(all.length >= 20, `${all.length} objects`);
  for (const o of all) {
    if (o.kind !== 'Namespace') t.ok(o.metadata.namespace, `${o.kind}/${o.metadata.name} has a namespace`);
  }
  for (const file of ['hubble/relay.yaml', 'hubble/ui.yaml', 'hubble/peer-service.yaml', 'demo/namespace.yaml', 'demo/agents.yaml',
    'policy/network-policy.yaml', 'policy/l7-visibility.yaml', 'policy/broken-policy.yaml', 'traffic/generator-job.yaml',
    'traffic/probe-pod.yaml', 'grafana/grafana.yaml', 'grafana/dashboard.yaml']) {
    const text = readFileSync(path.join(manifestsDir, file), 'utf8');
    t.match(text, /^# \S/, `${file} starts with a line saying what it is for`);
  }
});

t.test('Hubble Relay and UI are the guide\'s, field for field', async (t) => {
  const ours = [...load('hubble/relay.yaml'), ...load('hubble/ui.yaml')];
  t.same(ours, guideBlocks().get('hubble-relay.yaml'));
});

t.test('the demo keeps the guide\'s names, labels, replicas, resources and ports; only the program changes', async (t) => {
  const theirs = guideBlocks().get('genai-network-demo.yaml') as KubeObject[];
  const ours = [...load('demo/namespace.yaml'), ...load('demo/agents.yaml')];
  t.same(ours.map((o) => `${o.kind}/${o.metadata.name}`), theirs.map((o) => `${o.kind}/${o.metadata.name}`));
  const roles: Record<string, string> = { 'agent-coordinator': 'coordinator', 'document-agent': 'document', 'llm-service': 'llm' };
  for (const g of theirs) {
    const o = find(ours, g.kind, g.metadata.name);
    if (g.kind !== 'Deployment') {
      t.same(o, g, `${g.kind}/${g.metadata.name} as in the guide`);
      continue;
    }
    const gs = g.spec as any;
    const os = o.spec as any;
    t.same(o.metadata, g.metadata);
    t.same([os.replicas, os.selector, os.template.metadata.labels], [gs.replicas, gs.selector, gs.template.metadata.labels], `${g.metadata.name}: replicas, selector, labels`);
    const [gc] = gs.template.spec.containers;
    const [oc] = os.template.spec.containers;
    t.same([oc.name, oc.ports, oc.resources], [gc.name, gc.ports, gc.resources], `${g.metadata.name}: container name, ports, resources`);
    t.same([oc.image, oc.command], ['node:20-alpine', ['node', '/app/agent.mjs']]);
    t.same(oc.env[0], { name: 'AGENT_ROLE', value: roles[g.metadata.name] });
    t.same(oc.readinessProbe.httpGet, { path: '/healthz', port: gc.ports[0].containerPort });
    const mount = oc.volumeMounts.find((m: any) => m.mountPath === '/app');
    const volume = os.template.spec.volumes.find((v: any) => v.name === mount.name);
    t.equal(volume.configMap.name, 'genai-agent-code');
  }
});

t.test('the NetworkPolicy is the guide\'s; the broken one lacks exactly the egress to tier=inference', async (t) => {
  const [theirs] = guideBlocks().get('network-policies.yaml') as KubeObject[];
  const [ours] = load('policy/network-policy.yaml');
  t.same(ours, theirs);
  const [broken] = load('policy/broken-policy.yaml');
  const expected = structuredClone(theirs) as any;
  expected.spec.egress = expected.spec.egress.filter((rule: any) => rule.to?.[0]?.podSelector?.matchLabels?.tier !== 'inference');
  t.equal(expected.spec.egress.length, (theirs!.spec as any).egress.length - 1);
  t.same(broken, expected);
});

t.test('Grafana is the guide\'s with a pinned image and a dashboard on metrics Hubble exports', async (t) => {
  const blocks = guideBlocks();
  const theirs = blocks.get('grafana-hubble.yaml') as KubeObject[];
  const ours = load('grafana');
  t.same(find(ours, 'ConfigMap', 'grafana-datasources'), find(theirs, 'ConfigMap', 'grafana-datasources'));
  const g = find(theirs, 'Deployment', 'grafana') as any;
  const o = find(ours, 'Deployment', 'grafana') as any;
  t.same(o.metadata, g.metadata);
  t.same(o.spec.selector, g.spec.selector);
  const { image: gImage, volumeMounts: gMounts, env: gEnv, ...gRest } = g.spec.template.spec.containers[0];
  const { image: oImage, volumeMounts: oMounts, env: oEnv, ...oRest } = o.spec.template.spec.containers[0];
  t.same(oRest, gRest);
  t.same(gEnv, [{ name: 'GF_SECURITY_ADMIN_PASSWORD', value: 'admin' }], 'the guide ships admin/admin');
  t.same(oEnv.find((e: any) => e.name === 'GF_SECURITY_ADMIN_PASSWORD'), { name: 'GF_SECURITY_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: 'grafana-admin', key: 'admin-password' } } }, 'no default password: the Secret deploy-monitoring creates');
  t.same(oEnv.filter((e: any) => e.name.startsWith('GF_AUTH_ANONYMOUS')), [{ name: 'GF_AUTH_ANONYMOUS_ENABLED', value: 'true' }, { name: 'GF_AUTH_ANONYMOUS_ORG_ROLE', value: 'Viewer' }], 'anonymous visitors only view');
  t.equal(gImage, 'grafana/grafana:latest');
  t.match(oImage, /^grafana\/grafana:\d+\.\d+\.\d+$/, 'a released version, not :latest');
  t.match(oMounts, gMounts, 'the guide\'s mounts are kept');
  for (const mount of oMounts) {
    const volume = o.spec.template.spec.volumes.find((v: any) => v.name === mount.name);
    t.ok(find(ours, 'ConfigMap', volume.configMap.name), `${mount.mountPath} comes from a ConfigMap of ours`);
  }

  const guideDashboard = (blocks.get('hubble-grafana-dashboard.json') as any).dashboard;
  const dashboard = JSON.parse((find(ours, 'ConfigMap', 'grafana-dashboards').data as any)['genai-network-observability.json']);
  t.equal(dashboard.title, guideDashboard.title);
  const titles = dashboard.panels.map((p: any) => p.title);
  for (const p of guideDashboard.panels) t.ok(titles.includes(p.title), `keeps the panel "${p.title}"`);
});

t.test('dashboard queries use only metrics and labels Hubble exports', async (t) => {
  // The metric list as the project's Hubble reference states it: name{label,label,...}.
  const facts = readFileSync(hubbleFactsPath, 'utf8');
  const section = facts.slice(facts.indexOf('## Hubble metrics'));
  const labelsOf = new Map<string, Set<string>>();
  for (const [, name, labels] of section.matchAll(/`([a-z_]+)\{([a-z_,]+)\}/g)) {
    const set = labelsOf.get(`hubble_${name}`) ?? new Set<string>();
    for (const l of labels!.split(',')) set.add(l);
    labelsOf.set(`hubble_${name}`, set);
  }
  t.ok(labelsOf.has('hubble_flows_processed_total'), 'the reference lists the metrics');
  const dashboard = JSON.parse((find(load('grafana'), 'ConfigMap', 'grafana-dashboards').data as any)['genai-network-observability.json']);
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      const metrics = [...target.expr.matchAll(/\b(hubble_[a-z_]+)/g)].map((m) => m[1].replace(/_bucket$/, ''));
      t.ok(metrics.length > 0, `${panel.title}: queries a Hubble metric`);
      for (const metric of metrics) {
        const known = labelsOf.get(metric);
        t.ok(known, `${panel.title}: ${metric} exists`);
        const grouped = [...target.expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((s: string) => s.trim()));
        const legend = [...String(target.legendFormat).matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]);
        for (const label of [...grouped, ...legend]) {
          if (label !== 'le') t.ok(known?.has(label), `${panel.title}: ${metric} has the label ${label}`);
        }
      }
    }
  }
});

t.test('the guide\'s hubble observe commands name things the manifests create', async (t) => {
  const all = everything();
  const services = new Set(all.filter((o) => o.kind === 'Service').map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
  const namespaces = new Set(all.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
  const labelled = all.filter((o) => ['Deployment', 'Job', 'Pod'].includes(o.kind)).map(podLabels);
  const commands = guide.split('\n').filter((l) => l.trimStart().startsWith('hubble observe'));
  t.ok(commands.length >= 5);
  let checked = 0;
  for (const cmd of commands) {
    for (const [, flag, value] of cmd.matchAll(/--((?:from-|to-)?(?:service|namespace|label))[ =]"?([^"\s]+)"?/g)) {
      checked++;
      if (flag!.endsWith('service')) t.ok(services.has(value!), `${flag} ${value} is a Service`);
      else if (flag!.endsWith('namespace')) t.ok(namespaces.has(value!), `${flag} ${value} is our namespace`);
      else {
        const [k, v] = value!.split('=');
        t.ok(labelled.some((l) => l[k!] === v), `${flag} ${value} labels some pod`);
      }
    }
  }
  t.ok(checked >= 4, `${checked} selectors checked`);
});

t.test('Services, probes and references line up', async (t) => {
  const all = everything();
  const workloads = all.filter((o) => ['Deployment', 'Job', 'Pod'].includes(o.kind));
  for (const svc of all.filter((o) => o.kind === 'Service' && o.metadata.name !== 'hubble-peer')) {
    const selector = (svc.spec as any).selector as Record<string, string>;
    const backends = workloads.filter((w) => w.metadata.namespace === svc.metadata.namespace && Object.entries(selector).every(([k, v]) => podLabels(w)[k] === v));
    t.equal(backends.length, 1, `${svc.metadata.name} selects one workload`);
    const ports = podSpec(backends[0]!).containers.flatMap((c: any) => (c.ports ?? []).map((p: any) => p.containerPort));
    for (const p of (svc.spec as any).ports) t.ok(ports.includes(p.targetPort), `${svc.metadata.name}: targetPort ${p.targetPort} is a container port`);
  }
  // Relay finds the agents through hubble-peer; the UI reads from Relay.
  const peer = find(all, 'Service', 'hubble-peer').spec as any;
  t.same([peer.selector, peer.ports[0].port, peer.ports[0].targetPort, peer.internalTrafficPolicy], [{ 'k8s-app': 'cilium' }, 443, 4244, 'Local']);
  const relayArgs: string[] = podSpec(find(all, 'Deployment', 'hubble-relay')).containers[0].args;
  t.ok(relayArgs.includes(`--peer-service=hubble-peer.kube-system.svc.cluster.local:${peer.ports[0].port}`));
  const ui = podSpec(find(all, 'Deployment', 'hubble-ui')).containers;
  const relaySvc = find(all, 'Service', 'hubble-relay').spec as any;
  for (const c of ui) t.same(c.env.find((e: any) => e.name === 'FLOWS_API_ADDR').value, `hubble-relay:${relaySvc.ports[0].port}`);
  // The traffic Job and the probe run the generator from its ConfigMap, once, without tier labels.
  for (const name of ['traffic-generator', 'test-pod']) {
    const w = workloads.find((o) => o.metadata.name === name)!;
    t.equal(podLabels(w).tier, undefined, `${name} has no tier`);
    t.equal(podSpec(w).restartPolicy, 'Never');
    t.same(podSpec(w).containers[0].command.slice(0, 2), ['node', '/app/generator.mjs']);
    t.equal(podSpec(w).volumes[0].configMap.name, 'traffic-generator-code');
  }
  t.equal((find(all, 'Job', 'traffic-generator').spec as any).backoffLimit, 0);
  t.same(podLabels(find(all, 'Job', 'traffic-generator')), { app: 'traffic-generator' });
});
