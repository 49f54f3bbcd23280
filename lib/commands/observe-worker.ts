// A worker thread of `observe --input-file`: reads one line-aligned range of the file and returns what the main
// thread would have printed for it, with the range's read statistics (line numbers are the file's).
import type { GetFlowsRequest } from '../flows/types.ts';
import { createReadStats, readResponseLineBatches, type ReadOptions, type ReadStats } from '../hubble/codec/read.ts';
import type { LineRange } from '../parallel/ranges.ts';
import { serveTasks, setup } from '../parallel/pool.ts';
import { HubbleLabError } from '../errors.ts';
import { recordSelector, recordWriter, type PrintSettings } from './observe-file.ts';

export interface ObserveSetup {
  path: string;
  req: GetFlowsRequest;
  print: PrintSettings;
  read: ReadOptions;
}

export interface RangeOutput {
  /** UTF-8 of what goes to standard output. */
  out: Uint8Array;
  /** What goes to standard error (node status events). */
  err: string;
  stats: ReadStats;
  /** The read broke off in this range: the error to tell after printing what was read. */
  failure: { message: string; hint: string | undefined } | undefined;
}

const { path, req, print, read } = setup<ObserveSetup>();
const selected = recordSelector(req);
const encoder = new TextEncoder();

serveTasks<LineRange, RangeOutput>(async (range) => {
  const stats = createReadStats();
  stats.lines = range.linesBefore;
  let out = '';
  let err = '';
  const writer = recordWriter(print, (text) => void (out += text), { write: (text) => void (err += text) });
  let failure: RangeOutput['failure'];
  try {
    for await (const { records, lines } of readResponseLineBatches({ path, start: range.start, end: range.end }, stats, read)) {
      for (let i = 0; i < records.length; i++) if (selected(records[i]!)) writer.write(records[i]!, lines[i]);
    }
  } catch (e) {
    failure = { message: (e as Error).message, hint: e instanceof HubbleLabError ? e.hint : undefined };
  }
  writer.end();
  // Encoded into memory of its own (small Buffers share a pool), which is moved to the main thread, not copied.
  const bytes = encoder.encode(out);
  return { result: { out: bytes, err, stats, failure }, transfer: [bytes.buffer as ArrayBuffer] };
});
