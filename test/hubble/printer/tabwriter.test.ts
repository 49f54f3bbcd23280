// Go text/tabwriter layout: column blocks, the uncounted last cell, flush on tab-less lines, rune widths.
import t from 'tap';
import { TabWriter } from '../../../lib/hubble/printer/tabwriter.ts';

function layout(...writes: string[]): { text: string; emits: number } {
  let text = '';
  let emits = 0;
  const tw = new TabWriter((s) => {
    text += s;
    emits++;
  });
  for (const w of writes) tw.write(w);
  tw.flush();
  return { text, emits };
}

t.test('pads each cell to its column block width: widest cell + 3, at least 2', async (t) => {
  t.equal(layout('a\tbbb\tc\n', 'aaaa\tb\n').text, 'a      bbb   c\naaaa   b\n');
  t.equal(layout('\tz\n').text, '   z\n', 'an empty cell still gets the padding');
});

t.test('the text after the last tab is not a cell and never widens a column', async (t) => {
  t.equal(layout('x\ty\n', 'a very long last cell\n').text, 'x   y\na very long last cell\n');
  t.equal(layout('k\tshort\n', 'k\tthis one is much longer\n', 'kk\tv\n').text, 'k    short\nk    this one is much longer\nkk   v\n');
});

t.test('a line without tabs ends every column block and flushes what came before', async (t) => {
  let text = '';
  const chunks: string[] = [];
  const tw = new TabWriter((s) => {
    chunks.push(s);
    text += s;
  });
  tw.write('a\tbbb\tc\naaaa\tb\nno tabs here\n');
  t.same(chunks, ['a      bbb   c\naaaa   b\nno tabs here\n'], 'written out as soon as the tab-less line ends');
  tw.write('x\ty\n');
  t.equal(chunks.length, 1, 'later lines wait for the next flush');
  tw.flush();
  t.equal(text, 'a      bbb   c\naaaa   b\nno tabs here\nx   y\n', 'the new block is sized on its own');
});

t.test('writes split anywhere give the same layout; an unterminated last line is written as is', async (t) => {
  const whole = layout('TIMESTAMP\tSOURCE\tSUMMARY\nJan  1 00:00:00.000\t10.0.0.1:80\tok\n').text;
  t.equal(layout('TIME', 'STAMP\tSOU', 'RCE\tSUMMARY\nJan  1 00:00:00.000\t', '10.0.0.1:80\tok\n').text, whole);
  t.equal(layout('a\tb\n', 'cc\td').text, 'a    b\ncc   d');
});

t.test('widths count code points, not UTF-16 units or bytes', async (t) => {
  t.equal(layout('日本\tx\n', 'ab\ty\n').text, '日本   x\nab   y\n');
  t.equal(layout('😀\tx\n', 'a\ty\n').text, '😀   x\na   y\n');
});
