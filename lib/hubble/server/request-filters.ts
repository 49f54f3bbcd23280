// The filters of one GetFlows request as a server compiles them for any client: bounded in number and size
// (INVALID_ARGUMENT beyond), and their regular expressions compiled one at a time with the event loop given back
// in between, so that no request holds the server while others wait.
import type { Flow, FlowFilter, GetFlowsRequest } from '../../flows/types.ts';
import { compileFilterRegex, compileFlowFilters, filterRegexes } from '../filter/match.ts';
import type { Re2 } from '../filter/re2.ts';
import { cpuSlicer } from './cpu-slice.ts';
import { ObserverError } from './source.ts';

/**
 * Hubble bounds a request only by gRPC's 4 MiB message size, which holds some 10,000 filters that each flow
 * of the ring would be matched against. These limits sit far above what `hubble observe` flags produce (a few
 * filters, tens of values) and keep one request's work per flow small.
 */
export const MAX_REQUEST_FILTERS = 256;
/** Values in all the request's filters together (each port, pod, label, pattern… counts one). */
export const MAX_REQUEST_FILTER_VALUES = 4096;

function valueCount(f: FlowFilter): number {
  let n = 0;
  for (const v of Object.values(f)) {
    if (Array.isArray(v)) n += v.length;
    else if (v !== undefined && v !== null && v !== false && v !== '' && v !== 0) n++;
  }
  return n;
}

/** Throws INVALID_ARGUMENT when the request asks for more filter work than a server takes. */
export function checkFilterBounds(req: GetFlowsRequest): void {
  const white = req.whitelist?.length ?? 0;
  const black = req.blacklist?.length ?? 0;
  if (white + black > MAX_REQUEST_FILTERS) {
    throw new ObserverError(
      'INVALID_ARGUMENT',
      `too many filters: ${white + black} (whitelist ${white}, blacklist ${black}); a request may have at most ${MAX_REQUEST_FILTERS}`,
    );
  }
  let values = 0;
  for (const f of [...(req.whitelist ?? []), ...(req.blacklist ?? [])]) values += valueCount(f);
  if (values > MAX_REQUEST_FILTER_VALUES) {
    throw new ObserverError('INVALID_ARGUMENT', `filters too large: ${values} values; a request's filters may hold at most ${MAX_REQUEST_FILTER_VALUES}`);
  }
}

/**
 * The request's whitelist − blacklist as a predicate. Rejects what checkFilterBounds rejects, and invalid values
 * as compileFlowFilters does; resolves undefined when the signal aborted while compiling (the client left).
 */
export async function compileRequestFilters(req: GetFlowsRequest, signal: AbortSignal): Promise<((flow: Flow) => boolean) | undefined> {
  checkFilterBounds(req);
  const regexes = new Map<string, Re2>();
  const slice = cpuSlicer({ checkEvery: 1 });
  for (const { field, pattern } of filterRegexes([...(req.whitelist ?? []), ...(req.blacklist ?? [])])) {
    if (regexes.has(pattern)) continue;
    regexes.set(pattern, compileFilterRegex(field, pattern));
    const pause = slice();
    if (pause) await pause;
    if (signal.aborted) return undefined;
  }
  return compileFlowFilters(req.whitelist, req.blacklist, regexes);
}
