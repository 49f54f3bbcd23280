// A worker of bench/parse-limits.bench.ts: reads a byte range of the file with the project's reader and answers
// with the time the read took (the worker's start left out).
import { createReadStats, readResponseBatches } from '../lib/hubble/codec/read.ts';
import { serveTasks, setup } from '../lib/parallel/pool.ts';

const { path } = setup<{ path: string }>();

serveTasks<{ start: number; end: number }, number>(async ({ start, end }) => {
  const t0 = performance.now();
  let records = 0;
  for await (const batch of readResponseBatches({ path, start, end }, createReadStats())) records += batch.length;
  if (records === 0) throw new Error(`parse-limits bench: no record in bytes ${start}-${end}`);
  return { result: performance.now() - t0 };
});
