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
 * False when `line` may have whitespace between its tokens, which json.Encoder (and toJsonpb) never write:
 * JSON from Python (`": "`, `", "`) or protojson's own output (a space after commas in some builds). Spaces
 * inside strings pass: only a space next to a token boundary is suspect, so "TCP Flags: ACK, FIN" is fine, and a
 * string that merely looks like a boundary is written afresh, which costs time, not correctness.
 */
function compact(line: string): boolean {
  // Raw tabs and carriage returns cannot be inside JSON strings: they are between tokens.
  if (line.indexOf('\t') !== -1 || line.indexOf('\r') !== -1) return false;
  for (let i = line.indexOf(' '); i !== -1; i = line.indexOf(' ', i + 1)) {
    const next = line.charCodeAt(i + 1);
    // } ] : , or another space next: whitespace before a token that closes or separates.
    if (next === 0x7d || next === 0x5d || next === 0x3a || next === 0x2c || next === 0x20) return false;
    const prev = line.charCodeAt(i - 1);
    if (prev === 0x7b || prev === 0x5b) return false;
    if (prev === 0x3a || prev === 0x2c) {
      // After : or , the space is between tokens when what comes before ends a token: a key or string (") before
      // a colon; a string, object, array, number or literal before a comma.
      const before = line.charCodeAt(i - 2);
      if (before === 0x22) return false;
      if (prev === 0x2c && (before === 0x7d || before === 0x5d || before === 0x65 || (before >= 0x30 && before <= 0x39))) return false;
    }
  }
  return true;
}

/**
 * toJsonpb(resp), given the line `resp` was parsed from (JSON.parse(sourceLine) must equal resp): the line
 * itself when it already is that jsonpb — only known fields, in declaration order, no defaults, strings
 * escaped as the writer escapes them, no whitespace between tokens — which skips re-serializing the records of
 * a canonical export.
 */
export function toJsonpbFromLine(resp: GetFlowsResponse, sourceLine: string | undefined): string {
  if (sourceLine !== undefined && sourceLine.charCodeAt(0) === 0x7b && sourceLine.charCodeAt(sourceLine.length - 1) === 0x7d) {
    responseIsCanonical ??= protojsonCanonicalCheck('observer.GetFlowsResponse');
    if (responseIsCanonical(resp) && stringsAsWritten(sourceLine) && compact(sourceLine)) return sourceLine;
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
