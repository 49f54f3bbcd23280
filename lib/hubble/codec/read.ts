// Reads Hubble flow exports (hubble observe -o jsonpb/json, the Hubble exporter, legacy bare-Flow JSON) into GetFlowsResponse records.
import type { GetFlowsResponse } from '../../flows/types.ts';
import { mayHaveJsonNames, toProtoNames } from './json-names.ts';
import { openLines, type LineOptions, type ReadInput } from './lines.ts';
import { enumValueName, integerText } from './protojson.ts';
import { enumValues } from '../filter/tables.ts';
import { parseTimestamp } from '../grpc/timestamp.ts';

export interface MalformedLine {
  /** 1-based line number in the (decompressed) input. */
  line: number;
  reason: string;
}

/** What a read saw: filled in while reading, complete once the iterator ends. */
export interface ReadStats {
  /** The path read, or `<stdin>` / `<stream>`. */
  source: string;
  /** Every line, empty ones included. */
  lines: number;
  /** GetFlowsResponse records produced (flows, lost_events, node_status). */
  records: number;
  /** Records that carry a flow. */
  flows: number;
  /** Exporter agent_event / debug_event lines: recognised, not flows, left out. */
  skipped: number;
  /** Lines that are not a usable record. */
  malformed: number;
  /** The first MAX_MALFORMED_SAMPLES malformed lines, in input order. */
  firstMalformed: MalformedLine[];
  /** The line of the last record read: where a read that fails midway stopped being good. */
  lastRecordLine: number;
  /** What the lines that were no record looked like: the diagnosis when nothing could be read. */
  shapes: LineShapes;
  /** Enum names this version does not know, by `field=value`: kept for forward compatibility, never silently. */
  unknownValues: Map<string, UnknownEnumValue>;
}

export interface LineShapes {
  /** Lines of pretty-printed JSON: a lone brace or bracket, or a `"key": value` line of a record spread over many. */
  prettyPrinted: number;
  /** JSON arrays: a whole array on one line, or the `[` opening a pretty-printed one. */
  arrays: number;
  /** JSON objects that are no Hubble record, by their sorted top-level keys (at most MAX_SHAPE_KEYS sets). */
  otherRecords: Map<string, number>;
  /** The first line that was not empty starts with `[`. */
  startsWithArray: boolean;
  nonEmpty: number;
}

export interface UnknownEnumValue {
  field: string;
  value: string;
  count: number;
  lines: number[];
}

export const MAX_MALFORMED_SAMPLES = 10;
const MAX_SHAPE_KEYS = 20;
const MAX_UNKNOWN_VALUES = 100;
const UNKNOWN_VALUE_LINES = 5;

export type { LineOptions as ReadOptions, ReadInput } from './lines.ts';

export function createReadStats(): ReadStats {
  return {
    source: '',
    lines: 0,
    records: 0,
    flows: 0,
    skipped: 0,
    malformed: 0,
    firstMalformed: [],
    lastRecordLine: 0,
    shapes: { prettyPrinted: 0, arrays: 0, otherRecords: new Map(), startsWithArray: false, nonEmpty: 0 },
    unknownValues: new Map(),
  };
}

/**
 * Adds the statistics of a later part of the same input (read with its own stats, numbering lines from where the
 * earlier parts ended): counts add up, samples keep input order and their caps, as one read of the whole would.
 */
export function mergeReadStats(into: ReadStats, from: ReadStats): void {
  into.source ||= from.source;
  into.lines = Math.max(into.lines, from.lines);
  into.records += from.records;
  into.flows += from.flows;
  into.skipped += from.skipped;
  into.malformed += from.malformed;
  for (const m of from.firstMalformed) if (into.firstMalformed.length < MAX_MALFORMED_SAMPLES) into.firstMalformed.push(m);
  if (from.lastRecordLine > 0) into.lastRecordLine = from.lastRecordLine;
  const a = into.shapes;
  const b = from.shapes;
  a.prettyPrinted += b.prettyPrinted;
  a.arrays += b.arrays;
  for (const [keys, n] of b.otherRecords) {
    const have = a.otherRecords.get(keys);
    if (have !== undefined) a.otherRecords.set(keys, have + n);
    else if (a.otherRecords.size < MAX_SHAPE_KEYS) a.otherRecords.set(keys, n);
  }
  if (a.nonEmpty === 0) a.startsWithArray = b.startsWithArray;
  a.nonEmpty += b.nonEmpty;
  for (const [key, v] of from.unknownValues) {
    const have = into.unknownValues.get(key);
    if (have) {
      have.count += v.count;
      for (const line of v.lines) if (have.lines.length < UNKNOWN_VALUE_LINES) have.lines.push(line);
    } else if (into.unknownValues.size < MAX_UNKNOWN_VALUES) into.unknownValues.set(key, { ...v, lines: [...v.lines] });
  }
}

/** A user-facing account of the malformed lines, or '' when there were none. */
export function describeMalformed(stats: ReadStats): string {
  if (stats.malformed === 0) return '';
  const where = stats.source ? ` in ${stats.source}` : '';
  const noun = stats.malformed === 1 ? 'line' : 'lines';
  const head = `${stats.malformed} malformed ${noun}${where} skipped (${stats.records} records read):`;
  const shown = stats.firstMalformed.map((m) => `  line ${m.line}: ${m.reason}`);
  const more = stats.malformed - stats.firstMalformed.length;
  if (more > 0) shown.push(`  … and ${more} more`);
  return [head, ...shown].join('\n');
}

/**
 * Reads one GetFlowsResponse per line from a path (`-` is stdin) or a stream, gzip or plain (detected by its
 * magic bytes). Bare Flow lines are wrapped as {flow, node_name, time}; exporter agent/debug events are counted
 * as skipped; malformed lines are counted and sampled in `stats`, never fatal. A file that cannot be read
 * throws InputError naming it, after every record before the failure has been yielded.
 */
export async function* readResponses(input: ReadInput, stats: ReadStats = createReadStats(), options: LineOptions = {}): AsyncGenerator<GetFlowsResponse> {
  for await (const batch of readResponseBatches(input, stats, options)) {
    for (let i = 0; i < batch.length; i++) yield batch[i]!;
  }
}

/** As readResponses, one array per input chunk: cheaper for consumers that handle many records at once. */
export async function* readResponseBatches(
  input: ReadInput,
  stats: ReadStats = createReadStats(),
  options: LineOptions = {},
): AsyncGenerator<GetFlowsResponse[]> {
  for await (const batch of readBatches(input, stats, false, options)) yield batch.records;
}

/** Records with the text of the lines they came from. */
export interface ResponseBatch {
  records: GetFlowsResponse[];
  /**
   * lines[i] is the line records[i] was parsed from, when records[i] is exactly JSON.parse of it; undefined
   * when the reader had to change what it parsed (a bare Flow wrapped in a response, enum numbers named,
   * 64-bit numbers turned into strings).
   */
  lines: (string | undefined)[];
}

/** As readResponseBatches, with each record's source line: lets a writer reuse text that needs no rewriting. */
export function readResponseLineBatches(input: ReadInput, stats: ReadStats = createReadStats(), options: LineOptions = {}): AsyncGenerator<ResponseBatch> {
  return readBatches(input, stats, true, options);
}

async function* readBatches(input: ReadInput, stats: ReadStats, keepLines: boolean, options: LineOptions): AsyncGenerator<ResponseBatch> {
  const opened = await openLines(input, options);
  stats.source = opened.source;
  let batch: ResponseBatch = { records: [], lines: [] };
  const sink = {
    line: (text: string, lineNo: number) => {
      stats.lines = lineNo;
      handleLine(text, lineNo, stats, batch.records, keepLines ? batch.lines : undefined);
    },
    // A line over the length cap, or trailing garbage after gzip data: never parsed, counted as malformed.
    malformed: (lineNo: number, reason: string) => {
      stats.malformed++;
      if (stats.firstMalformed.length < MAX_MALFORMED_SAMPLES) stats.firstMalformed.push({ line: lineNo, reason });
    },
  };
  try {
    for await (const lines of opened.read(sink, stats.lines)) {
      stats.lines = lines;
      if (batch.records.length > 0) {
        yield batch;
        batch = { records: [], lines: [] };
      }
    }
  } catch (err) {
    // The lines split before the failure are good: hand their records on before the error.
    if (batch.records.length > 0) yield batch;
    throw err;
  }
}

/** A parsed record, an empty line, a recognised non-flow exporter line, or a malformed line and why. */
export type LineOutcome = GetFlowsResponse | 'empty' | 'skipped' | { malformed: string };

/**
 * Classifies one line of text. Exposed for readers of other transports (a pipe already split into lines);
 * readResponses is the usual entry point.
 */
export function parseResponseLine(text: string): LineOutcome {
  rewritten = false;
  unknownSeen.length = 0;
  otherKeys = undefined;
  if (text.length === 0 || (text.charCodeAt(0) !== 0x7b && text.trim() === '')) return 'empty';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { malformed: `not JSON (${errorText(err)})` };
  }
  if (!isObject(value)) return { malformed: `not a JSON object (got ${kindOf(value)})` };
  // JSON.parse keeps the last of two equal keys; protojson refuses the line. The check is one walk over the parsed
  // value: a line as compact as its value (hubble's own) has no key twice, and only other lines are scanned.
  const compact = compactLength(value);
  if (compact === -1) return { malformed: `nested too deep (more than ${MAX_NESTING} levels)` };
  // A line with more keys than its value has keys held one twice; only then is it scanned for which.
  if (compact !== text.length && keysInText(text) !== keysInValue) {
    const twice = keyTwice(text);
    if (twice !== undefined) return { malformed: `duplicate field "${twice}" (protojson refuses a field given twice)` };
  }
  // protojson also reads fields by their JSON names (nodeName, isReply), as grpcurl and other tools write them.
  if (mayHaveJsonNames(text) && toProtoNames(value, isResponseLike(value) ? 'observer.ExportEvent' : 'flow.Flow')) rewritten = true;
  sawNull = false;
  const outcome = classify(value);
  // protojson reads null as "not set" for any field (google.protobuf.Value aside, which Hubble records lack). The
  // checks note a null where they meet one; only then is the record walked to drop them all.
  if (sawNull && typeof outcome === 'object' && !('malformed' in outcome)) {
    const dropped = dropNulls(value);
    if (dropped === 'too deep') return { malformed: `nested too deep (more than ${MAX_NESTING} levels)` };
    if (dropped) rewritten = true;
  }
  return outcome;
}

/**
 * The length of the most compact JSON text of a parsed value, as JSON.stringify writes it, counting strings as if
 * nothing in them needed escaping; -1 when the value nests deeper than MAX_NESTING. A line of that length holds
 * nothing but the value: no whitespace, no escapes and no key given twice (JSON.parse keeps one of two, so the text
 * would be longer). Numbers count in their shortest form, so that one written long (`8080.0`) cannot make up for a
 * key given twice; their long forms only send a line to the full scan. The walk keeps its own stack, as dropNulls.
 */
function compactLength(root: Record<string, unknown>): number {
  let n = 0;
  keysInValue = 0;
  const containers: object[] = [root];
  const depths: number[] = [1];
  for (let c = containers.pop(); c !== undefined; c = containers.pop()) {
    const depth = depths.pop()!;
    if (depth > MAX_NESTING) return -1;
    if (Array.isArray(c)) {
      n += c.length === 0 ? 2 : 1 + c.length;
      for (let i = 0; i < c.length; i++) {
        const v: unknown = c[i];
        if (typeof v === 'string') n += v.length + 2;
        else if (typeof v === 'object' && v !== null) {
          containers.push(v);
          depths.push(depth + 1);
        } else n += primitiveLength(v);
      }
    } else {
      const obj = c as Record<string, unknown>;
      let keys = 0;
      for (const key in obj) {
        keys++;
        const v = obj[key];
        n += key.length + 3;
        if (typeof v === 'string') n += v.length + 2;
        else if (typeof v === 'object' && v !== null) {
          containers.push(v);
          depths.push(depth + 1);
        } else n += primitiveLength(v);
      }
      n += keys === 0 ? 2 : 1 + keys;
      keysInValue += keys;
    }
  }
  return n;
}

/** The keys of every object of the value compactLength last walked. */
let keysInValue = 0;

/**
 * The keys written in a line JSON.parse has accepted: the strings a colon follows. A key given twice in one object
 * is one key of the parsed value, so the line has more keys than its value exactly when some object repeats one.
 */
function keysInText(text: string): number {
  let keys = 0;
  for (let open = text.indexOf('"'); open !== -1;) {
    // The closing quote: the next one not escaped (preceded by an even number of backslashes).
    let close = text.indexOf('"', open + 1);
    for (;;) {
      let slashes = 0;
      while (text.charCodeAt(close - 1 - slashes) === 0x5c) slashes++;
      if (slashes % 2 === 0) break;
      close = text.indexOf('"', close + 1);
    }
    let next = close + 1;
    let c = text.charCodeAt(next);
    while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = text.charCodeAt(++next);
    if (c === 0x3a /* : */) keys++;
    open = text.indexOf('"', next);
  }
  return keys;
}

function primitiveLength(v: unknown): number {
  if (typeof v === 'number') return shortestNumberLength(v);
  if (typeof v === 'boolean') return v ? 4 : 5;
  return 4; // null
}

/** The fewest characters any JSON number equal to n can be written in (`1e3` for 1000). */
function shortestNumberLength(n: number): number {
  // An integer's exponent form is shorter only with three or more trailing zeros.
  if (Number.isInteger(n) && n >= 0 && n < 1e15 && (n % 1000 !== 0 || n === 0)) {
    let digits = 1;
    for (let p = 10; n >= p; p *= 10) digits++;
    return digits;
  }
  return Math.min(String(n).length, n.toExponential().replace('e+', 'e').length);
}

/**
 * The first key that occurs twice in one object of a line JSON.parse has accepted, decoded; undefined when none
 * does. A scan of the text: strings are skipped by their quotes, containers tracked on a stack.
 */
function keyTwice(text: string): string | undefined {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j++;
        } else if (d === 0x22) break;
      }
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return undefined;
}

// Keys of a GetFlowsResponse (or exporter line) that a Flow does not have, under either name.
const RESPONSE_KEYS = ['flow', 'lost_events', 'lostEvents', 'node_status', 'nodeStatus', 'agent_event', 'agentEvent', 'debug_event', 'debugEvent'];

function isResponseLike(obj: Record<string, unknown>): boolean {
  return RESPONSE_KEYS.some((k) => Object.hasOwn(obj, k));
}

function handleLine(text: string, lineNo: number, stats: ReadStats, batch: GetFlowsResponse[], lines: (string | undefined)[] | undefined): void {
  // Editors on Windows may start a file with a byte order mark.
  if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const outcome = parseResponseLine(text);
  if (outcome === 'empty') return;
  if (stats.shapes.nonEmpty++ === 0 && text.trimStart().startsWith('[')) stats.shapes.startsWithArray = true;
  if (outcome === 'skipped') {
    stats.skipped++;
    return;
  }
  if ('malformed' in outcome && typeof outcome.malformed === 'string') {
    stats.malformed++;
    if (stats.firstMalformed.length < MAX_MALFORMED_SAMPLES) stats.firstMalformed.push({ line: lineNo, reason: outcome.malformed });
    noteShape(stats.shapes, text);
    return;
  }
  const resp = outcome as GetFlowsResponse;
  stats.records++;
  stats.lastRecordLine = lineNo;
  if (unknownSeen.length > 0) {
    for (const [field, value] of unknownSeen) noteUnknown(stats.unknownValues, field, value, lineNo);
    unknownSeen.length = 0;
  }
  if (resp.flow !== undefined) stats.flows++;
  batch.push(resp);
  if (lines !== undefined) lines.push(rewritten ? undefined : text);
}

/** Set while classifying a line when the record is not JSON.parse of the line as it stands. */
let rewritten = false;
/** Enum names of the line being classified that this version does not know, as [field, value]. */
const unknownSeen: [string, string][] = [];
/** The top-level keys of the line being classified when it was a JSON object but no Hubble record. */
let otherKeys: string | undefined;

const PRETTY_LINE = /^\s*(?:[{}[\]],?|"[^"]*"\s*:.*)$/;

function noteShape(shapes: LineShapes, text: string): void {
  if (otherKeys !== undefined) {
    const n = shapes.otherRecords.get(otherKeys);
    if (n !== undefined) shapes.otherRecords.set(otherKeys, n + 1);
    else if (shapes.otherRecords.size < MAX_SHAPE_KEYS) shapes.otherRecords.set(otherKeys, 1);
    otherKeys = undefined;
    return;
  }
  const t = text.trimStart();
  if (t.startsWith('[')) shapes.arrays++;
  else if (PRETTY_LINE.test(text)) shapes.prettyPrinted++;
}

function noteUnknown(values: Map<string, UnknownEnumValue>, field: string, value: string, lineNo: number): void {
  const key = `${field}=${value}`;
  let u = values.get(key);
  if (!u) {
    if (values.size >= MAX_UNKNOWN_VALUES) return;
    u = { field, value, count: 0, lines: [] };
    values.set(key, u);
  }
  u.count++;
  if (u.lines.length < UNKNOWN_VALUE_LINES) u.lines.push(lineNo);
}

// Keys only a Flow has (a GetFlowsResponse shares node_name and time): enough to recognise legacy bare-Flow lines.
const BARE_FLOW_KEYS = new Set([
  'uuid',
  'verdict',
  'IP',
  'l4',
  'source',
  'destination',
  'Type',
  'event_type',
  'Summary',
  'ethernet',
  'l7',
  'is_reply',
  'traffic_direction',
  'drop_reason_desc',
  'trace_observation_point',
  'source_names',
  'destination_names',
  'emitter',
  'interface',
  'drop_reason',
  'reply',
]);

function classify(obj: Record<string, unknown>): LineOutcome {
  if (obj.flow != null) {
    const err = checkResponseHeader(obj) ?? (isObject(obj.flow) ? checkFlow(obj.flow, 'flow') : `flow: expected an object, got ${kindOf(obj.flow)}`);
    return err === undefined ? (obj as GetFlowsResponse) : { malformed: err };
  }
  if (obj.lost_events != null) {
    const err = checkResponseHeader(obj) ?? checkLostEvents(obj.lost_events);
    return err === undefined ? (obj as GetFlowsResponse) : { malformed: err };
  }
  if (obj.node_status != null) {
    const err = checkResponseHeader(obj) ?? checkNodeStatus(obj.node_status);
    return err === undefined ? (obj as GetFlowsResponse) : { malformed: err };
  }
  if (obj.agent_event != null || obj.debug_event != null) return 'skipped';
  for (const key in obj) {
    if (BARE_FLOW_KEYS.has(key)) {
      const err = checkFlow(obj, 'flow');
      if (err !== undefined) return { malformed: err };
      rewritten = true;
      const resp: GetFlowsResponse = { flow: obj };
      if (typeof obj.node_name === 'string') resp.node_name = obj.node_name;
      if (typeof obj.time === 'string') resp.time = obj.time;
      return resp;
    }
  }
  const keys = Object.keys(obj).sort();
  otherKeys = keys.slice(0, 8).join(', ') + (keys.length > 8 ? ', …' : '');
  return { malformed: `no known record (keys: ${otherKeys || 'none'}): expected "flow", "lost_events" or "node_status" (or a bare Flow)` };
}

// --- checks of the fields the rest of the project reads; anything else passes through untouched ---

/** Set by the checks when a field they look at is null. */
let sawNull = false;

/** A null field value is taken as not set (and noted, so the record's nulls are dropped); anything else as is. */
function present(v: unknown): boolean {
  if (v === null) {
    sawNull = true;
    return false;
  }
  return v !== undefined;
}

// The field values are read at each call site (f.time, ep.labels): a property load per site stays fast, where one
// helper loading obj[key] for every key would see every shape and key of the record and slow to a hash lookup.
// The helpers only write back (obj[key] = …) on the rare paths that normalise a value.

function checkResponseHeader(obj: Record<string, unknown>): string | undefined {
  return str(obj.node_name, 'node_name') ?? time(obj.time, 'time');
}

function checkFlow(f: Record<string, unknown>, at: string): string | undefined {
  let e =
    time(f.time, `${at}.time`) ??
    str(f.uuid, at, 'uuid') ??
    enumValue(f, 'verdict', f.verdict, 'flow.Verdict', at) ??
    enumValue(f, 'Type', f.Type, 'flow.FlowType', at) ??
    str(f.node_name, at, 'node_name') ??
    enumValue(f, 'traffic_direction', f.traffic_direction, 'flow.TrafficDirection', at) ??
    enumValue(f, 'drop_reason_desc', f.drop_reason_desc, 'flow.DropReason', at) ??
    enumValue(f, 'trace_observation_point', f.trace_observation_point, 'flow.TraceObservationPoint', at) ??
    enumValue(f, 'trace_reason', f.trace_reason, 'flow.TraceReason', at) ??
    enumValue(f, 'auth_type', f.auth_type, 'flow.AuthType', at) ??
    str(f.Summary, at, 'Summary') ??
    bool(f.is_reply, at, 'is_reply') ??
    strList(f.source_names, at, 'source_names') ??
    strList(f.destination_names, at, 'destination_names');
  if (e !== undefined) return e;
  const ip = f.IP;
  if (present(ip)) {
    if (!isObject(ip)) return expected(`${at}.IP`, 'an object', ip);
    e = str(ip.source, at, 'IP.source') ?? str(ip.destination, at, 'IP.destination') ?? enumValue(ip, 'ipVersion', ip.ipVersion, 'flow.IPVersion', `${at}.IP`);
    if (e !== undefined) return e;
  }
  if (present(f.l4)) {
    e = checkL4(f.l4, `${at}.l4`);
    if (e !== undefined) return e;
  }
  e = checkEndpoint(f.source, `${at}.source`) ?? checkEndpoint(f.destination, `${at}.destination`);
  if (e !== undefined) return e;
  const et = f.event_type;
  if (present(et)) {
    if (!isObject(et)) return expected(`${at}.event_type`, 'an object', et);
    e = num(et, 'type', et.type, at, 'event_type.type', INT32) ?? num(et, 'sub_type', et.sub_type, at, 'event_type.sub_type', INT32);
    if (e !== undefined) return e;
  }
  if (present(f.l7)) return checkL7(f.l7, `${at}.l7`);
  return undefined;
}

function checkPorts(p: unknown, at: string, proto: string): string | undefined {
  if (!present(p)) return undefined;
  if (!isObject(p)) return expected(`${at}.${proto}`, 'an object', p);
  return (
    num(p, 'source_port', p.source_port, at, `${proto}.source_port`, UINT32) ??
    num(p, 'destination_port', p.destination_port, at, `${proto}.destination_port`, UINT32)
  );
}

function checkL4(l4: unknown, at: string): string | undefined {
  if (!isObject(l4)) return expected(at, 'an object', l4);
  const tcp = l4.TCP;
  const e = checkPorts(tcp, at, 'TCP') ?? checkPorts(l4.UDP, at, 'UDP') ?? checkPorts(l4.SCTP, at, 'SCTP');
  if (e !== undefined) return e;
  if (isObject(tcp) && present(tcp.flags) && !isObject(tcp.flags)) return expected(`${at}.TCP.flags`, 'an object', tcp.flags);
  return undefined;
}

function checkEndpoint(ep: unknown, at: string): string | undefined {
  if (!present(ep)) return undefined;
  if (!isObject(ep)) return expected(at, 'an object', ep);
  const e =
    num(ep, 'ID', ep.ID, at, 'ID', UINT32) ??
    num(ep, 'identity', ep.identity, at, 'identity', UINT32) ??
    str(ep.namespace, at, 'namespace') ??
    str(ep.pod_name, at, 'pod_name') ??
    str(ep.cluster_name, at, 'cluster_name') ??
    strList(ep.labels, at, 'labels');
  if (e !== undefined) return e;
  const workloads = ep.workloads;
  if (present(workloads)) {
    if (!Array.isArray(workloads)) return expected(`${at}.workloads`, 'an array', workloads);
    for (let i = 0; i < workloads.length; i++) {
      const w: unknown = workloads[i];
      if (!isObject(w)) return expected(`${at}.workloads[${i}]`, 'an object', w);
      const we = str(w.name, at, `workloads[${i}].name`) ?? str(w.kind, at, `workloads[${i}].kind`);
      if (we !== undefined) return we;
    }
  }
  return undefined;
}

function checkL7(l7: unknown, at: string): string | undefined {
  if (!isObject(l7)) return expected(at, 'an object', l7);
  let e = enumValue(l7, 'type', l7.type, 'flow.L7FlowType', at) ?? uint64(l7, 'latency_ns', l7.latency_ns, at);
  if (e !== undefined) return e;
  const h = l7.http;
  if (present(h)) {
    if (!isObject(h)) return expected(`${at}.http`, 'an object', h);
    e =
      num(h, 'code', h.code, at, 'http.code', UINT32) ?? str(h.method, at, 'http.method') ?? str(h.url, at, 'http.url') ?? str(h.protocol, at, 'http.protocol');
    if (e !== undefined) return e;
    if (present(h.headers) && !Array.isArray(h.headers)) return expected(`${at}.http.headers`, 'an array', h.headers);
  }
  const d = l7.dns;
  if (present(d)) {
    if (!isObject(d)) return expected(`${at}.dns`, 'an object', d);
    e =
      str(d.query, at, 'dns.query') ??
      num(d, 'rcode', d.rcode, at, 'dns.rcode', UINT32) ??
      strList(d.ips, at, 'dns.ips') ??
      strList(d.qtypes, at, 'dns.qtypes');
    if (e !== undefined) return e;
  }
  return undefined;
}

function checkLostEvents(v: unknown): string | undefined {
  if (!isObject(v)) return expected('lost_events', 'an object', v);
  return (
    enumValue(v, 'source', v.source, 'flow.LostEventSource', 'lost_events') ??
    uint64(v, 'num_events_lost', v.num_events_lost, 'lost_events') ??
    num(v, 'cpu', v.cpu, 'lost_events', 'cpu', INT32) ??
    time(v.first, 'lost_events.first') ??
    time(v.last, 'lost_events.last')
  );
}

function checkNodeStatus(v: unknown): string | undefined {
  if (!isObject(v)) return expected('node_status', 'an object', v);
  return (
    knownEnum(v, 'state_change', v.state_change, 'relay.NodeState', 'node_status') ??
    strList(v.node_names, 'node_status', 'node_names') ??
    str(v.message, 'node_status', 'message')
  );
}

/**
 * How deep a record may nest. A Hubble record nests about 6 levels (flow.l7.http.headers[].key); 100 leaves room
 * for fields to come. Go's protojson allows 10,000, but JSON.stringify, which the writers use, overflows the
 * stack at a few thousand, so a record that deep could be read here and then break every output of it.
 */
const MAX_NESTING = 100;

/**
 * Deletes the keys whose value is null, at every depth (protojson reads null as "not set" for any field;
 * google.protobuf.Value aside, which Hubble records lack); true if there were any, 'too deep' when the record
 * nests deeper than MAX_NESTING. Nulls inside lists stay (and fail). The walk keeps its own stack: a line
 * nested thousands deep must not overflow the call stack and end the read.
 */
function dropNulls(root: Record<string, unknown>): boolean | 'too deep' {
  let dropped = false;
  const objects: Record<string, unknown>[] = [root];
  const depths: number[] = [1];
  for (let obj = objects.pop(); obj !== undefined; obj = objects.pop()) {
    const depth = depths.pop()!;
    if (depth > MAX_NESTING) return 'too deep';
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      if (v === null) {
        delete obj[key];
        dropped = true;
      } else if (Array.isArray(v)) {
        for (const item of v) {
          if (isObject(item)) {
            objects.push(item);
            depths.push(depth + 2);
          }
        }
      } else if (isObject(v)) {
        objects.push(v);
        depths.push(depth + 1);
      }
    }
  }
  return dropped;
}

function str(v: unknown, at: string, label?: string): string | undefined {
  return typeof v === 'string' || !present(v) ? undefined : expected(label ? `${at}.${label}` : at, 'a string', v);
}

// protojson reads a 32-bit integer from a JSON number or from a string holding one ("80", "8e1"), as long as its
// value is a whole number in the field's range ("80.0" is 80; "1.5", -1 for a uint32 and 2^32 are rejected).
const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

interface IntRange {
  name: string;
  min: number;
  max: number;
}
const UINT32: IntRange = { name: 'uint32', min: 0, max: 2 ** 32 - 1 };
const INT32: IntRange = { name: 'int32', min: -(2 ** 31), max: 2 ** 31 - 1 };

function num(obj: Record<string, unknown>, key: string, v: unknown, at: string, label: string, range: IntRange): string | undefined {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= range.min && v <= range.max) return undefined;
    return `${at}.${label}: ${v} is not a valid ${range.name} (${Number.isInteger(v) ? 'out of range' : 'not a whole number'})`;
  }
  if (!present(v)) return undefined;
  if (typeof v === 'string' && NUMBER_TEXT.test(v)) {
    const n = Number(v);
    if (!Number.isInteger(n) || n < range.min || n > range.max) {
      return `${at}.${label}: ${JSON.stringify(v)} is not a valid ${range.name} (${Number.isInteger(n) ? 'out of range' : 'not a whole number'})`;
    }
    obj[key] = n;
    rewritten = true;
    return undefined;
  }
  return expected(`${at}.${label}`, 'a number', v);
}

// protojson reads a Timestamp as RFC 3339 with an upper-case T and Z (or an offset), at most 9 fractional digits,
// from year 1 to 9999. Consecutive records share their second: its check is remembered.
const RFC3339_STRICT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)$/;
let lastGoodSecond = '';

/** `.d…dZ` (1 to 9 digits) or `Z` from index 19: the rest of a UTC timestamp whose second was already checked. */
function utcFraction(v: string): boolean {
  const n = v.length;
  if (v.charCodeAt(n - 1) !== 0x5a /* Z */) return false;
  if (n === 20) return true;
  if (v.charCodeAt(19) !== 0x2e /* . */ || n > 30 || n < 22) return false;
  for (let i = 20; i < n - 1; i++) {
    const d = v.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return false;
  }
  return true;
}

function time(v: unknown, label: string): string | undefined {
  if (typeof v === 'string') {
    if (lastGoodSecond.length > 0 && v.startsWith(lastGoodSecond) && utcFraction(v)) return undefined;
    if (RFC3339_STRICT.test(v) && !v.startsWith('0000') && parseTimestamp(v) !== undefined) {
      if (v.endsWith('Z')) lastGoodSecond = v.slice(0, 19);
      return undefined;
    }
    return `${label}: ${kindOf(v)} is not an RFC 3339 timestamp`;
  }
  return present(v) ? expected(label, 'an RFC 3339 timestamp string', v) : undefined;
}

function bool(v: unknown, at: string, label: string): string | undefined {
  return typeof v === 'boolean' || !present(v) ? undefined : expected(`${at}.${label}`, 'a boolean', v);
}

function strList(v: unknown, at: string, label: string): string | undefined {
  if (!present(v)) return undefined;
  if (!Array.isArray(v)) return expected(`${at}.${label}`, 'an array of strings', v);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'string') return expected(`${at}.${label}[${i}]`, 'a string', v[i]);
  }
  return undefined;
}

/**
 * protojson writes 64-bit integers as strings but accepts numbers, and strings in any number syntax ("1e3"):
 * both are normalised to the decimal string.
 */
function uint64(obj: Record<string, unknown>, key: string, v: unknown, at: string): string | undefined {
  if (!present(v)) return undefined;
  if (typeof v === 'string' && CANONICAL_UINT.test(v)) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
    obj[key] = String(v);
    rewritten = true;
    return undefined;
  }
  const text = typeof v === 'string' ? integerText(v) : undefined;
  if (text !== undefined && !text.startsWith('-')) {
    obj[key] = text;
    rewritten = true;
    return undefined;
  }
  return expected(`${at}.${key}`, 'an unsigned integer string', v);
}

const CANONICAL_UINT = /^(?:0|[1-9]\d*)$/;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Enums are names, but protojson also accepts their numbers: a known number becomes its name; an unknown one
 * stays a number, as Go keeps it. Unknown names pass too: exports from newer Cilium carry values we do not know.
 */
function enumValue(obj: Record<string, unknown>, key: string, v: unknown, enumName: string, at: string): string | undefined {
  if (typeof v === 'string') {
    if (!knownName(enumName, v)) unknownSeen.push([`${at}.${key}`, v]);
    return undefined;
  }
  if (!present(v)) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) {
    const name = enumValueName(enumName, v);
    if (name !== undefined) {
      obj[key] = name;
      rewritten = true;
    } else unknownSeen.push([`${at}.${key}`, String(v)]);
    return undefined;
  }
  return expected(`${at}.${key}`, 'an enum name or number', v);
}

const knownNames = new Map<string, Set<string>>();

function knownName(enumName: string, value: string): boolean {
  let names = knownNames.get(enumName);
  if (!names) {
    names = new Set(Object.keys(enumValues(enumName)));
    knownNames.set(enumName, names);
  }
  return names.has(value);
}

/** An enum whose unknown names cannot be carried on: a node state no version names is no state at all. */
function knownEnum(obj: Record<string, unknown>, key: string, v: unknown, enumName: string, at: string): string | undefined {
  if (typeof v === 'string' && !Object.hasOwn(enumValues(enumName), v)) return `${at}.${key}: unknown ${enumName} ${JSON.stringify(v)}`;
  return enumValue(obj, key, v, enumName, at);
}

function expected(path: string, what: string, got: unknown): string {
  return `${path}: expected ${what}, got ${kindOf(got)}`;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
