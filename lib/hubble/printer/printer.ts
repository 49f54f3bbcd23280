// What `hubble observe -o compact|dict|json|jsonpb|table` prints for each GetFlowsResponse, byte for byte.
import type { Flow, GetFlowsResponse, LostEvent, NodeStatusEvent } from '../../flows/types.ts';
import { toJsonpb, toLegacyJson } from '../codec/write.ts';
import { flowType, hostNames, identityText, summaryText, verdictText } from './fields.ts';
import { TabWriter } from './tabwriter.ts';
import { colorEnabled, createColorer, type ColorMode, type Colorer } from './terminal.ts';
import { formatTime, timeFormatName, type TimeFormatName } from './time-format.ts';

export const OUTPUT_FORMATS = ['compact', 'dict', 'json', 'jsonpb', 'table'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Anything with a string write(): a Writable, or a collector in tests. */
export interface TextSink {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface PrinterOptions {
  /** Where flows go (hubble's stdout). */
  out: TextSink;
  /** Where node status events go (hubble's stderr); default process.stderr. */
  err?: TextSink;
  /** A --time-format name (StampMilli, RFC3339, RFC3339Nano, …); default StampMilli. */
  timeFormat?: string;
  /** --print-node-name. */
  nodeName?: boolean;
  /** --print-policy-names: policy-verdict events name the policies that allowed or denied them. */
  policyNames?: boolean;
  /** --ip-translation (default true): pod, service or DNS names instead of IPs; --numeric turns it off. */
  ipTranslation?: boolean;
  /** --color (default auto: colour on a terminal unless NO_COLOR or TERM=dumb). Tables are never coloured. */
  color?: ColorMode;
  /** -D/--debug: print every node status event, not only nodes that became unavailable or failed. */
  debug?: boolean;
  /** For `json`: HUBBLE_COMPAT=legacy-json-output, printing bare Flow objects. */
  legacyJson?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface FlowPrinter {
  write(resp: GetFlowsResponse): void;
  /** Writes what is still buffered (the table is laid out only here, as hubble does on exit). */
  end(): void;
}

const DICT_SEPARATOR = '------------';
const NODE_NAMES_CUT_OFF = 50;

interface Context {
  out: TextSink;
  err: TextSink;
  time: TimeFormatName;
  nodeName: boolean;
  policyNames: boolean;
  translate: boolean;
  debug: boolean;
  c: Colorer;
}

function context(opts: PrinterOptions, allowColor: boolean): Context {
  const env = opts.env ?? process.env;
  const enabled = allowColor && colorEnabled(opts.color ?? 'auto', opts.out.isTTY, env);
  return {
    out: opts.out,
    err: opts.err ?? process.stderr,
    time: timeFormatName(opts.timeFormat),
    nodeName: opts.nodeName ?? false,
    policyNames: opts.policyNames ?? false,
    translate: opts.ipTranslation ?? true,
    debug: opts.debug ?? false,
    c: createColorer(enabled),
  };
}

/** A printer for one output format; `json` follows HUBBLE_COMPAT in `env` unless legacyJson says otherwise. */
export function createPrinter(format: OutputFormat, opts: PrinterOptions): FlowPrinter {
  switch (format) {
    case 'compact':
      return compactPrinter(opts);
    case 'dict':
      return dictPrinter(opts);
    case 'table':
      return tablePrinter(opts);
    case 'jsonpb':
      return jsonpbPrinter(opts);
    case 'json': {
      const compat = (opts.env ?? process.env).HUBBLE_COMPAT ?? '';
      const legacy = opts.legacyJson ?? compat.split(',').some((o) => o.toLowerCase() === 'legacy-json-output');
      return legacy ? legacyJsonPrinter(opts) : jsonpbPrinter(opts);
    }
  }
}

// ---- node status (shared by all formats) ----

/** hubble's joinWithCutOff: stop adding names past `targetLen` characters, then say how many were left out. */
function joinWithCutOff(names: string[], sep: string, targetLen: number): string {
  let len = 0;
  let end = names.length;
  for (let i = 0; i < names.length; i++) {
    len += Buffer.byteLength(names[i]!) + sep.length;
    if (len > targetLen && i > 0) {
      end = i;
      break;
    }
  }
  const joined = names.slice(0, end).join(sep);
  const omitted = names.length - end;
  return omitted === 0 ? joined : `${joined} (and ${omitted} more)`;
}

const GO_SHORT_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/** Go's strconv.Quote: short escapes, \xHH for other ASCII controls, \uHHHH for line/paragraph separators. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    const short = GO_SHORT_ESCAPES[ch];
    if (short) out += short;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16)}`;
    else out += ch;
  }
  return `${out}"`;
}

function shown(s: NodeStatusEvent, debug: boolean): boolean {
  return debug || s.state_change === 'NODE_ERROR' || s.state_change === 'NODE_UNAVAILABLE';
}

/** The one-line message compact and table print to stderr. */
function nodeStatusLine(resp: GetFlowsResponse, s: NodeStatusEvent, ctx: Context): string {
  const names = s.node_names ?? [];
  const nodeNames = joinWithCutOff(names, ', ', NODE_NAMES_CUT_OFF);
  const prefix = `${formatTime(resp.time, ctx.time)} [${resp.node_name ?? ''}]`;
  switch (s.state_change) {
    case 'NODE_CONNECTED':
      return `${prefix}: Receiving flows from ${names.length} nodes: ${nodeNames}`;
    case 'NODE_UNAVAILABLE':
      return `${prefix}: ${names.length} nodes are unavailable: ${nodeNames}`;
    case 'NODE_GONE':
      return `${prefix}: ${names.length} nodes removed from cluster: ${nodeNames}`;
    case 'NODE_ERROR':
      return `${prefix}: Error ${goQuote(s.message ?? '')} on ${names.length} nodes: ${nodeNames}`;
    default: {
      // Go prints the message in protobuf text format here.
      const fields = [
        ...(s.state_change && s.state_change !== 'UNKNOWN_NODE_STATE' ? [`state_change:${s.state_change}`] : []),
        ...names.map((n) => `node_names:${goQuote(n)}`),
        ...(s.message ? [`message:${goQuote(s.message)}`] : []),
      ];
      return `${prefix}: unknown node status event: ${fields.join(' ')}`;
    }
  }
}

function lostSummary(l: LostEvent): { source: string; cpu: number; lost: string } {
  return { source: l.source ?? 'UNKNOWN_LOST_EVENT_SOURCE', cpu: l.cpu ?? 0, lost: l.num_events_lost ?? '0' };
}

// ---- compact ----

/** One compact line for a flow (with its newline), as `hubble observe` prints it; uncoloured unless asked. */
export function compactLine(f: Flow, opts: Omit<PrinterOptions, 'out' | 'err'> = {}): string {
  return formatCompactFlow(f, context({ color: 'never', ...opts, out: { write() {} } }, true));
}

function formatCompactFlow(f: Flow, ctx: Context): string {
  let [src, dst] = hostNames(f, ctx.translate, ctx.c);
  let srcId = identityText(f.source?.identity, ctx.c);
  let dstId = identityText(f.destination?.identity, ctx.c);
  let arrow = '->';
  if (f.is_reply == null) arrow = '<>';
  else if (f.is_reply) {
    [src, dst] = [dst, src];
    [srcId, dstId] = [dstId, srcId];
    arrow = '<-';
  }
  const node = ctx.nodeName ? ` [${f.node_name ?? ''}]` : '';
  return ctx.c.escape(
    `${formatTime(f.time, ctx.time)}${node}: ${src} ${srcId} ${arrow} ${dst} ${dstId} ${flowType(f)} ${verdictText(f, ctx.c, ctx.policyNames)} (${summaryText(f, ctx.c)})\n`,
  );
}

export function compactPrinter(opts: PrinterOptions): FlowPrinter {
  const ctx = context(opts, true);
  return {
    write(resp) {
      if (resp.flow) ctx.out.write(formatCompactFlow(resp.flow, ctx));
      else if (resp.lost_events) {
        const l = lostSummary(resp.lost_events);
        ctx.out.write(ctx.c.escape(`EVENTS LOST: ${l.source} CPU(${l.cpu}) ${l.lost}\n`));
      } else if (resp.node_status && shown(resp.node_status, ctx.debug)) {
        ctx.err.write(ctx.c.escape(`${nodeStatusLine(resp, resp.node_status, ctx)}\n`));
      }
    },
    end() {},
  };
}

// ---- dict ----

export function dictPrinter(opts: PrinterOptions): FlowPrinter {
  const ctx = context(opts, true);
  let line = 0;
  return {
    write(resp) {
      const { c } = ctx;
      if (resp.flow) {
        const f = resp.flow;
        const [src, dst] = hostNames(f, ctx.translate, c);
        let text = line !== 0 ? `${DICT_SEPARATOR}\n` : '';
        text += `  TIMESTAMP: ${formatTime(f.time, ctx.time)}\n`;
        if (ctx.nodeName) text += `       NODE: ${f.node_name ?? ''}\n`;
        text += `     SOURCE: ${src}\nDESTINATION: ${dst}\n       TYPE: ${flowType(f)}\n    VERDICT: ${verdictText(f, c, ctx.policyNames)}\n    SUMMARY: ${summaryText(f, c)}\n`;
        ctx.out.write(c.escape(text));
        line++;
      } else if (resp.lost_events) {
        const l = lostSummary(resp.lost_events);
        let text = line !== 0 ? `${DICT_SEPARATOR}\n` : '';
        text += '  TIMESTAMP: \n';
        if (ctx.nodeName) text += '       NODE: \n';
        text += `     SOURCE: ${l.source}\n       TYPE: EVENTS LOST\n    VERDICT: \n    SUMMARY: CPU(${l.cpu}) - ${l.lost}\n`;
        ctx.out.write(c.escape(text));
        line++;
      } else if (resp.node_status && shown(resp.node_status, ctx.debug)) {
        const s = resp.node_status;
        let text = '';
        if (line !== 0) text += `${DICT_SEPARATOR}\n`;
        else line++;
        const message = s.message ? goQuote(s.message) : 'N/A';
        text += `  TIMESTAMP: ${formatTime(resp.time, ctx.time)}\n      STATE: ${s.state_change ?? 'UNKNOWN_NODE_STATE'}\n      NODES: ${joinWithCutOff(s.node_names ?? [], ', ', NODE_NAMES_CUT_OFF)}\n    MESSAGE: ${message}\n`;
        ctx.err.write(c.escape(text));
      }
    },
    end() {},
  };
}

// ---- table ----

export function tablePrinter(opts: PrinterOptions): FlowPrinter {
  const ctx = context(opts, false);
  const tw = new TabWriter((text) => ctx.out.write(text));
  let line = 0;
  const header = () => {
    if (line === 0) tw.write(`TIMESTAMP\t${ctx.nodeName ? 'NODE\t' : ''}SOURCE\tDESTINATION\tTYPE\tVERDICT\tSUMMARY\n`);
  };
  return {
    write(resp) {
      const { c } = ctx;
      if (resp.flow) {
        const f = resp.flow;
        const [src, dst] = hostNames(f, ctx.translate, c);
        header();
        const node = ctx.nodeName ? `${f.node_name ?? ''}\t` : '';
        tw.write(
          c.escape(`${formatTime(f.time, ctx.time)}\t${node}${src}\t${dst}\t${flowType(f)}\t${verdictText(f, c, ctx.policyNames)}\t${summaryText(f, c)}\n`),
        );
        line++;
      } else if (resp.lost_events) {
        const l = lostSummary(resp.lost_events);
        header();
        tw.write(c.escape(`\t${ctx.nodeName ? '\t' : ''}${l.source}\t\tEVENTS LOST\t\tCPU(${l.cpu}) - ${l.lost}\n`));
        line++;
      } else if (resp.node_status && shown(resp.node_status, ctx.debug)) {
        ctx.err.write(c.escape(`${nodeStatusLine(resp, resp.node_status, ctx)}\n`));
      }
    },
    end() {
      tw.flush();
    },
  };
}

// ---- json ----

export function jsonpbPrinter(opts: PrinterOptions): FlowPrinter {
  const ctx = context(opts, false);
  return {
    write(resp) {
      if (resp.flow || resp.lost_events) ctx.out.write(`${toJsonpb(resp)}\n`);
      else if (resp.node_status && shown(resp.node_status, ctx.debug)) ctx.err.write(`${toJsonpb(resp)}\n`);
    },
    end() {},
  };
}

export function legacyJsonPrinter(opts: PrinterOptions): FlowPrinter {
  const ctx = context(opts, false);
  return {
    write(resp) {
      const text = toLegacyJson(resp);
      if (text !== undefined) ctx.out.write(`${text}\n`);
    },
    end() {},
  };
}
