// Writes GetFlowsResponse records as `hubble observe -o jsonpb` does: one protojson object per line.
import type { GetFlowsResponse } from '../../flows/types.ts';
import { protojsonCanonicalCheck, protojsonSerializer, type ProtojsonCanonicalCheck, type ProtojsonSerializer } from './protojson.ts';

// The CLI prints protojson through Go's json.Encoder, which re-escapes <, >, & and U+2028/9 in strings.
const CLI_TEXT = { encoderEscapes: true };

let response: ProtojsonSerializer | undefined;
let responseIsCanonical: ProtojsonCanonicalCheck | undefined;
let flow: ProtojsonSerializer | undefined;
let lostEvent: ProtojsonSerializer | undefined;

/**
 * One line of `hubble observe -o jsonpb` (and of the Hubble exporter), without the trailing newline: keys in
 * proto declaration order, unknown keys dropped, proto3 defaults omitted, wrappers (is_reply, cpu) kept even
 * when false/0, enums as names, 64-bit integers as strings, timestamps in canonical RFC 3339 UTC.
 */
export function toJsonpb(resp: GetFlowsResponse): string {
  response ??= protojsonSerializer('observer.GetFlowsResponse', undefined, CLI_TEXT);
  return response(resp);
}

/** `hubble observe -o json`: an alias of jsonpb in every CLI since v0.11. */
export const toJson = toJsonpb;

// Escapes as JSON.stringify + Go's json.Encoder write them; any other escape (\/, \u0041, an escaped
// surrogate pair, \u000a for \n) is one the writer would not reproduce.
const ESCAPE_NOT_WRITTEN = /\\(?!["\\bfnrt]|u00(?:0[0-7bef]|1[0-9a-f]|3c|3e|26)|u202[89]|ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|ud[c-f][0-9a-f]{2})/;

/**
 * True when `line` holds its strings as toJsonpb writes them: no character the writer escapes written as
 * itself, no escape it would write differently.
 */
function stringsAsWritten(line: string): boolean {
  if (line.indexOf('<') !== -1 || line.indexOf('>') !== -1 || line.indexOf('&') !== -1) return false;
  if (line.indexOf('\u2028') !== -1 || line.indexOf('\u2029') !== -1) return false;
  return line.indexOf('\\') === -1 || !ESCAPE_NOT_WRITTEN.test(line);
}

/**
 * toJsonpb(resp), given the line `resp` was parsed from (JSON.parse(sourceLine) must equal resp): the line
 * itself when it already is that jsonpb — only known fields, in declaration order, no defaults, strings
 * escaped as the writer escapes them — which skips re-serializing the records of a canonical export.
 * The text may then differ from toJsonpb's in whitespace only.
 */
export function toJsonpbFromLine(resp: GetFlowsResponse, sourceLine: string | undefined): string {
  if (sourceLine !== undefined && sourceLine.charCodeAt(0) === 0x7b && sourceLine.charCodeAt(sourceLine.length - 1) === 0x7d) {
    responseIsCanonical ??= protojsonCanonicalCheck('observer.GetFlowsResponse');
    if (responseIsCanonical(resp) && stringsAsWritten(sourceLine)) return sourceLine;
  }
  return toJsonpb(resp);
}

/**
 * `-o json` under HUBBLE_COMPAT=legacy-json-output: the bare Flow (or LostEvent) object; node status
 * events print nothing in that mode, hence undefined.
 */
export function toLegacyJson(resp: GetFlowsResponse): string | undefined {
  if (resp.flow != null) {
    flow ??= protojsonSerializer('flow.Flow', undefined, CLI_TEXT);
    return flow(resp.flow);
  }
  if (resp.lost_events != null) {
    lostEvent ??= protojsonSerializer('flow.LostEvent', undefined, CLI_TEXT);
    return lostEvent(resp.lost_events);
  }
  return undefined;
}
