// report.md: the verdict and why, key numbers, a Mermaid service map and the tables a reader needs, rendered on GitHub.
import type { EdgeSummary } from '../analysis/aggregate.ts';
import { deniedMessage, type FlowExample } from '../analysis/drops.ts';
import type { Report, ReportCheck } from './json.ts';
import { fmtDuration, fmtInt, fmtMs, fmtPct, fmtRate, formatMessage, plural } from './format.ts';
import { observeCommand, shellCommand, type ObserveCommand } from './observe-command.ts';
import { dropWhy, policyMarkdown } from './policy.ts';
import { metricsMarkdown } from '../metrics/report-section.ts';

/** GitHub renders Mermaid diagrams up to a size; beyond this many edges the rest is summarised. */
export const MAX_MAP_EDGES = 500;
/** Mermaid refuses diagrams over 50,000 characters (its default maxTextSize, which GitHub keeps). */
const MAX_MAP_CHARS = 45_000;
const TOP_EDGES = 20;
const TOP_SLOW = 10;

const VERDICT_MARK: Record<string, string> = { PASS: '✅', FAIL: '❌', INCOMPLETE: '⚠️' };
const STATUS_MARK: Record<string, string> = {
  pass: '✅ pass',
  fail: '❌ fail',
  warn: '⚠️ warn',
  incomplete: '⚠️ incomplete',
  skipped: '➖ off',
  'not-configured': '➖ not configured',
};

/** Text safe inside a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  const fence = text.includes('`') ? '``' : '`';
  return `${fence}${text}${fence}`;
}

function table(header: string[], rows: string[][]): string {
  const right = header.map((h) => h.startsWith('>'));
  const head = header.map((h) => (h.startsWith('>') ? h.slice(1) : h));
  return [`| ${head.join(' | ')} |`, `| ${right.map((r) => (r ? '---:' : '---')).join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join(
    '\n',
  );
}

function edgeTitle(e: { source: string; destination: string }): string {
  return `${e.source} → ${e.destination}`;
}

/** A finding's command with the number of flows it prints, which is the number the finding is about. */
function commandLine(c: ObserveCommand): string {
  return `${plural(c.flows, 'flow')}: ${code(shellCommand(c.argv))}`;
}

function portsText(e: EdgeSummary): string {
  const ports = e.ports.slice(0, 4).map((p) => (p.port === null ? p.protocol : `${p.protocol}/${p.port}`));
  return ports.join(', ') + (e.ports.length > 4 ? ', …' : '');
}

// ---------- sections ----------

function verdictSection(r: Report): string {
  const c = r.compliance;
  const lines = [`# ${VERDICT_MARK[c.status]} ${c.status} — Hubble flow analysis`, ''];
  const why = c.status === 'PASS' ? 'Why it passed' : c.status === 'FAIL' ? 'Why it failed' : 'Why it is incomplete';
  lines.push(`**${why}:**`, '');
  for (const reason of c.reasons) lines.push(`- ${reason}`);
  lines.push('');
  const source =
    r.input.kind === 'file'
      ? `file ${code(r.input.source)}`
      : r.input.kind === 'prometheus'
        ? `Hubble metrics in ${code(r.input.source)}`
        : `server ${code(r.input.source)}`;
  const gate =
    c.gate === 'any-drop'
      ? 'any policy drop fails (the lab guide’s rule)'
      : c.gate === 'expect'
        ? `expectations ${code(c.expectations ?? '')}`
        : 'off (reported, never fails)';
  lines.push(
    `Flows from ${source}${r.input.filters.length ? ` filtered by ${code(r.input.filters.join(' '))}` : ''}, ` +
      `${r.window.start ? `${r.window.start} → ${r.window.end} (${fmtDuration(r.window.seconds)})` : 'no flow times'}. Gate: ${gate}. Exit code ${c.exitCode}.`,
  );
  if (!r.quality.complete)
    lines.push(
      '',
      '> ⚠️ **Incomplete data:** events were lost or a node was unavailable; every count below is a lower bound. See [Data quality](#data-quality).',
    );
  return lines.join('\n');
}

function keyNumbers(r: Report): string {
  const t = r.totals;
  const s = r.window.seconds;
  return [
    '## Key numbers',
    '',
    table(
      [
        '>Flows',
        '>Flows/s',
        '>Forwarded',
        '>Dropped',
        '>Policy-denied',
        '>HTTP requests',
        '>HTTP errors',
        '>DNS queries',
        '>Edges',
        '>Lost events',
        '>Malformed lines',
      ],
      [
        [
          fmtInt(t.flows),
          fmtRate(t.flows, s),
          fmtInt(t.forwarded),
          fmtInt(t.dropped),
          fmtInt(t.policyDenied),
          fmtInt(t.httpRequests),
          `${fmtInt(t.httpErrors)}${t.httpRequests ? ` (${fmtPct(t.httpErrors / Math.max(1, t.httpRequests))})` : ''}`,
          fmtInt(t.dnsQueries),
          fmtInt(t.edges),
          fmtInt(t.lostEvents),
          fmtInt(t.malformedLines),
        ],
      ],
    ),
    '',
    breakdown(r),
    '',
    `Counting: an edge is client → server; replies are counted on their request's edge. An HTTP request seen at both the client's egress proxy and the server's ingress proxy counts once, and its latency is the server side's. Latency percentiles are nearest-rank, within 0.5%.`,
  ].join('\n');
}

/** How the flows add up: packet verdicts, then policy-verdict records by verdict; the parts sum to the flows. */
function breakdown(r: Report): string {
  const t = r.totals;
  const packets = new Map(Object.entries(t.verdicts));
  for (const [verdict, n] of Object.entries(t.policyVerdicts)) packets.set(verdict, (packets.get(verdict) ?? 0) - n);
  const parts = [...packets].filter(([, n]) => n > 0).map(([verdict, n]) => `${fmtInt(n)} ${verdict}`);
  const verdictRecords = Object.values(t.policyVerdicts).reduce((a, b) => a + b, 0);
  if (verdictRecords > 0) {
    const by = Object.entries(t.policyVerdicts)
      .map(([verdict, n]) => `${fmtInt(n)} ${verdict}`)
      .join(', ');
    parts.push(`${plural(verdictRecords, 'policy-verdict record')} (${by})`);
  }
  const denied = t.policyDenied > 0 ? ` Policy denied ${plural(t.policyDenied, 'packet')}, each counted once.` : '';
  return `${plural(t.flows, 'flow')}${parts.length ? ` = ${parts.join(' + ')}` : ''}.${denied}`;
}

function mermaidLabel(text: string): string {
  return text.replace(/"/g, '#quot;');
}

function mapLabel(e: EdgeSummary, seconds: number): string {
  const parts: string[] = [];
  if (e.http && e.http.requests > 0) {
    parts.push(`${fmtRate(e.http.requests, seconds)} req/s`, `${fmtPct(e.http.errorRate)} err`);
    if (e.http.latencyMs) parts.push(`p95 ${fmtMs(e.http.latencyMs.p95)}`);
  } else if (e.dns && e.dns.queries > 0) {
    parts.push(`${fmtRate(e.dns.queries, seconds)} DNS q/s`);
  } else if (e.forwarded > 0 || e.policyDenied === 0) {
    parts.push(plural(e.flows - e.policyVerdicts, 'flow'));
  }
  if (e.policyDenied > 0) parts.push(formatMessage(deniedMessage(e.policyDenied, e.policyDeniedSyns)));
  return parts.join(' · ');
}

/** Service map: one node per endpoint (grouped by namespace), one arrow per edge; policy-dropped edges red and dashed. */
export function serviceMap(r: Report): string {
  const ids = new Map<string, string>();
  const id = (name: string) => {
    let v = ids.get(name);
    if (!v) {
      v = `n${ids.size}`;
      ids.set(name, v);
    }
    return v;
  };
  // Edges busiest first, as many as fit both limits; the size estimate counts each arrow and each new node.
  const edges: EdgeSummary[] = [];
  let size = 0;
  for (const e of r.edges) {
    if (edges.length >= MAX_MAP_EDGES) break;
    const nodes = [e.source, e.destination].filter((n) => !ids.has(n));
    const cost = mapLabel(e, r.window.seconds).length + 24 + nodes.reduce((n, name) => n + name.length + 16, 0);
    if (size + cost > MAX_MAP_CHARS) break;
    size += cost;
    edges.push(e);
    id(e.source);
    id(e.destination);
  }
  const byNamespace = new Map<string, string[]>();
  for (const name of ids.keys()) {
    const slash = name.indexOf('/');
    const ns = slash === -1 ? '' : name.slice(0, slash);
    const list = byNamespace.get(ns) ?? [];
    list.push(name);
    byNamespace.set(ns, list);
  }
  const lines = ['```mermaid', 'flowchart LR'];
  for (const [ns, names] of [...byNamespace].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const indent = ns ? '    ' : '  ';
    if (ns) lines.push(`  subgraph ns_${ids.get(names[0]!)}["${mermaidLabel(ns)}"]`);
    for (const name of names) {
      const label = ns ? name.slice(ns.length + 1) : name;
      lines.push(`${indent}${ids.get(name)}["${mermaidLabel(label)}"]`);
    }
    if (ns) lines.push('  end');
  }
  const denied: number[] = [];
  edges.forEach((e, i) => {
    const arrow = e.policyDenied > 0 ? '-.->' : '-->';
    if (e.policyDenied > 0) denied.push(i);
    lines.push(`  ${id(e.source)} ${arrow}|"${mermaidLabel(mapLabel(e, r.window.seconds))}"| ${id(e.destination)}`);
  });
  if (denied.length > 0) lines.push(`  linkStyle ${denied.join(',')} stroke:#d73a49,stroke-width:2px,stroke-dasharray:5 5,color:#d73a49`);
  lines.push('```');
  const out = [
    '## Service map',
    '',
    'Who talks to whom: arrows go from client to server, labelled `requests/s · error rate · p95 latency` where HTTP is visible (else flows). Red dashed arrows carried policy-denied flows.',
    '',
    lines.join('\n'),
  ];
  if (r.edges.length > edges.length) {
    const rest = r.edges.slice(edges.length);
    out.push(
      '',
      `${plural(rest.length, 'more edge')} (${plural(
        rest.reduce((n, e) => n + e.flows, 0),
        'flow',
      )}) are not drawn; they are in report.json.`,
    );
  }
  return out.join('\n');
}

function findings(r: Report): string {
  const c = r.compliance;
  const out = ['## Compliance checks', ''];
  out.push(
    table(
      ['Check', 'Mode', 'Result', 'Summary'],
      c.checks.map((k: ReportCheck) => [k.title, k.status === 'not-configured' ? '–' : k.mode, STATUS_MARK[k.status]!, k.summary]),
    ),
  );
  const listed = c.checks.filter((k) => k.violations.length > 0 || k.notes.length > 0);
  for (const k of listed) {
    out.push('', `### ${STATUS_MARK[k.status]} ${k.title}`, '');
    for (const v of k.violations.slice(0, 50)) {
      out.push(`- ${v.severity === 'fail' ? '**FAIL**' : v.severity === 'incomplete' ? '**INCOMPLETE**' : 'warning'}: ${v.message}`);
      if (v.observe) out.push(`  - ${commandLine(v.observe)}`);
    }
    if (k.violations.length > 50) out.push(`- … ${plural(k.violations.length - 50, 'more finding')} in report.json`);
    for (const n of k.notes.slice(0, 20)) out.push(`- note: ${n}`);
  }
  if (c.notConfigured.length > 0) {
    out.push(
      '',
      `Not configured: ${c.notConfigured.join(', ')} — ${c.expectations ? `not in ${code(c.expectations)}` : 'run with `--expect FILE` (allow, deny, slo) to check them'}.`,
    );
  }
  return out.join('\n');
}

function topEdges(r: Report): string {
  const s = r.window.seconds;
  const rows = r.edges
    .slice(0, TOP_EDGES)
    .map((e) => [
      edgeTitle(e),
      portsText(e),
      fmtInt(e.flows),
      fmtInt(e.dropped),
      fmtInt(e.policyDenied),
      e.http ? fmtInt(e.http.requests) : '–',
      e.http ? fmtRate(e.http.requests, s) : '–',
      e.http ? fmtPct(e.http.errorRate) : '–',
      fmtMs(e.http?.latencyMs?.p95),
      e.tcp ? `${fmtInt(e.tcp.attempts)}${e.tcp.unanswered ? ` (${fmtInt(e.tcp.unanswered)} unanswered)` : ''}` : '–',
    ]);
  const out = ['## Top edges', '', `By flows; ${plural(r.edges.length, 'edge')} in all.`, ''];
  out.push(table(['Client → server', 'Ports', '>Flows', '>Dropped', '>Denied', '>HTTP req', '>req/s', '>Errors', '>p95', '>TCP conns'], rows));
  return out.join('\n');
}

function slowest(r: Report): string {
  const withLatency = r.edges.filter((e) => e.http?.latencyMs);
  const out = ['## Slowest edges', ''];
  if (withLatency.length === 0) {
    out.push(r.quality.l7.note ?? 'No HTTP response carried a latency (Hubble reports latency only on L7 RESPONSE flows).');
    return out.join('\n');
  }
  withLatency.sort((a, b) => b.http!.latencyMs!.p99 - a.http!.latencyMs!.p99);
  out.push('By p99 of the request latency Hubble measured at the proxy (server side when both proxies saw the request).', '');
  out.push(
    table(
      ['Client → server', '>Requests', '>p50', '>p90', '>p95', '>p99', '>max', 'Seen at'],
      withLatency.slice(0, TOP_SLOW).map((e) => {
        const l = e.http!.latencyMs!;
        const sg = e.http!.sightings;
        const seen = sg.both > 0 ? 'both proxies' : sg.server > 0 ? 'server proxy' : sg.client > 0 ? 'client proxy' : '–';
        return [edgeTitle(e), fmtInt(e.http!.requests), fmtMs(l.p50), fmtMs(l.p90), fmtMs(l.p95), fmtMs(l.p99), fmtMs(l.max), seen];
      }),
    ),
  );
  return out.join('\n');
}

function errors(r: Report): string {
  const failing = r.edges.filter((e) => e.http && e.http.errors > 0).sort((a, b) => b.http!.errors - a.http!.errors);
  const out = ['## HTTP errors', ''];
  if (!r.edges.some((e) => e.http)) {
    out.push(r.quality.l7.http === 0 ? 'No HTTP flows: status codes need an L7 visibility policy (`rules.http`) on the server port.' : 'None.');
    return out.join('\n');
  }
  if (failing.length === 0) {
    out.push(`No HTTP response with status ≥ 400 in ${plural(r.totals.httpRequests, 'request')}.`);
    return out.join('\n');
  }
  out.push(
    table(
      ['Client → server', '>Responses', '>Errors', '>5xx', '>Error rate', 'Statuses', 'Paths'],
      failing.map((e) => {
        const h = e.http!;
        const statuses = Object.entries(h.byStatus)
          .map(([code, n]) => `${code}×${fmtInt(n)}`)
          .join(' ');
        return [
          edgeTitle(e),
          fmtInt(h.responses),
          fmtInt(h.errors),
          fmtInt(h.errors5xx),
          fmtPct(h.errorRate),
          statuses,
          h.topPaths
            .slice(0, 3)
            .map((p) => p.path)
            .join(', '),
        ];
      }),
    ),
  );
  out.push('');
  for (const e of failing.slice(0, 10)) {
    const c = observeCommand(r.input, r.window, e.drilldowns.httpErrors);
    if (c) out.push(`- ${edgeTitle(e)}: ${commandLine(c)}`);
  }
  return out.join('\n');
}

/** The clients' own account, beside what Hubble saw: requests that never got an answer show only here. */
function clients(r: Report): string | undefined {
  const c = r.clients;
  if (!c) return undefined;
  const w = c.workflows;
  const out = ['## What the clients saw', ''];
  out.push(
    `From ${code(c.source)}: ${fmtInt(w.completed)} of ${plural(w.started, 'workflow')} completed, ${fmtInt(w.failed)} failed; batches ${Object.entries(
      c.batches,
    )
      .map(([k, n]) => `${k} ${fmtInt(n)}`)
      .join(', ')}.`,
    '',
  );
  out.push(
    table(
      ['Step', 'Client → server', '>Requests', 'Statuses', '>No answer', '>Failed', '>p50', '>p95'],
      c.steps.map((s) => [
        s.expect === null ? s.step : `${s.step} (expects ${s.expect})`,
        `${s.client} → ${s.server ?? s.service}`,
        fmtInt(s.requests),
        Object.entries(s.byStatus)
          .map(([k, n]) => `${k}×${fmtInt(n)}`)
          .join(' '),
        fmtInt(s.unanswered),
        fmtInt(s.failed),
        fmtMs(s.latencyMs?.p50),
        fmtMs(s.latencyMs?.p95),
      ]),
    ),
  );
  out.push(
    '',
    'Requests with no answer (timeouts, refused or reset connections) outside the deliberate error steps count as errors of their edge in the service-level check: Hubble shows no response for them.',
  );
  if (c.errors.count > 0)
    out.push(
      '',
      `Client errors: ${c.errors.top
        .slice(0, 5)
        .map((e) => `${e.message} ×${fmtInt(e.count)}`)
        .join('; ')}.`,
    );
  if (c.probe) out.push('', `Policy probe → ${c.probe.target}: ${c.probe.outcome}${c.probe.reason ? ` (${c.probe.reason})` : ''} after ${fmtMs(c.probe.ms)}.`);
  return out.join('\n');
}

function exampleLine(x: FlowExample): string {
  return `${x.time ?? '?'} [${x.node ?? '?'}]: ${x.source} -> ${x.destination} ${x.verdict}${x.reason ? ` (${x.reason})` : ''}${x.direction ? ` ${x.direction}` : ''}${x.summary ? ` ${x.summary}` : ''}`;
}

function drops(r: Report): string {
  const out = ['## Drops and denials', ''];
  if (r.drops.length === 0) {
    out.push('No flow was dropped.');
    return out.join('\n');
  }
  out.push(
    table(
      ['Reason', '>Packets', 'Policy', 'Edges'],
      r.drops.map((d) => [
        d.reason,
        fmtInt(d.count),
        d.policy ? 'yes' : 'no',
        d.edges
          .slice(0, 3)
          .map((e) => `${edgeTitle(e)} (${fmtInt(e.count)})`)
          .join('; ') + (d.edges.length > 3 ? '; …' : ''),
      ]),
    ),
  );
  for (const d of r.drops) {
    out.push('', `### ${d.reason}${d.policy ? ' (policy)' : ''}: ${plural(d.count, 'packet')}`, '');
    for (const pair of d.edges.slice(0, 5)) {
      const e = r.edges.find((x) => x.source === pair.source && x.destination === pair.destination);
      const sides =
        e && d.policy
          ? ` — denied at ${[e.policyDeniedBy.ingress ? `the server's ingress (${fmtInt(e.policyDeniedBy.ingress)})` : '', e.policyDeniedBy.egress ? `the client's egress (${fmtInt(e.policyDeniedBy.egress)})` : ''].filter(Boolean).join(' and ') || 'an unknown side'}`
          : '';
      out.push(
        `- ${edgeTitle(pair)}: ${d.policy && e && e.policyDenied === pair.count ? formatMessage(deniedMessage(e.policyDenied, e.policyDeniedSyns)) : plural(pair.count, 'packet')}${sides}`,
      );
      const c = e ? observeCommand(r.input, r.window, e.drilldowns.drops.find((x) => x.reason === d.reason) ?? null) : null;
      if (c) out.push(`  - ${commandLine(c)}`);
      const why = d.policy ? dropWhy(r.policy, pair) : undefined;
      if (why) out.push(`  - why: ${why}`);
    }
    if (d.examples.length > 0) {
      out.push('', 'Example flows:', '', '```', ...d.examples.map(exampleLine), '```');
    }
  }
  return out.join('\n');
}

function dns(r: Report): string {
  const d = r.dns;
  const out = ['## DNS', ''];
  if (!d.l7) {
    out.push('No L7 DNS flows: query names and response codes need a DNS rule (`rules.dns`) so that Cilium’s DNS proxy sees the lookups.');
    return out.join('\n');
  }
  const rcodes = Object.entries(d.byRcode)
    .map(([k, n]) => `${k} ${fmtInt(n)}`)
    .join(', ');
  out.push(
    `${plural(d.queries, 'query', 'queries')}, ${plural(d.responses, 'response')} (${rcodes || 'none'}); answer latency p50 ${fmtMs(d.latencyMs?.p50)}, p95 ${fmtMs(d.latencyMs?.p95)}, max ${fmtMs(d.latencyMs?.max)}.`,
    '',
  );
  if (d.searchPathNxdomain > 0) {
    out.push(
      `${plural(d.searchPathNxdomain, 'NXDOMAIN answer')} went to search-path expansions (the resolver's ndots:5 tries \`name.<namespace>.svc.cluster.local\` and the like first) of names that were then answered: how resolvers work, not failures. Names below are as the clients asked for them.`,
      '',
    );
  }
  out.push(
    table(
      ['Name', '>Queries'],
      d.topNames.map((n) => [n.name, fmtInt(n.queries)]),
    ),
  );
  const failing = r.edges.filter((e) => e.dns && Object.keys(e.dns.errors).length > 0);
  if (failing.length > 0) {
    out.push('', 'Clients that got errors:', '');
    for (const e of failing) {
      const bad = Object.entries(e.dns!.errors)
        .map(([k, n]) => `${k} ${fmtInt(n)}`)
        .join(', ');
      const c = observeCommand(r.input, r.window, e.drilldowns.dns);
      out.push(`- ${e.source} (via ${e.destination}): ${bad}${c ? ` — the responses, ${commandLine(c)}` : ''}`);
    }
  }
  return out.join('\n');
}

const SPARK = '▁▂▃▄▅▆▇█';

function sparkline(values: number[]): string {
  const max = Math.max(...values, 0);
  if (max === 0) return SPARK[0]!.repeat(values.length);
  return values.map((v) => SPARK[Math.min(SPARK.length - 1, Math.round((v / max) * (SPARK.length - 1)))]).join('');
}

function timeline(r: Report): string {
  const tl = r.timeline;
  const out = ['## Timeline', ''];
  if (tl.buckets.length === 0) {
    out.push('No flow carried a time.');
    return out.join('\n');
  }
  const w = tl.bucketSeconds;
  out.push(`${plural(tl.buckets.length, 'bucket')} of ${fmtDuration(w)} from ${tl.buckets[0]!.start}.`, '');
  const series = ['flows', 'requests', 'errors', 'drops'] as const;
  out.push(
    table(
      ['Series', '>Peak /s', '>Mean /s', 'Shape'],
      series.map((k) => {
        const values = tl.buckets.map((b) => b[k]);
        const total = values.reduce((a, b) => a + b, 0);
        return [k, fmtRate(Math.max(...values), w), fmtRate(total, tl.buckets.length * w), sparkline(values)];
      }),
    ),
  );
  if (tl.bursts.length > 0) {
    out.push('', 'Bursts (a bucket at least three times the usual rate):', '');
    for (const b of tl.bursts.slice(0, 20)) out.push(`- ${b.start}: ${fmtInt(b.count)} ${b.series} in ${fmtDuration(w)} (usual ${fmtInt(b.median)})`);
  }
  return out.join('\n');
}

function quality(r: Report): string {
  const q = r.quality;
  const out = ['## Data quality', ''];
  out.push(
    `- Window: ${q.window.start ? `${q.window.start} → ${q.window.end} (${fmtDuration(q.window.seconds)})` : 'no flow times'}; ${plural(r.input.records, 'record')} read${r.input.skippedByFilter ? `, ${plural(r.input.skippedByFilter, 'flow')} left out by the filters` : ''}.`,
  );
  const input = q.input;
  if (input.diagnosis) out.push(`- Nothing was read: ${input.diagnosis}.`);
  if (input.failure)
    out.push(
      `- The read ended early${input.failure.lastGoodLine !== null ? ` after line ${input.failure.lastGoodLine}` : ''}: ${input.failure.reason}. Everything before was analysed.`,
    );
  if (input.skipped) out.push(`- Exporter agent and debug events: ${fmtInt(input.skipped)}, left out (not flows).`);
  if (q.flowsFiltered) out.push(`- Left out by the filters: ${plural(q.flowsFiltered, 'flow')}.`);
  for (const u of q.unknownValues) {
    out.push(
      `- Unknown to this version: ${u.field} ${code(JSON.stringify(u.value))} on ${plural(u.count, 'record')}${u.lines.length ? ` (first on line ${u.lines.join(', ')})` : ''}; counted under that name, never as forwarded or dropped.`,
    );
  }
  out.push(
    `- Malformed lines: ${fmtInt(q.malformedLines)}${
      q.malformedLines
        ? ` (skipped; first: ${q.malformedExamples
            .slice(0, 3)
            .map((m) => `line ${m.line}: ${m.reason}`)
            .join('; ')})`
        : ''
    }.`,
  );
  const lost = Object.entries(q.lostEvents.bySource)
    .map(([s, n]) => `${fmtInt(n)} ${s}`)
    .join(', ');
  out.push(
    `- Lost events: ${fmtInt(q.lostEvents.total)}${lost ? ` (${lost})` : ''}${q.lostEvents.total ? ' — Hubble dropped these before they were read: raise hubble-event-buffer-capacity or read faster' : ''}.`,
  );
  out.push(
    `- Nodes: ${q.nodes.seen.length ? q.nodes.seen.join(', ') : 'none named'}${q.nodes.unavailable.length ? `; unavailable: ${q.nodes.unavailable.map((n) => `${n.name} (${n.state}${n.time ? ` at ${n.time}` : ''}${n.message ? `: ${n.message}` : ''})`).join(', ')}` : ''}.`,
  );
  out.push(
    `- L7 visibility: ${q.l7.flows ? `${plural(q.l7.http, 'HTTP flow')}, ${plural(q.l7.dns, 'DNS flow')}${q.l7.kafka ? `, ${plural(q.l7.kafka, 'Kafka flow')}` : ''}` : q.l7.note}.`,
  );
  out.push(`- Complete: ${q.complete ? 'yes' : 'no — counts are lower bounds'}.`);
  for (const n of q.notes) out.push(`- ${n}`);
  return out.join('\n');
}

export function formatMarkdown(r: Report): string {
  const sections = [
    verdictSection(r),
    keyNumbers(r),
    serviceMap(r),
    findings(r),
    topEdges(r),
    slowest(r),
    errors(r),
    clients(r),
    drops(r),
    ...(r.policy ? [policyMarkdown(r.policy)] : []),
    dns(r),
    timeline(r),
    quality(r),
    metricsMarkdown(r.metrics),
  ];
  return sections.filter((x): x is string => x !== undefined).join('\n\n') + '\n';
}
