// Filter regexes: Go's regexp via re2js (linear time) against JavaScript's RegExp (what a translation of RE2
// syntax compiles to), and the literal-pattern shortcut compileRe2 takes, over the URLs and DNS names of flows.
import { RE2JS } from 're2js';
import { compileRe2 } from '../lib/hubble/filter/re2.ts';
import { fmtMs, machine, timeMedian } from './lib.ts';

const texts: string[] = [];
for (let i = 0; i < 20_000; i++) {
  texts.push(
    i % 4 === 0
      ? `api-${i % 97}.genai-network-demo.svc.cluster.local`
      : `http://document-agent.genai-network-demo:80/api/v1/documents/${i}?page=${i % 13}&sort=desc`,
  );
}

/** Patterns as users type them into --http-path, --http-url and --dns-query. */
const common = [
  '/api/v1/',
  '^/healthz$',
  '.*\\.svc\\.cluster\\.local',
  '/api/v1/documents/[0-9]+',
  '^http://[a-z-]+\\.genai-network-demo(:[0-9]+)?/api/',
  '(?i)/API/V1/.*\\?.*sort=desc',
];

function countAll(test: (s: string) => boolean): number {
  let n = 0;
  for (const s of texts) if (test(s)) n++;
  return n;
}

type Engine = { compile: (p: string) => (s: string) => boolean };
const engines: Engine[] = [
  {
    compile: (p) => {
      const flags = p.startsWith('(?i)') ? 'i' : '';
      const re = new RegExp(flags ? p.slice(4) : p, flags);
      return (s) => re.test(s);
    },
  },
  {
    compile: (p) =>
      (
        (re) => (s: string) =>
          re.test(s)
      )(RE2JS.compile(p)),
  },
  {
    compile: (p) =>
      (
        (re) => (s: string) =>
          re.test(s)
      )(compileRe2(p)),
  },
];

const rows: string[] = [];
for (const p of common) {
  const perTest: number[] = [];
  const answers = new Set<number>();
  for (const e of engines) {
    const test = e.compile(p);
    answers.add(countAll(test));
    const { medianMs } = await timeMedian(() => countAll(test), 7);
    perTest.push((medianMs * 1e6) / texts.length);
  }
  if (answers.size !== 1) throw new Error(`engines disagree on ${p}`);
  const [anchor, ...others] = perTest as [number, ...number[]];
  rows.push(`| \`${p}\` | ${anchor.toFixed(0)} ns | ${others.map((ns) => `${ns.toFixed(0)} ns (${(ns / anchor).toFixed(2)}×)`).join(' | ')} |`);
}

// (.|\w)*[!#] over a URL with neither: RegExp backtracks exponentially in the URL's length. (With a single `!`
// re2js would answer from a scan for the literal alone; the class makes it run its automaton over the text.)
const hostile = '(.|\\w)*[!#]';
const hostileRows: string[] = [];
for (const len of [18, 20, 22]) {
  const text = `/${'a'.repeat(len)}`;
  const re = new RegExp(hostile);
  const { medianMs } = await timeMedian(() => re.test(text), 3);
  hostileRows.push(`| RegExp | ${len + 1} characters | ${fmtMs(medianMs)} |`);
}
for (const len of [1_000, 100_000, 1_000_000]) {
  const text = `/${'a'.repeat(len)}`;
  const re = compileRe2(hostile);
  const { medianMs } = await timeMedian(() => re.test(text), 5);
  hostileRows.push(`| compileRe2 (re2js) | ${(len + 1).toLocaleString('en-US')} characters | ${fmtMs(medianMs)} |`);
}

const lines = [
  '## Filter regexes: re2js against RegExp (lib/hubble/filter/re2.ts)',
  '',
  `${texts.length.toLocaleString('en-US')} texts (3 in 4 HTTP URLs, 1 in 4 DNS names), each pattern tested on all of them; median of 7`,
  `runs after a warm-up; the three engines give the same answers. ${machine()}.`,
  '',
  'Median time per test (ratio vs RegExp, the anchor):',
  '',
  '| pattern | RegExp (anchor) | re2js | compileRe2 (re2js; literals by string search) |',
  '| --- | ---: | ---: | ---: |',
  ...rows,
  '',
  `\`${hostile}\` on one URL with neither character (median of 3–5 runs):`,
  '',
  '| engine | text | median |',
  '| --- | --- | ---: |',
  ...hostileRows,
];
process.stdout.write(`${lines.join('\n')}\n`);
