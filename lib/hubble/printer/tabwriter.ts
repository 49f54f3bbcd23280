// Go's text/tabwriter (left-aligned, space padding), so `-o table` lines up exactly as hubble's does.
//
// Text is cut into cells at tabs; the text after a line's last tab is not a cell and does not affect
// widths. A column block is a run of consecutive lines that have a cell in that column; each block is as
// wide as its widest cell plus padding (at least minWidth). A line without tabs ends every block.

interface Cell {
  text: string;
  /** Width in code points, as Go counts runes. */
  width: number;
}

export interface TabWriterOptions {
  minWidth: number;
  padding: number;
}

/** hubble's table: tabwriter.NewWriter(w, 2, 0, 3, ' ', 0). */
export const HUBBLE_TABLE: TabWriterOptions = { minWidth: 2, padding: 3 };

function runeCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A surrogate pair is one rune.
    if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) n++;
  }
  return n;
}

export class TabWriter {
  private lines: Cell[][] = [[]];
  private cell = '';
  private readonly sink: (text: string) => void;
  private readonly opts: TabWriterOptions;

  constructor(sink: (text: string) => void, opts: TabWriterOptions = HUBBLE_TABLE) {
    this.sink = sink;
    this.opts = opts;
  }

  write(text: string): void {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 0x09 && c !== 0x0a) continue;
      this.cell += text.slice(start, i);
      start = i + 1;
      const line = this.lines[this.lines.length - 1]!;
      line.push({ text: this.cell, width: runeCount(this.cell) });
      this.cell = '';
      if (c === 0x0a) {
        this.lines.push([]);
        // A line of one cell takes part in no column: everything so far can be laid out now.
        if (line.length === 1) this.flush();
      }
    }
    this.cell += text.slice(start);
  }

  /** Lays out and emits everything buffered (Go's Flush). */
  flush(): void {
    if (this.cell.length > 0) this.lines[this.lines.length - 1]!.push({ text: this.cell, width: runeCount(this.cell) });
    this.cell = '';
    const out: string[] = [];
    this.format(out, [], 0, this.lines.length);
    this.lines = [[]];
    const text = out.join('');
    if (text.length > 0) this.sink(text);
  }

  private format(out: string[], widths: number[], line0: number, line1: number): void {
    const column = widths.length;
    for (let row = line0; row < line1; row++) {
      if (column >= this.lines[row]!.length - 1) continue;
      this.writeLines(out, widths, line0, row);
      line0 = row;
      let width = this.opts.minWidth;
      for (; row < line1; row++) {
        const line = this.lines[row]!;
        if (column >= line.length - 1) break;
        width = Math.max(width, line[column]!.width + this.opts.padding);
      }
      this.format(out, [...widths, width], line0, row);
      line0 = row;
    }
    this.writeLines(out, widths, line0, line1);
  }

  private writeLines(out: string[], widths: number[], line0: number, line1: number): void {
    for (let i = line0; i < line1; i++) {
      const line = this.lines[i]!;
      for (let j = 0; j < line.length; j++) {
        const c = line[j]!;
        out.push(c.text);
        if (j < widths.length && widths[j]! > c.width) out.push(' '.repeat(widths[j]! - c.width));
      }
      // The last buffered line has no newline yet.
      if (i + 1 < this.lines.length) out.push('\n');
    }
  }
}
