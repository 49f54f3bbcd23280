// A plain file cut into line-aligned byte ranges, each with the number of lines before it: the unit of work when a
// file is read on several threads. Line numbers, and so every message that names a line, stay those of the file.
import { open } from 'node:fs/promises';

export interface LineRange {
  /** First byte, the start of a line. */
  start: number;
  /** One past the last byte: just after a newline, or the end of the file. Never equal to start. */
  end: number;
  /** Lines in the file before `start`: the range's first line is line linesBefore + 1. */
  linesBefore: number;
}

const SCAN_BYTES = 1 << 20;

/**
 * Yields ranges of about `rangeBytes` each, in file order, as the file is scanned: a range ends at the first
 * newline after its nominal end (a line longer than a range makes that range longer). Counting newlines runs at
 * memchr speed, so the first ranges are handed out long before the scan ends.
 */
export async function* lineRanges(path: string, rangeBytes: number): AsyncGenerator<LineRange> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const buf = Buffer.allocUnsafe(SCAN_BYTES);
    let start = 0;
    let linesBefore = 0;
    let linesInRange = 0;
    let pos = 0;
    while (pos < size) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(SCAN_BYTES, size - pos), pos);
      if (bytesRead === 0) break;
      let i = 0;
      for (let nl = buf.indexOf(0x0a, i); nl !== -1 && nl < bytesRead; nl = buf.indexOf(0x0a, i)) {
        linesInRange++;
        i = nl + 1;
        const end = pos + i;
        if (end - start >= rangeBytes) {
          yield { start, end, linesBefore };
          start = end;
          linesBefore += linesInRange;
          linesInRange = 0;
        }
      }
      pos += bytesRead;
    }
    if (pos > start) yield { start, end: pos, linesBefore };
  } finally {
    await handle.close();
  }
}
