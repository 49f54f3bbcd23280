// Why an input gave no Hubble record, in words a user can act on: what it holds instead, and the command that fixes it.
import type { ReadStats } from './read.ts';

function shellQuote(path: string): string {
  return /^[A-Za-z0-9_./:=@+,-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

/**
 * What the input held when it yielded no record; undefined when records were read. `source` is the path as the
 * user gave it (`-` for stdin), used in the suggested commands.
 */
export function diagnoseNothingRead(stats: ReadStats, source: string): string | undefined {
  if (stats.records > 0) return undefined;
  const file = source === '-' ? 'FILE' : shellQuote(source);
  const shapes = stats.shapes;
  if (shapes.nonEmpty === 0) {
    return `the input is empty (${stats.lines === 0 ? 'no data' : `${stats.lines} blank line${stats.lines === 1 ? '' : 's'}`}): export flows with \`hubble observe -o jsonpb --all > flows.jsonl\``;
  }
  if (stats.skipped > 0 && stats.malformed === 0) {
    return `it holds only ${stats.skipped} exporter agent/debug event${stats.skipped === 1 ? '' : 's'} and no flow: the exporter's allowlist may leave flows out`;
  }
  if (shapes.startsWithArray || shapes.arrays > stats.malformed / 2) {
    return `it holds a JSON array of flows, where one record per line is read: \`jq -c '.[]' ${file} | hubble-lab analyze --input -\``;
  }
  if (shapes.prettyPrinted > stats.malformed / 2) {
    return `it looks like pretty-printed JSON (each record spread over many lines), where one record per line is read: \`jq -c . ${file} | hubble-lab analyze --input -\``;
  }
  const other = [...shapes.otherRecords].sort((a, b) => b[1] - a[1]);
  const otherCount = other.reduce((n, [, c]) => n + c, 0);
  if (otherCount > stats.malformed / 2) {
    const kinds = other
      .slice(0, 3)
      .map(([keys, n]) => `${n} with keys {${keys}}`)
      .join('; ');
    return `its ${otherCount} JSON record${otherCount === 1 ? ' is' : 's are'} not Hubble flows (${kinds}): it may be another log (a Cilium agent or system-status log, say); analyze reads \`hubble observe -o jsonpb\` or \`-o json\` output and the Hubble exporter's file`;
  }
  const first = stats.firstMalformed
    .slice(0, 3)
    .map((m) => `line ${m.line}: ${m.reason}`)
    .join('; ');
  return `none of its ${stats.malformed} non-empty line${stats.malformed === 1 ? ' is' : 's are'} a Hubble record (${first})`;
}
