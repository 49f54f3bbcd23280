// `tar` as `kubectl cp` runs it in a container: `tar cf - PATH…` writes a ustar archive of the container's files to
// stdout, `tar xf - [-C DIR]` unpacks one from stdin (long names from PAX headers); only regular files and
// directories, which is what cp moves.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';

const block = 512;

/** Reads and writes go through these: container paths, resolved inside the container's files only. */
export interface TarFiles {
  /** The real path to read, or undefined when the container has no such file. */
  readable(containerPath: string): Promise<string | undefined>;
  /** The real path to write a container path to. */
  writable(containerPath: string): string;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, mode: number, mtime: Date, type: '0' | '5'): Buffer {
  const h = Buffer.alloc(block);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 154);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  h.write(base, 0, 100);
  h.write(octal(mode & 0o7777, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(Math.floor(mtime.getTime() / 1000), 12), 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\u000000', 257);
  h.write('root', 265);
  h.write('root', 297);
  h.write(prefix, 345, 155);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

function padding(size: number): Buffer {
  return Buffer.alloc((block - (size % block)) % block);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

function field(h: Buffer, start: number, length: number): string {
  const raw = h.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? raw.length : nul).toString('utf8');
}

/** PAX extended header records: `len key=value\n`. */
function paxPath(data: Buffer): string | undefined {
  for (const line of data.toString('utf8').split('\n')) {
    const m = /^\d+ path=(.*)$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/** Runs `tar ARGS`; resolves with the exit code (GNU tar's messages on stderr). */
export async function tar(args: string[], cwd: string, io: { stdin?: Readable; stdout: Writable; stderr: Writable }, files: TarFiles): Promise<number> {
  const flags = (args[0] ?? '').replace(/^-/, '');
  const rest = args.slice(1).filter((a) => !a.startsWith('--'));
  const dirIndex = rest.indexOf('-C');
  const dir = dirIndex >= 0 ? posix.resolve(cwd, rest[dirIndex + 1] ?? '.') : cwd;
  const operands = rest.filter((a, i) => a !== '-' && a !== '-C' && !(dirIndex >= 0 && i === dirIndex + 1));
  if (!flags.includes('f') || flags.includes('c') === flags.includes('x')) {
    io.stderr.write('tar: the simulated container runs tar cf - PATH… and tar xf - [-C DIR] (as kubectl cp does)\n');
    return 2;
  }
  if (flags.includes('c')) {
    if (operands.length === 0) {
      io.stderr.write('tar: Cowardly refusing to create an empty archive\n');
      return 2;
    }
    let status = 0;
    const add = async (containerPath: string, name: string): Promise<void> => {
      const real = await files.readable(containerPath);
      const st = real === undefined ? undefined : await stat(real).catch(() => undefined);
      if (!st || real === undefined) {
        io.stderr.write(`tar: ${name}: Cannot stat: No such file or directory\n`);
        status = 2;
        return;
      }
      if (st.isDirectory()) {
        io.stdout.write(header(`${name}/`, 0, st.mode, st.mtime, '5'));
        for (const child of (await readdir(real)).sort()) await add(posix.join(containerPath, child), `${name}/${child}`);
        return;
      }
      const data = await readFile(real);
      io.stdout.write(Buffer.concat([header(name, data.length, st.mode, st.mtime, '0'), data, padding(data.length)]));
    };
    for (const p of operands) await add(posix.resolve(dir, p), posix.normalize(p).replace(/^\/+/, '').replace(/\/+$/, '') || '.');
    io.stdout.write(Buffer.alloc(2 * block));
    if (status !== 0) io.stderr.write('tar: Exiting with failure status due to previous errors\n');
    return status;
  }
  const archive = io.stdin ? await collect(io.stdin) : Buffer.alloc(0);
  let pos = 0;
  let longName: string | undefined;
  while (pos + block <= archive.length) {
    const h = archive.subarray(pos, pos + block);
    if (h.every((b) => b === 0)) break;
    const size = parseInt(field(h, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(h[156]!);
    const data = archive.subarray(pos + block, pos + block + size);
    pos += block + size + padding(size).length;
    if (type === 'x') {
      longName = paxPath(data);
      continue;
    }
    if (type === 'g' || type === 'L') {
      if (type === 'L') longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    const prefix = field(h, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    longName = undefined;
    // Member names stay under the target directory, as GNU tar keeps them (no absolute paths, no ..).
    const target = posix.join(dir, posix.normalize(`/${name}`));
    if (type === '5') await mkdir(files.writable(target), { recursive: true });
    else if (type === '0' || type === '\0') {
      await mkdir(posix.dirname(files.writable(target)), { recursive: true });
      await writeFile(files.writable(target), data);
    }
  }
  return 0;
}
