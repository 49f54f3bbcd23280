// Hubble UI in the sim: agents, Relay and UI started from their images over the pod network; the page shows the
// service map of the flows the agents recorded (client → server edges, dropped traffic in red) and its JSON.
import t from 'tap';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionFlows } from '../../../lib/sim/hubble/flows.ts';
import { ciliumAgentImage, hubbleRelayImage, hubbleUiImage } from '../../../lib/sim/hubble/images.ts';
import { SimHubble } from '../../../lib/sim/hubble/hub.ts';
import { layout, routeMap } from '../../../lib/sim/hubble/ui-page.ts';
import type { MapEdge } from '../../../lib/sim/hubble/ui-map.ts';
import {
  agentPod,
  clusterDns,
  clusterName,
  containerContext,
  demoEndpoint,
  forwardTo,
  hubbleRelayIP,
  nodeIP,
  nodes,
  podOn,
  services,
  testDatapath,
  until,
} from './fixtures.ts';

t.test('the UI page draws the service map of the flows Relay serves', async (t) => {
  const dp = await testDatapath(t);
  const hub = new SimHubble({ clusterName });
  await clusterDns(t, dp);

  const root = await mkdtemp(join(tmpdir(), 'hubble-lab-ui-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'cfg'));
  await writeFile(join(root, 'cfg', 'enable-hubble'), 'true');
  await writeFile(join(root, 'cfg', 'hubble-listen-address'), ':4244');
  const agentImage = ciliumAgentImage(hub);
  for (const n of nodes) {
    const proc = await agentImage(
      containerContext(
        agentPod(dp, n),
        { name: 'cilium-agent', image: 'quay.io/cilium/cilium:v1.16.5', command: ['cilium-agent'], args: ['--config-dir=/cfg'] },
        { root },
      ),
    );
    t.teardown(() => proc.stop());
  }

  const relayPod = podOn(dp, 'sim-worker', 'hubble-relay-5f8b7c9d6-w3x5z', 40, { 'k8s-app': 'hubble-relay' });
  services(dp, {
    peerBackends: [nodeIP('sim-worker')],
    extra: [
      {
        namespace: 'kube-system',
        name: 'hubble-relay',
        clusterIP: hubbleRelayIP,
        ports: [{ protocol: 'TCP', port: 80, backends: [{ ip: relayPod.info.ip, port: 4245 }] }],
      },
    ],
  });
  const relay = await hubbleRelayImage({ healthIntervalMs: 100 })(
    containerContext(relayPod, {
      name: 'hubble-relay',
      image: 'quay.io/cilium/hubble-relay:v1.16.5',
      command: ['hubble-relay'],
      args: [
        'serve',
        '--local-server-address=0.0.0.0:4245',
        '--peer-service=hubble-peer.kube-system.svc.cluster.local:443',
        '--sort-buffer-drain-timeout=50ms',
      ],
    }),
  );
  t.teardown(() => relay.stop());

  const uiPod = podOn(dp, 'sim-worker2', 'hubble-ui-7c5d8f9b6-k2m4n', 41, { 'k8s-app': 'hubble-ui' });
  const ui = await hubbleUiImage()(
    containerContext(uiPod, { name: 'frontend', image: 'quay.io/cilium/hubble-ui:v0.12.1' }, { env: { FLOWS_API_ADDR: 'hubble-relay:80' } }),
  );
  t.teardown(() => ui.stop());
  const page = await forwardTo(t, uiPod, 8081);
  const json = async (query = '') => (await (await fetch(`http://${page.address}/api/service-map${query}`)).json()) as any;
  await until(async () => (await json()).relay.nodes.length === 3, 8000, 'the UI to follow Relay with three nodes');

  // client → web on one node (request and reply), intruder → web dropped on another (a policy verdict with each
  // drop, counted as a flow but not as another drop), web → db across nodes.
  const client = demoEndpoint('client-7d4b9c8f6-x2v4k', 'client', 'sim-worker', '127.244.1.10');
  const web = demoEndpoint('web-5c7f8d9b4-q8z2n', 'web', 'sim-worker', '127.244.1.11');
  const intruder = demoEndpoint('intruder-6b7c8d9f5-p3q5r', 'intruder', 'sim-worker2', '127.244.2.12');
  const db = demoEndpoint('db-0', 'db', 'sim-worker2', '127.244.2.13');
  const ok = new ConnectionFlows({ client, server: web, protocol: 'TCP', clientPort: 41000, serverPort: 80 }, hub.sink, { clusterName });
  ok.packet('client', { SYN: true });
  ok.packet('server', { SYN: true, ACK: true });
  const denied = new ConnectionFlows({ client: intruder, server: web, protocol: 'TCP', clientPort: 42000, serverPort: 80 }, hub.sink, { clusterName });
  for (let i = 0; i < 3; i++) {
    denied.policyVerdict({ side: 'ingress', verdict: 'DROPPED', matchType: 0, dropReason: 'POLICY_DENIED' }, { SYN: true });
    denied.drop('ingress', 'POLICY_DENIED', { SYN: true });
  }
  const query = new ConnectionFlows({ client: web, server: db, protocol: 'TCP', clientPort: 43000, serverPort: 5432 }, hub.sink, { clusterName });
  query.packet('client', { SYN: true });

  await until(async () => (await json()).flows >= 10, 5000, 'the ten flows to reach the UI');
  const map = await json();
  t.same(
    map.edges.map((e: any) => [e.source, e.destination, e.flows, e.dropped, e.ports]),
    [
      ['demo/intruder', 'demo/web', 6, 3, ['TCP/80']],
      ['demo/client', 'demo/web', 2, 0, ['TCP/80']],
      ['demo/web', 'demo/db', 2, 0, ['TCP/5432']],
    ],
    'edges run client → server, the reply counted on its request’s edge',
  );
  t.same(
    map.nodes.map((n: any) => n.name),
    ['demo/client', 'demo/db', 'demo/intruder', 'demo/web'],
  );
  t.equal(map.relay.connected, true);

  const html = await (await fetch(`http://${page.address}/`)).text();
  t.match(html, /<svg[^>]*aria-label="service map"/);
  t.match(
    html,
    /<g class="edge dropped" data-source="demo\/intruder" data-destination="demo\/web" data-flows="6" data-dropped="3">/,
    'the dropped edge is drawn red',
  );
  t.match(html, /<g class="edge" data-source="demo\/client" data-destination="demo\/web" data-flows="2" data-dropped="0">/);
  t.match(html, /<g class="node" data-name="demo\/db">/);
  t.notMatch(html, /https?:\/\/(?!www\.w3\.org)|<script[^>]+src=|<link /, 'no external assets');

  const scoped = await json('?namespace=other');
  t.same(scoped.edges, [], 'a namespace without flows has an empty map');
  t.equal((await fetch(`http://${page.address}/nope`)).status, 404);
});

t.test('the layout puts servers right of their clients, even around cycles', async (t) => {
  const edge = (source: string, destination: string) => ({ source, destination, flows: 1, forwarded: 1, dropped: 0, ports: [], protocols: [] });
  const pos = layout(['a', 'b', 'c', 'd'], [edge('a', 'b'), edge('b', 'c'), edge('c', 'b'), edge('a', 'd')]);
  t.ok(pos.get('a')!.x < pos.get('b')!.x);
  t.ok(pos.get('a')!.x < pos.get('d')!.x);
  t.ok(pos.get('b')!.x < pos.get('c')!.x || pos.get('c')!.x < pos.get('b')!.x, 'a cycle still ends up in distinct columns');
  t.equal(new Set([...pos.values()].map((p) => `${p.x},${p.y}`)).size, 4, 'no two boxes overlap');
});

t.test('edges are routed around the boxes and their labels kept apart', async (t) => {
  const edge = (source: string, destination: string, dropped = 0): MapEdge => ({
    source,
    destination,
    flows: 120,
    forwarded: 120 - dropped,
    dropped,
    ports: ['TCP/8080'],
    protocols: ['HTTP'],
  });
  const ns = 'genai-network-demo';
  const names = ['traffic-generator', 'agent-coordinator', 'document-agent', 'llm-service', 'test-pod'].map((n) => `${ns}/${n}`);
  const [gen, coord, doc, llm, probe] = names as [string, string, string, string, string];
  const dns = 'kube-system/coredns';
  // The lab's map: the denied test-pod → document-agent spans the coordinator's column; everything asks DNS.
  const edges = [
    edge(gen, coord),
    edge(coord, doc),
    edge(doc, llm),
    edge(probe, doc, 4),
    edge(gen, dns),
    edge(coord, dns),
    edge(doc, dns),
    edge(llm, dns),
    edge(probe, dns),
    edge(llm, coord),
    edge(coord, coord),
  ];
  const nodes = [...names, dns].map((name) => ({ name, namespace: name.split('/')[0] }));
  const routed = routeMap({ nodes, edges, flows: 1000, namespaces: [ns, 'kube-system'] });
  const box = (name: string) => ({ ...routed.positions.get(name)!, w: 220, h: 44 });
  const crosses = (p: [number, number], q: [number, number], b: { x: number; y: number; w: number; h: number }) => {
    const [x1, x2] = [Math.min(p[0], q[0]), Math.max(p[0], q[0])];
    const [y1, y2] = [Math.min(p[1], q[1]), Math.max(p[1], q[1])];
    // A segment (a degenerate rectangle) meets the inside of the box.
    return x1 < b.x + b.w && b.x < x2 && y1 < b.y + b.h && b.y < y2;
  };
  for (const r of routed.edges) {
    const others = nodes.map((n) => n.name).filter((n) => n !== r.edge.source && n !== r.edge.destination);
    const through = others.filter((n) => r.points.slice(1).some((q, i) => crosses(r.points[i]!, q, box(n))));
    t.same(through, [], `${r.edge.source} → ${r.edge.destination} crosses no other box`);
    for (let i = 1; i < r.points.length; i++) t.ok(r.points[i]![0] === r.points[i - 1]![0] || r.points[i]![1] === r.points[i - 1]![1], 'orthogonal segments');
  }
  const probeRoute = routed.edges.find((r) => r.edge.source === probe && r.edge.destination === doc)!;
  t.notOk(
    probeRoute.points.slice(1).some((q, i) => crosses(probeRoute.points[i]!, q, box(coord))),
    'the denied edge does not run through agent-coordinator',
  );
  const labels = routed.edges.map((r) => r.label);
  const overlap = (a: (typeof labels)[0], b: (typeof labels)[0]) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) t.notOk(overlap(labels[i]!, labels[j]!), `labels ${i} and ${j} apart`);
    for (const n of nodes) t.notOk(overlap(labels[i]!, box(n.name)), `label ${i} off ${n.name}`);
  }
});
