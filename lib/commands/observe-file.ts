// What `observe --input-file` prints, shared by the single-threaded read and the worker threads that read ranges of
// a large file: the record selection (time window, filters) and the printer, set up from plain data.
import type { GetFlowsRequest, GetFlowsResponse } from '../flows/types.ts';
import { toJsonpbFromLine } from '../hubble/codec/write.ts';
import { compileFlowFilters, NO_FLOW } from '../hubble/filter/match.ts';
import { parseTimestamp, timestampToNanos } from '../hubble/grpc/timestamp.ts';
import { createPrinter, type OutputFormat, type TextSink } from '../hubble/printer/printer.ts';
import type { ColorMode } from '../hubble/printer/terminal.ts';

/** Whether hubble would print a record of a file for this request: its time window and filters. */
export function recordSelector(req: GetFlowsRequest): (resp: GetFlowsResponse) => boolean {
  const matches = compileFlowFilters(req.whitelist, req.blacklist);
  const since = req.since === undefined ? undefined : timestampToNanos(parseTimestamp(req.since)!);
  const until = req.until === undefined ? undefined : timestampToNanos(parseTimestamp(req.until)!);
  return (resp) => {
    if (since !== undefined || until !== undefined) {
      // As hubble, the record's own time decides; a record without one is at the epoch.
      const t = resp.time === undefined ? undefined : parseTimestamp(resp.time);
      const ns = t === undefined ? 0n : timestampToNanos(t);
      if (since !== undefined && ns < since) return false;
      if (until !== undefined && ns > until) return false;
    }
    return matches(resp.flow ?? NO_FLOW);
  };
}

/** The output flags as plain data, so that a worker thread prints exactly as the main thread would. */
export interface PrintSettings {
  format: OutputFormat;
  timeFormat: string;
  nodeName: boolean;
  ipTranslation: boolean;
  color: ColorMode;
  debug: boolean;
  /** Whether standard output is a terminal (--color auto). */
  isTTY: boolean | undefined;
  env: NodeJS.ProcessEnv;
}

/** Writes what hubble prints for each record; `sourceLine` lets jsonpb reuse a line that is already canonical. */
export type RecordWriter = (resp: GetFlowsResponse, sourceLine?: string) => void;

export function recordWriter(settings: PrintSettings, out: (text: string) => void, err: TextSink): { write: RecordWriter; end(): void } {
  const printer = createPrinter(settings.format, {
    out: { write: out, isTTY: settings.isTTY },
    err,
    timeFormat: settings.timeFormat,
    nodeName: settings.nodeName,
    ipTranslation: settings.ipTranslation,
    color: settings.color,
    debug: settings.debug,
    env: settings.env,
  });
  const jsonpb = settings.format === 'jsonpb';
  return {
    write(resp, sourceLine) {
      // What the jsonpb printer prints for a flow, without serializing records that are already canonical.
      if (sourceLine !== undefined && jsonpb && resp.flow) out(`${toJsonpbFromLine(resp, sourceLine)}\n`);
      else printer.write(resp);
    },
    end: () => printer.end(),
  };
}

/** Formats whose output for a record depends on that record alone, so that ranges of a file print independently. */
export const RANGE_FORMATS: ReadonlySet<OutputFormat> = new Set(['compact', 'json', 'jsonpb']);
