// Writes GetFlowsResponse records as `hubble observe -o jsonpb` does: one protojson object per line.
import type { GetFlowsResponse } from '../../flows/types.ts';
import { protojsonSerializer, type ProtojsonSerializer } from './protojson.ts';

let response: ProtojsonSerializer | undefined;
let flow: ProtojsonSerializer | undefined;
let lostEvent: ProtojsonSerializer | undefined;

// The CLI prints through Go's json.Encoder, which re-escapes HTML-significant characters and the JavaScript
// line separators inside the protojson text. They can only occur inside strings, so a pass over the whole
// line is exact.
const GO_ENCODER_ESCAPES = /[<>&\u2028\u2029]/g;
const GO_ESCAPE_TEXT: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

function goEncoderEscape(json: string): string {
  // indexOf scans are several times cheaper than one regex test over a whole line, and nearly always miss.
  if (json.indexOf('<') === -1 && json.indexOf('>') === -1 && json.indexOf('&') === -1 && json.indexOf('\u2028') === -1 && json.indexOf('\u2029') === -1) {
    return json;
  }
  return json.replace(GO_ENCODER_ESCAPES, (c) => GO_ESCAPE_TEXT[c]!);
}

/**
 * One line of `hubble observe -o jsonpb` (and of the Hubble exporter), without the trailing newline: keys in
 * proto declaration order, unknown keys dropped, proto3 defaults omitted, wrappers (is_reply, cpu) kept even
 * when false/0, enums as names, 64-bit integers as strings, timestamps in canonical RFC 3339 UTC.
 */
export function toJsonpb(resp: GetFlowsResponse): string {
  response ??= protojsonSerializer('observer.GetFlowsResponse');
  return goEncoderEscape(response(resp));
}

/** `hubble observe -o json`: an alias of jsonpb in every CLI since v0.11. */
export const toJson = toJsonpb;

/**
 * `-o json` under HUBBLE_COMPAT=legacy-json-output: the bare Flow (or LostEvent) object; node status
 * events print nothing in that mode, hence undefined.
 */
export function toLegacyJson(resp: GetFlowsResponse): string | undefined {
  if (resp.flow != null) {
    flow ??= protojsonSerializer('flow.Flow');
    return goEncoderEscape(flow(resp.flow));
  }
  if (resp.lost_events != null) {
    lostEvent ??= protojsonSerializer('flow.LostEvent');
    return goEncoderEscape(lostEvent(resp.lost_events));
  }
  return undefined;
}
