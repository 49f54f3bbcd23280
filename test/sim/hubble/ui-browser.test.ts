// Hubble UI in a real browser (Debian's headless Chromium): the map's edges, flow rows appearing live, filters
// narrowing them (with ! negation), and a click on an edge listing that edge's flows.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { ConnectionFlows } from '../../../lib/sim/hubble/flows.ts';
import { ciliumAgentImage, hubbleRelayImage, hubbleUiImage } from '../../../lib/sim/hubble/images.ts';
import { SimHubble } from '../../../lib/sim/hubble/hub.ts';
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

const chromiumPath = '/usr/bin/chromium';
const required = process.env.HUBBLE_LAB_REQUIRE_CHROMIUM === '1';
const skip = existsSync(chromiumPath) || required ? false : `no browser at ${chromiumPath} (apt-get install chromium)`;

/** Agents, Relay and UI from their images, as ui.test.ts starts them; returns the hub and the page's address. */
async function hubbleWithUi(t: Test): Promise<{ hub: SimHubble; address: string }> {
  const dp = await testDatapath(t);
  const hub = new SimHubble({ clusterName });
  await clusterDns(t, dp);
  const root = await mkdtemp(join(tmpdir(), 'hubble-lab-ui-browser-'));
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
  await until(
    async () => ((await (await fetch(`http://${page.address}/api/service-map`)).json()) as any).relay.nodes.length === 3,
    8000,
    'the UI to follow Relay',
  );
  return { hub, address: page.address };
}

// What runs in the page is written as expressions: this project's TypeScript knows Node, not the DOM.
const rowsOf = (page: Page) =>
  page.evaluate(`[...document.querySelectorAll('#flows tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent))`) as Promise<
    string[][]
  >;
/** Waits until every row of the table passes `test` (a JS expression over `cells`, the row's texts), with at least one row. */
const allRows = (page: Page, test: string) =>
  page.waitForFunction(
    `(() => { const trs = [...document.querySelectorAll('#flows tbody tr')]; return trs.length > 0 && trs.every((tr) => { const cells = [...tr.children].map((td) => td.textContent); return ${test}; }); })()`,
  );

t.test("the page a person opens: edges, live rows, filters, an edge's flows", { skip }, async (t) => {
  const { hub, address } = await hubbleWithUi(t);
  const client = demoEndpoint('client-7d4b9c8f6-x2v4k', 'client', 'sim-worker', '127.244.1.10');
  const web = demoEndpoint('web-5c7f8d9b4-q8z2n', 'web', 'sim-worker', '127.244.1.11');
  const intruder = demoEndpoint('intruder-6b7c8d9f5-p3q5r', 'intruder', 'sim-worker2', '127.244.2.12');
  const db = demoEndpoint('db-0', 'db', 'sim-worker2', '127.244.2.13');
  let port = 40000;
  /** One round of traffic: client → web answered, web → db, intruder → web dropped by policy. */
  const round = () => {
    const ok = new ConnectionFlows({ client, server: web, protocol: 'TCP', clientPort: port++, serverPort: 80 }, hub.sink, { clusterName });
    ok.packet('client', { SYN: true });
    ok.packet('server', { SYN: true, ACK: true });
    new ConnectionFlows({ client: web, server: db, protocol: 'TCP', clientPort: port++, serverPort: 5432 }, hub.sink, { clusterName }).packet('client', {
      SYN: true,
    });
    new ConnectionFlows({ client: intruder, server: web, protocol: 'TCP', clientPort: port++, serverPort: 80 }, hub.sink, { clusterName }).drop(
      'ingress',
      'POLICY_DENIED',
      { SYN: true },
    );
  };
  round();

  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`http://${address}/`);

  // The map: three edges, the denied one red.
  await page.waitForSelector('#map g.edge');
  const edges = (await page.evaluate(
    `[...document.querySelectorAll('#map g.edge')].map((g) => [g.dataset.source, g.dataset.destination, getComputedStyle(g.querySelector('path:not(.hit)')).stroke])`,
  )) as string[][];
  t.same(edges.map((e) => `${e[0]}>${e[1]}`).sort(), ['demo/client>demo/web', 'demo/intruder>demo/web', 'demo/web>demo/db']);
  t.equal(edges.find((e) => e[0] === 'demo/intruder')![2], 'rgb(209, 36, 47)', 'the dropped edge is drawn red');

  // Rows appear, newest on top, with Hubble UI's columns; more traffic adds rows without a reload.
  t.same(await page.$$eval('#flows thead th', (ths) => ths.map((th) => th.textContent)), [
    'Time',
    'Source',
    'Destination',
    'Destination port',
    'L7 info',
    'Verdict',
    'TCP flags',
  ]);
  await page.waitForFunction(`document.querySelectorAll('#flows tbody tr').length >= 4`);
  const before = (await rowsOf(page)).length;
  round();
  round();
  await page.waitForFunction(`document.querySelectorAll('#flows tbody tr').length > ${before}`);
  const rows = await rowsOf(page);
  t.ok(rows.length > before, `rows appear live (${before} → ${rows.length})`);
  t.ok(
    rows.some((r) => r[1] === 'demo/intruder' && r[2] === 'demo/web' && r[3] === '80/TCP' && r[5] === 'DROPPED' && r[6] === 'SYN'),
    'a dropped SYN row',
  );

  // The verdict filter narrows the list to drops.
  await page.selectOption('select[name=verdict]', 'DROPPED');
  await allRows(page, `cells[5] === 'DROPPED'`);
  const dropped = await rowsOf(page);
  t.ok(dropped.length > 0 && dropped.length < rows.length, `fewer rows: only drops (${dropped.length} of ${rows.length})`);
  await page.selectOption('select[name=verdict]', '');

  // A label filter, then its negation.
  await page.fill('input[name=filter]', 'from:label=app=client');
  await allRows(page, `cells[1] === 'demo/client'`);
  t.pass("from:label=app=client keeps the client's flows");
  await page.fill('input[name=filter]', '!from:label=app=client');
  await allRows(page, `cells[1] !== 'demo/client'`);
  t.pass('!from:label=app=client leaves them out');
  await page.fill('input[name=filter]', 'to:');
  await page.waitForFunction(`document.getElementById('filter-error').textContent !== ''`);
  t.match(await page.textContent('#filter-error'), /expected \[!\]\[from:\|to:\]label=key=value/, 'a bad filter says what it expects');
  await page.fill('input[name=filter]', '');

  // A click on the red edge lists its flows.
  await page.click('#map g.edge.dropped text');
  await page.waitForFunction(`document.getElementById('flows-title').textContent === 'Flows demo/intruder → demo/web'`);
  await allRows(page, `cells[1] === 'demo/intruder' && cells[2] === 'demo/web'`);
  t.pass("the edge's flows only");
  await page.click('#clear-edge');
  await page.waitForFunction(`[...document.querySelectorAll('#flows tbody tr')].some((tr) => tr.children[1].textContent === 'demo/client')`);
  t.pass('and back to all flows');

  // A burst far above the sim's rates: the table keeps its newest rows only.
  for (let i = 0; i < 150; i++) round();
  await page.waitForFunction(`document.querySelectorAll('#flows tbody tr').length === 300`, undefined, { timeout: 15_000 });
  t.pass('the table holds at most 300 rows');
});
