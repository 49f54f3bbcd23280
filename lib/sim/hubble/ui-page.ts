// Hubble UI's page: the service map as inline SVG (clients left of their servers, dropped traffic in red) and a
// table of the same edges; plain HTML with no scripts or external assets.
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
const colGap = 120;
const rowGap = 28;
const margin = 30;

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
  [...columns.keys()].sort((a, b) => a - b).forEach((d, col) => {
    columns.get(d)!.forEach((n, row) => out.set(n, { x: margin + col * (boxW + colGap), y: margin + row * (boxH + rowGap) }));
  });
  return out;
}

function edgeLabel(e: MapEdge): string {
  return e.dropped > 0 ? `${e.flows} flows, ${e.dropped} dropped` : `${e.flows} flows`;
}

function svg(map: ServiceMapSnapshot): string {
  const pos = layout(map.nodes.map((n) => n.name), map.edges);
  const width = Math.max(...[...pos.values()].map((p) => p.x + boxW + margin), 400);
  const height = Math.max(...[...pos.values()].map((p) => p.y + boxH + margin), 120);
  const parts: string[] = [];
  for (const e of map.edges) {
    const a = pos.get(e.source)!;
    const b = pos.get(e.destination)!;
    const cls = e.dropped > 0 ? 'edge dropped' : 'edge';
    let d: string;
    let lx: number;
    let ly: number;
    if (e.source === e.destination) {
      d = `M${a.x + boxW - 40},${a.y} C${a.x + boxW - 40},${a.y - 40} ${a.x + boxW},${a.y - 40} ${a.x + boxW},${a.y + 10}`;
      [lx, ly] = [a.x + boxW - 20, a.y - 34];
    } else {
      const [x1, y1, x2, y2] = [a.x + boxW, a.y + boxH / 2, b.x, b.y + boxH / 2];
      const bend = Math.max(40, Math.abs(x2 - x1) / 2);
      d = `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
      [lx, ly] = [(x1 + x2) / 2, (y1 + y2) / 2 - 6];
    }
    parts.push(
      `<g class="${cls}" data-source="${esc(e.source)}" data-destination="${esc(e.destination)}" data-flows="${e.flows}" data-dropped="${e.dropped}">` +
        `<path d="${d}" marker-end="url(#${e.dropped > 0 ? 'arrow-dropped' : 'arrow'})"/>` +
        `<text x="${lx}" y="${ly}" text-anchor="middle">${esc(edgeLabel(e))}</text></g>`,
    );
  }
  for (const n of map.nodes) {
    const p = pos.get(n.name)!;
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
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="service map">` +
    `<defs>${marker('arrow', '#5b6b7f')}${marker('arrow-dropped', '#d1242f')}</defs>${parts.join('')}</svg>`
  );
}

function table(edges: MapEdge[]): string {
  const rows = edges.map(
    (e) =>
      `<tr class="${e.dropped > 0 ? 'dropped' : ''}"><td>${esc(e.source)}</td><td>${esc(e.destination)}</td><td>${esc(e.ports.join(', '))}</td>` +
      `<td>${esc(e.protocols.join(', '))}</td><td>${e.flows}</td><td>${e.forwarded}</td><td>${e.dropped}</td></tr>`,
  );
  return `<table><thead><tr><th>Client</th><th>Server</th><th>Ports</th><th>Protocols</th><th>Flows</th><th>Forwarded</th><th>Dropped</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const style = `body{font:14px system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:10px 20px}header h1{font-size:18px;margin:0 0 4px}
header .status{font-size:13px;opacity:.9}.err{color:#ffb4b4}main{padding:16px 20px}
nav a{margin-right:10px}.map{background:#fff;border:1px solid #d0d7de;border-radius:6px;overflow:auto;margin:12px 0}
.node rect{fill:#fff;stroke:#0969da;stroke-width:1.5}.node .name{font-weight:600;font-size:13px}.node .ns{fill:#57606a;font-size:11px}
.edge path{fill:none;stroke:#5b6b7f;stroke-width:1.5}.edge text{font-size:11px;fill:#57606a}
.edge.dropped path{stroke:#d1242f;stroke-width:2}.edge.dropped text{fill:#d1242f}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left}tr.dropped td{color:#d1242f}`;

/** The whole page; refreshes itself every few seconds. */
export function renderPage(map: ServiceMapSnapshot, relay: RelayState): string {
  const status = relay.connected
    ? `Relay ${esc(relay.address)}: receiving flows from ${relay.nodes.length} node${relay.nodes.length === 1 ? '' : 's'} · ${map.flows} flows`
    : `<span class="err">Relay ${esc(relay.address)}: ${esc(relay.error ?? 'connecting…')}</span> · ${map.flows} flows`;
  const nav = ['<a href="/">all namespaces</a>', ...map.namespaces.map((ns) => `<a href="/?namespace=${encodeURIComponent(ns)}">${esc(ns)}</a>`)].join('');
  const body = map.edges.length
    ? `<div class="map">${svg(map)}</div>${table(map.edges)}`
    : `<p>No flows yet${map.namespace ? ` in ${esc(map.namespace)}` : ''}. Is Hubble enabled on the agents (enable-hubble in cilium-config, then restart them)?</p>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Hubble UI · service map${map.namespace ? ` · ${esc(map.namespace)}` : ''}</title><style>${style}</style></head>
<body><header><h1>Hubble · service map${map.namespace ? ` · ${esc(map.namespace)}` : ''}</h1><div class="status">${status}</div></header>
<main><nav>${nav} · <a href="/api/service-map${map.namespace ? `?namespace=${encodeURIComponent(map.namespace)}` : ''}">JSON</a></nav>${body}</main></body></html>
`;
}
