// Hubble UI's page: the service map as inline SVG (clients left of their servers, edges routed around the boxes,
// dropped traffic in red), filters, and the live flow table; one self-contained page with no external assets.
import type { MapEdge, ServiceMapSnapshot } from './ui-map.ts';

export interface RelayState {
  /** FLOWS_API_ADDR as configured. */
  address: string;
  connected: boolean;
  /** Why the UI is not reading from Relay. */
  error?: string;
  /** Nodes Relay last said it receives flows from. */
  nodes: string[];
}

const boxW = 220;
const boxH = 44;
/** Wide gaps between columns and rows: edges run in them (channels and lanes), never across a box. */
const colGap = 170;
const rowGap = 56;
const margin = 48;
const labelH = 14;
/** Width of a label's text at the map's 11px font, for keeping labels apart. */
const charW = 6.3;

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Edges that close a cycle (found by depth-first search from each workload in name order), left out of layering. */
function backEdges(names: string[], edges: MapEdge[]): Set<MapEdge> {
  const out = new Map<string, MapEdge[]>();
  for (const e of edges) out.set(e.source, [...(out.get(e.source) ?? []), e]);
  const state = new Map<string, 'open' | 'done'>();
  const back = new Set<MapEdge>();
  const visit = (n: string) => {
    state.set(n, 'open');
    for (const e of out.get(n) ?? []) {
      const s = state.get(e.destination);
      if (s === 'open') back.add(e);
      else if (s === undefined) visit(e.destination);
    }
    state.set(n, 'done');
  };
  for (const n of names) if (!state.has(n)) visit(n);
  return back;
}

/** Columns by the longest chain of calls leading to a workload, so servers sit right of their clients. */
export function layout(names: string[], edges: MapEdge[]): Map<string, { x: number; y: number }> {
  const back = backEdges(names, edges);
  const forward = edges.filter((e) => !back.has(e) && e.source !== e.destination);
  const depth = new Map(names.map((n) => [n, 0]));
  for (let round = 0; round < names.length; round++) {
    let changed = false;
    for (const e of forward) {
      const d = depth.get(e.source)! + 1;
      if (d > depth.get(e.destination)!) {
        depth.set(e.destination, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const columns = new Map<number, string[]>();
  for (const n of names) columns.set(depth.get(n)!, [...(columns.get(depth.get(n)!) ?? []), n]);
  const out = new Map<string, { x: number; y: number }>();
  [...columns.keys()]
    .sort((a, b) => a - b)
    .forEach((d, col) => {
      columns.get(d)!.forEach((n, row) => out.set(n, { x: margin + col * (boxW + colGap), y: margin + row * (boxH + rowGap) }));
    });
  return out;
}

function edgeLabel(e: MapEdge): string {
  return e.dropped > 0 ? `${e.flows} flows, ${e.dropped} dropped` : `${e.flows} flows`;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface RoutedEdge {
  edge: MapEdge;
  /** Corners of the edge's path, from the client's right side to the server's left side. */
  points: [number, number][];
  label: Box;
}

export interface RoutedMap {
  positions: Map<string, { x: number; y: number }>;
  edges: RoutedEdge[];
  width: number;
  height: number;
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Spreads n items around a centre, `step` apart: 0, +1, -1, +2 … */
function spread(i: number, step: number): number {
  return (i % 2 === 0 ? 1 : -1) * Math.ceil(i / 2) * step;
}

/**
 * Orthogonal routes that keep off the boxes: out of the client's right side into the channel beside its column,
 * along a lane between rows when the server is not in the next column (or lies to the left), down the channel
 * beside the server's column, and into its left side. Parallel edges take their own channel and lane offsets, and
 * each label takes the first place along its edge that overlaps no box and no other label.
 */
export function routeMap(map: ServiceMapSnapshot): RoutedMap {
  const positions = layout(
    map.nodes.map((n) => n.name),
    map.edges,
  );
  const columnXs = [...new Set([...positions.values()].map((p) => p.x))].sort((a, b) => a - b);
  const column = (name: string) => columnXs.indexOf(positions.get(name)!.x);
  const boxes = [...positions.values()].map((p): Box => ({ x: p.x, y: p.y, w: boxW, h: boxH }));
  const used = new Map<string, number>();
  const next = (key: string) => {
    const n = used.get(key) ?? 0;
    used.set(key, n + 1);
    return n;
  };
  const channel = (col: number, side: 'right' | 'left') => (side === 'right' ? columnXs[col]! + boxW + colGap / 2 : columnXs[col]! - colGap / 2);
  const laneY = (row: number) => margin + row * (boxH + rowGap) - rowGap / 2;
  const rowOf = (y: number) => Math.round((y - margin) / (boxH + rowGap));
  const labels: Box[] = [];
  const routed: RoutedEdge[] = [];
  for (const e of map.edges) {
    const a = positions.get(e.source)!;
    const b = positions.get(e.destination)!;
    let points: [number, number][];
    if (e.source === e.destination) {
      const y = a.y - 14 - spread(next(`loop:${e.source}`), 5);
      points = [
        [a.x + boxW - 50, a.y],
        [a.x + boxW - 50, y],
        [a.x + boxW + 20, y],
        [a.x + boxW + 20, a.y + boxH / 2],
        [a.x + boxW, a.y + boxH / 2],
      ];
    } else {
      const y1 = a.y + boxH / 2 + spread(next(`out:${e.source}`), 7);
      const y2 = b.y + boxH / 2 + spread(next(`in:${e.destination}`), 7);
      const ca = column(e.source);
      const cb = column(e.destination);
      const x1 = channel(ca, 'right') + spread(next(`ch:${ca}:r`), 8);
      if (cb === ca + 1) {
        points = [
          [a.x + boxW, y1],
          [x1, y1],
          [x1, y2],
          [b.x, y2],
        ];
      } else {
        // A lane between rows, the one nearest the middle of the two boxes: lanes cross no box in any column.
        const row = Math.max(0, Math.min(rowOf(a.y), rowOf(b.y)) + (rowOf(a.y) === rowOf(b.y) ? 0 : 1));
        const ly = laneY(row) + spread(next(`lane:${row}`), 6);
        const x2 = channel(cb, 'left') + spread(next(`ch:${cb}:l`), 8);
        points = [
          [a.x + boxW, y1],
          [x1, y1],
          [x1, ly],
          [x2, ly],
          [x2, y2],
          [b.x, y2],
        ];
      }
    }
    const text = edgeLabel(e);
    const w = text.length * charW + 8;
    // Candidates: the middle of each horizontal stretch (longest first), then the same moved up and down.
    const stretches = points
      .slice(1)
      .map((p, i) => [points[i]!, p] as const)
      .filter(([p, q]) => p[1] === q[1] && p[0] !== q[0]);
    stretches.sort((s, t) => Math.abs(t[1][0] - t[0][0]) - Math.abs(s[1][0] - s[0][0]));
    let label: Box | undefined;
    for (const shift of [0, -1, 1, -2, 2, -3, 3, -4, 4]) {
      for (const [p, q] of stretches) {
        const candidate = { x: (p[0] + q[0]) / 2 - w / 2, y: p[1] - labelH - 2 + shift * labelH, w, h: labelH };
        if (!boxes.some((bx) => overlaps(bx, candidate)) && !labels.some((l) => overlaps(l, candidate))) {
          label = candidate;
          break;
        }
      }
      if (label) break;
    }
    label ??= { x: points[0]![0] + 4, y: points[0]![1] - labelH - 2, w, h: labelH };
    labels.push(label);
    routed.push({ edge: e, points, label });
  }
  const xs = [...boxes.map((bx) => bx.x + bx.w), ...labels.map((l) => l.x + l.w), ...routed.flatMap((r) => r.points.map((p) => p[0]))];
  const ys = [...boxes.map((bx) => bx.y + bx.h), ...labels.map((l) => l.y + l.h), ...routed.flatMap((r) => r.points.map((p) => p[1]))];
  return { positions, edges: routed, width: Math.max(400, ...xs.map((x) => x + margin)), height: Math.max(120, ...ys.map((y) => y + margin)) };
}

/** The service map as SVG; each edge carries its names and counts (and is clickable in the page). */
export function svg(map: ServiceMapSnapshot): string {
  const routed = routeMap(map);
  const parts: string[] = [];
  for (const { edge: e, points, label } of routed.edges) {
    const cls = e.dropped > 0 ? 'edge dropped' : 'edge';
    const d = points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x},${y}`).join(' ');
    parts.push(
      `<g class="${cls}" data-source="${esc(e.source)}" data-destination="${esc(e.destination)}" data-flows="${e.flows}" data-dropped="${e.dropped}">` +
        `<title>${esc(`${e.source} → ${e.destination}: ${e.ports.join(', ')} ${e.protocols.join(', ')}`)}</title>` +
        `<path class="hit" d="${d}"/><path d="${d}" marker-end="url(#${e.dropped > 0 ? 'arrow-dropped' : 'arrow'})"/>` +
        `<rect class="label" x="${label.x}" y="${label.y}" width="${label.w}" height="${label.h}" rx="3"/>` +
        `<text x="${label.x + label.w / 2}" y="${label.y + labelH - 3}" text-anchor="middle">${esc(edgeLabel(e))}</text></g>`,
    );
  }
  for (const n of map.nodes) {
    const p = routed.positions.get(n.name)!;
    const label = n.namespace && n.name.startsWith(`${n.namespace}/`) ? n.name.slice(n.namespace.length + 1) : n.name;
    parts.push(
      `<g class="node" data-name="${esc(n.name)}"><rect x="${p.x}" y="${p.y}" width="${boxW}" height="${boxH}" rx="6"/>` +
        `<text x="${p.x + 10}" y="${p.y + 19}" class="name">${esc(label)}</text>` +
        `<text x="${p.x + 10}" y="${p.y + 35}" class="ns">${esc(n.namespace ?? 'outside the cluster')}</text></g>`,
    );
  }
  const marker = (id: string, color: string) =>
    `<marker id="${id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${color}"/></marker>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${routed.width}" height="${routed.height}" viewBox="0 0 ${routed.width} ${routed.height}" role="img" aria-label="service map">` +
    `<defs>${marker('arrow', '#5b6b7f')}${marker('arrow-dropped', '#d1242f')}</defs>${parts.join('')}</svg>`
  );
}

const style = `body{font:14px system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:10px 20px}header h1{font-size:18px;margin:0 0 4px}
header .status{font-size:13px;opacity:.9}.err{color:#d1242f}header .err{color:#ffb4b4}main{padding:12px 20px}
form{display:flex;gap:12px;align-items:center;flex-wrap:wrap}form input[name=filter]{width:360px}
.map{background:#fff;border:1px solid #d0d7de;border-radius:6px;overflow:auto;margin:12px 0;max-height:60vh}
.node rect{fill:#fff;stroke:#0969da;stroke-width:1.5}.node .name{font-weight:600;font-size:13px}.node .ns{fill:#57606a;font-size:11px}
.edge{cursor:pointer}.edge path{fill:none;stroke:#5b6b7f;stroke-width:1.5}.edge path.hit{stroke:transparent;stroke-width:10}
.edge text{font-size:11px;fill:#57606a}.edge rect.label{fill:#fff;fill-opacity:.9}
.edge.dropped path{stroke:#d1242f;stroke-width:2}.edge.dropped path.hit{stroke:transparent;stroke-width:10}.edge.dropped text{fill:#d1242f}
.edge.selected path{stroke-width:3}.edge:hover path{stroke-width:2.5}
h2{font-size:15px;margin:12px 0 6px}table{border-collapse:collapse;background:#fff;width:100%}
td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;font-size:12px;white-space:nowrap}
tr.DROPPED td{color:#d1242f}td.verdict{font-weight:600}`;

const flowColumns = ['Time', 'Source', 'Destination', 'Destination port', 'L7 info', 'Verdict', 'TCP flags'];

/**
 * The page's live part: polls the flows after the last one it has and the map, with the filters of the form; a
 * click on an edge lists that edge's flows. The table keeps its newest rows only, so it stays fast at any rate.
 */
const script = `
const form = document.getElementById('filters');
const rows = document.querySelector('#flows tbody');
const title = document.getElementById('flows-title');
const clear = document.getElementById('clear-edge');
const problem = document.getElementById('filter-error');
const mapBox = document.getElementById('map');
const maxRows = 300;
let after = 0;
let edge = '';
let generation = 0;
function query(extra) {
  const q = new URLSearchParams();
  for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
  if (extra && edge) q.set('edge', edge);
  return q;
}
function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}
function time(t) {
  const d = new Date(t);
  return isNaN(d) ? t : d.toISOString().slice(11, 23);
}
async function pollFlows() {
  const g = generation;
  const q = query(true);
  q.set('after', String(after));
  try {
    const res = await fetch('/api/flows?' + q);
    const body = await res.json();
    if (g !== generation) return;
    if (!res.ok) { problem.textContent = body.error; return; }
    problem.textContent = '';
    after = body.last;
    const frag = document.createDocumentFragment();
    for (const r of body.rows.reverse()) {
      const tr = document.createElement('tr');
      tr.className = r.verdict;
      tr.append(cell(time(r.time)), cell(r.source), cell(r.destination), cell(r.port), cell(r.l7), cell(r.verdict, 'verdict'), cell(r.flags));
      frag.append(tr);
    }
    rows.prepend(frag);
    while (rows.rows.length > maxRows) rows.deleteRow(-1);
  } catch {}
}
let lastMap = '';
async function pollMap() {
  try {
    const res = await fetch('/api/map.svg?' + query(false));
    const text = await res.text();
    if (res.ok && text !== lastMap) {
      lastMap = text;
      mapBox.innerHTML = text;
      mark();
    }
  } catch {}
}
function mark() {
  for (const g of mapBox.querySelectorAll('g.edge')) g.classList.toggle('selected', edge === g.dataset.source + '>' + g.dataset.destination);
}
function restart() {
  generation++;
  after = 0;
  rows.textContent = '';
  title.textContent = edge ? 'Flows ' + edge.replace('>', ' → ') : 'Flows';
  clear.hidden = !edge;
  mark();
  pollFlows();
  pollMap();
}
form.addEventListener('input', restart);
form.addEventListener('submit', (e) => { e.preventDefault(); restart(); });
mapBox.addEventListener('click', (e) => {
  const g = e.target.closest('g.edge');
  if (!g) return;
  edge = g.dataset.source + '>' + g.dataset.destination;
  restart();
});
clear.addEventListener('click', () => { edge = ''; restart(); });
(async function loop() { await pollFlows(); setTimeout(loop, 1000); })();
(async function loop() { await pollMap(); setTimeout(loop, 2000); })();
`;

/** The whole page: the map as first drawn, the filter form and the flow table the script fills and keeps live. */
export function renderPage(map: ServiceMapSnapshot, relay: RelayState): string {
  const status = relay.connected
    ? `Relay ${esc(relay.address)}: receiving flows from ${relay.nodes.length} node${relay.nodes.length === 1 ? '' : 's'} · ${map.flows} flows`
    : `<span class="err">Relay ${esc(relay.address)}: ${esc(relay.error ?? 'connecting…')}</span> · ${map.flows} flows`;
  const options = [
    '<option value="">all namespaces</option>',
    ...map.namespaces.map((ns) => `<option${ns === map.namespace ? ' selected' : ''}>${esc(ns)}</option>`),
  ].join('');
  const verdictOptions = [
    '<option value="">any verdict</option>',
    ...['FORWARDED', 'DROPPED', 'ERROR', 'AUDIT', 'REDIRECTED', 'TRANSLATED'].map((v) => `<option>${v}</option>`),
  ].join('');
  const mapBody = map.edges.length
    ? svg(map)
    : `<p>No flows yet${map.namespace ? ` in ${esc(map.namespace)}` : ''}. Is Hubble enabled on the agents (enable-hubble in cilium-config, then restart them)?</p>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Hubble UI · service map${map.namespace ? ` · ${esc(map.namespace)}` : ''}</title><style>${style}</style></head>
<body><header><h1>Hubble · service map</h1><div class="status">${status}</div></header>
<main><form id="filters"><label>Namespace <select name="namespace">${options}</select></label>
<label>Verdict <select name="verdict">${verdictOptions}</select></label>
<label>Filter <input name="filter" placeholder="from:label=app=web !to:pod=db ip=10.0.0.1" autocomplete="off"></label>
<span id="filter-error" class="err"></span><a href="/api/service-map">JSON</a></form>
<div class="map" id="map">${mapBody}</div>
<h2><span id="flows-title">Flows</span> <button id="clear-edge" type="button" hidden>all flows</button></h2>
<table id="flows"><thead><tr>${flowColumns.map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody></tbody></table>
</main><script>${script}</script></body></html>
`;
}
