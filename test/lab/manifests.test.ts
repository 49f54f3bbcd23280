// Loading manifest YAML (errors located by file and line) and the objects the lab's tasks apply.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { InputError } from '../../lib/errors.ts';
import {
  agentCodeConfigMap,
  codeHashAnnotation,
  demoManifests,
  generatorCodeConfigMap,
  loadManifests,
  parseManifests,
  policyManifests,
  probeManifests,
  trafficManifests,
  withCodeHash,
  type KubeObject,
} from '../../lib/lab/manifests.ts';
import { fileTempDir } from '../fixtures/temp-dir.ts';

const trafficDir = new URL('../../lib/traffic/', import.meta.url);
const source = (file: string) => readFileSync(new URL(file, trafficDir), 'utf8');

function tempDir(files: Record<string, string>): string {
  const dir = fileTempDir('manifests-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

t.test('multi-document YAML: objects in order, empty documents skipped', async (t) => {
  const objects = parseManifests(`---\n${cm('a')}---\n# only a comment\n---\n${cm('b')}---\n`, 'x.yaml');
  t.same(
    objects.map((o) => o.metadata.name),
    ['a', 'b'],
  );
});

t.test('errors name the file, line and column', async (t) => {
  t.throws(() => parseManifests(`${cm('a')}---\n${cm('b')}  labels: app: b\n`, 'bad.yaml'), {
    constructor: InputError,
    message: 'bad.yaml:10:11: Nested mappings are not allowed in compact mappings',
    hint: 'fix the YAML syntax at that line',
  });
  t.throws(() => parseManifests(`${cm('a')}${cm('a').slice(0, 15)}`, 'dup.yaml'), { message: 'dup.yaml:5:1: Map keys must be unique' });
  t.throws(() => parseManifests(`${cm('a')}---\napiVersion: v1\nmetadata:\n  name: x\n`, 'nokind.yaml'), {
    message: 'nokind.yaml:6:1: document 2 has no kind',
  });
  t.throws(() => parseManifests('apiVersion: v1\nkind: Service\n', 'noname.yaml'), { message: 'noname.yaml:1:1: document 1 has no metadata.name' });
  t.throws(() => parseManifests('- a\n- b\n', 'list.yaml'), { message: 'list.yaml:1:1: document 1 is not a mapping' });
  t.throws(() => loadManifests('/nonexistent/manifests'), { constructor: InputError, message: /^cannot read manifests at \/nonexistent\/manifests: / });
  t.throws(() => loadManifests(tempDir({ 'README.md': '# none' })), { message: /^no \.yaml or \.yml files under / });
});

t.test('a directory loads every YAML file below it, namespaces and config before what uses them', async (t) => {
  const dir = tempDir({
    'a-deploy.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n',
    'b/config.yml': cm('c'),
    'notes.txt': 'not yaml: [',
    'z-namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n',
  });
  t.same(
    loadManifests(dir).map((o) => `${o.kind}/${o.metadata.name}`),
    ['Namespace/ns', 'ConfigMap/c', 'Deployment/d'],
  );
  t.same(
    loadManifests(path.join(dir, 'a-deploy.yaml')).map((o) => o.kind),
    ['Deployment'],
  );
});

t.test('the code ConfigMaps carry the program files as they are in the repository', async (t) => {
  const agent = agentCodeConfigMap();
  t.same([agent.metadata.name, agent.metadata.namespace], ['genai-agent-code', 'genai-network-demo']);
  t.same(agent.data, { 'agent.mjs': source('agent.mjs'), 'shared.mjs': source('shared.mjs') });
  const generator = generatorCodeConfigMap('elsewhere');
  t.same([generator.metadata.name, generator.metadata.namespace], ['traffic-generator-code', 'elsewhere']);
  t.same(generator.data, { 'generator.mjs': source('generator.mjs'), 'shared.mjs': source('shared.mjs') });
  // Every module a program imports must be in its ConfigMap, or the pod fails at start.
  for (const map of [agent, generator]) {
    const files = map.data as Record<string, string>;
    for (const text of Object.values(files)) {
      for (const [, imported] of text.matchAll(/from '\.\/([^']+)'/g)) t.ok(imported! in files, `${map.metadata.name} holds ${imported}`);
    }
  }
});

t.test('pods that mount the code are annotated with its hash, which follows the code', async (t) => {
  const demo = demoManifests();
  t.same(
    demo.slice(0, 2).map((o) => `${o.kind}/${o.metadata.name}`),
    ['Namespace/genai-network-demo', 'ConfigMap/genai-agent-code'],
  );
  const hashes = demo.filter((o) => o.kind === 'Deployment').map((d) => (d.spec as any).template.metadata.annotations[codeHashAnnotation]);
  t.equal(hashes.length, 3);
  t.match(hashes[0], /^[0-9a-f]{64}$/);
  t.equal(new Set(hashes).size, 1, 'one code, one hash');
  t.same(demoManifests(), demo, 'the same code gives the same objects');

  const code = agentCodeConfigMap();
  const changed: KubeObject = { ...code, data: { ...(code.data as object), 'agent.mjs': '// changed' } };
  const deployments = demo.filter((o) => o.kind === 'Deployment');
  const rehashed = withCodeHash(deployments, changed).map((d) => (d.spec as any).template.metadata.annotations[codeHashAnnotation]);
  t.not(rehashed[0], hashes[0], 'changed code, new hash');
  t.notOk((deployments[0]!.spec as any).template.metadata.annotations[codeHashAnnotation] === rehashed[0], 'inputs left alone');
  const other = withCodeHash(deployments, generatorCodeConfigMap());
  t.same(other, deployments, 'pods that do not mount a ConfigMap are not annotated for it');
});

t.test('the traffic Job runs for the asked duration and seed; the probe is the guide test-pod', async (t) => {
  const [code, job] = trafficManifests({ durationMs: 7500, seed: 9 });
  t.equal(code!.metadata.name, 'traffic-generator-code');
  t.same([job!.kind, job!.metadata.name], ['Job', 'traffic-generator']);
  const container = (job!.spec as any).template.spec.containers[0];
  t.same(container.env, [
    { name: 'DURATION', value: '7500ms' },
    { name: 'SEED', value: '9' },
  ]);
  t.match((job!.spec as any).template.metadata.annotations, { [codeHashAnnotation]: /^[0-9a-f]{64}$/ });
  const unseeded = (trafficManifests({ durationMs: 20_000 })[1]!.spec as any).template.spec.containers[0].env;
  t.same(unseeded, [{ name: 'DURATION', value: '20000ms' }]);

  const [, pod] = probeManifests();
  t.same([pod!.kind, pod!.metadata.name, pod!.metadata.labels?.tier], ['Pod', 'test-pod', undefined]);
  t.match(pod!.metadata.annotations, { [codeHashAnnotation]: /^[0-9a-f]{64}$/ });
});

t.test('policy scenarios differ only in the NetworkPolicy', async (t) => {
  const good = policyManifests('default');
  const broken = policyManifests('broken-policy');
  t.same(
    good.map((o) => `${o.kind}/${o.metadata.name}`),
    broken.map((o) => `${o.kind}/${o.metadata.name}`),
  );
  t.same(good.slice(1), broken.slice(1));
  t.not(JSON.stringify(good[0]), JSON.stringify(broken[0]));
});
