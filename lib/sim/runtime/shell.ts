// Runs a command line in a container, as its own command or `kubectl exec`: a small shell (sh -c with && || ;),
// coreutils and tar (for kubectl cp) over the container's files, and real processes for node and the network tools (curl, wget, nslookup),
// each confined by Node's permission model to the container's files and the pod's network.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname, posix } from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { PodNetwork } from '../net/datapath.ts';
import { clusterDnsIP, clusterDomain } from '../net/addresses.ts';
import { parseScript, UnsupportedCommand, type Redirect } from './command.ts';
import { hostPath } from './volumes.ts';
import { tar } from './tar.ts';
import type { ExitStatus, Instance } from './program.ts';

export interface Stdio {
  /** Absent: the process reads an empty stdin. */
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  /** A terminal (kubectl exec -t): an interactive shell echoes and prompts. */
  tty?: boolean;
}

export interface ImageCommandIO extends Stdio {
  env: Record<string, string>;
  signal: AbortSignal;
}

/** An executable an image adds (the Cilium agent's `cilium` and `hubble`), run in process; resolves with the exit code. */
export type ImageCommand = (args: string[], io: ImageCommandIO) => Promise<number>;

export interface ShellContext {
  env: Record<string, string>;
  net: PodNetwork;
  rootfs: string;
  mounts: Map<string, string>;
  /** The container's workingDir (a path inside the container); / by default. */
  workingDir?: string;
  /** node:* images have Node. */
  node: boolean;
  /** Executables the image adds (the Cilium agent's cilium and hubble). */
  commands?: Record<string, ImageCommand>;
  /** Started by `kubectl exec` (the runtime's OCI message for a missing executable) rather than as the container. */
  exec?: boolean;
}

const toolsDir = fileURLToPath(new URL('./tools/', import.meta.url));
const netDir = fileURLToPath(new URL('../net/', import.meta.url));

const tools = new Set(['curl', 'wget', 'nslookup']);
/** Hands a tool its container's layout (read and removed by tools/container.mjs). */
const toolEnvVar = 'HUBBLE_LAB_SIM_CONTAINER';
const shells = new Set(['sh', 'bash', 'ash', 'dash']);
const nodeNames = new Set(['node', 'nodejs']);
/** Node options whose value is a file: mapped like the script itself. */
const fileOptions = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '--env-file']);

function base(cmd: string): string {
  return cmd.slice(cmd.lastIndexOf('/') + 1);
}

/**
 * Node's permission model flags for a container process: it reads its own files and the preload and tools it runs
 * with, writes only its own files, and may start neither processes nor workers (which would leave the datapath).
 */
export function confinementArgs(rootfs: string, mounts: Map<string, string>): string[] {
  const own = [rootfs, ...mounts.values()];
  return [
    '--experimental-permission',
    '--disable-warning=ExperimentalWarning',
    ...[...own, netDir, toolsDir, '/dev/null'].map((p) => `--allow-fs-read=${p}`),
    ...[...own, '/dev/null'].map((p) => `--allow-fs-write=${p}`),
  ];
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 9) : 9);
}

function parseSleep(arg: string | undefined): number {
  if (arg === undefined) return NaN;
  if (arg === 'infinity' || arg === 'inf') return Infinity;
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(arg);
  if (!m) return NaN;
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]!]! * 1000;
}

function write(stream: Writable, text: string): void {
  if (text && !stream.destroyed && !stream.writableEnded) stream.write(text);
}

/** Starts argv (already resolved as the container's command or exec'd directly) in the container. */
export function startProcess(ctx: ShellContext, argv: string[], stdio: Stdio): Instance {
  const stopping = new AbortController();
  let child: ChildProcess | undefined;
  let cwd = posix.normalize(ctx.workingDir || '/');
  const env: Record<string, string> = { ...ctx.env };
  const real = (p: string) => hostPath(ctx.rootfs, ctx.mounts, posix.resolve(cwd, p));
  const underMount = (p: string) => [...ctx.mounts.keys()].some((m) => p === m || p.startsWith(`${m}/`));
  const roots = Promise.all([ctx.rootfs, ...ctx.mounts.values()].map((r) => realpath(r).catch(() => r)));
  /**
   * The real path of a container path the shell itself reads (cat, ls, sh FILE): only inside the container's own
   * files, whatever links lead there; undefined (no such file) elsewhere.
   */
  const readable = async (p: string): Promise<string | undefined> => {
    const target = await realpath(real(p)).catch(() => undefined);
    if (target === undefined) return undefined;
    return (await roots).some((r) => target === r || target.startsWith(`${r}/`)) ? target : undefined;
  };

  // One stdin, handed to whichever process runs now; after its end, later processes read an empty stdin.
  let stdinEnded = !stdio.stdin;
  const stdinBuffer: Buffer[] = [];
  const stdinReaders = new Set<(chunk: Buffer | null) => void>();
  stdio.stdin?.on('data', (chunk: Buffer) => {
    if (stdinReaders.size === 0) stdinBuffer.push(chunk);
    for (const r of stdinReaders) r(chunk);
  });
  stdio.stdin?.on('end', () => {
    stdinEnded = true;
    for (const r of stdinReaders) r(null);
  });
  stdio.stdin?.on('error', () => {});
  /** Feeds stdin to `reader` (buffered data first); returns a function that stops. */
  const readStdin = (reader: (chunk: Buffer | null) => void): (() => void) => {
    for (const chunk of stdinBuffer.splice(0)) reader(chunk);
    if (stdinEnded) {
      reader(null);
      return () => {};
    }
    stdinReaders.add(reader);
    return () => stdinReaders.delete(reader);
  };

  function nodeArgs(args: string[]): string[] {
    const out: string[] = [];
    let i = 0;
    for (; i < args.length && args[i]!.startsWith('-'); i++) {
      const a = args[i]!;
      if (['-e', '--eval', '-p', '--print'].includes(a)) return [...out, ...args.slice(i)];
      const eq = a.indexOf('=');
      if (fileOptions.has(a) && i + 1 < args.length) {
        const v = args[++i]!;
        out.push(a, v.startsWith('/') ? real(v) : v);
      } else if (eq > 0 && fileOptions.has(a.slice(0, eq)) && a[eq + 1] === '/') out.push(`${a.slice(0, eq + 1)}${real(a.slice(eq + 1))}`);
      else out.push(a);
    }
    const script = args[i];
    if (script === undefined) return out;
    out.push(script.startsWith('/') ? real(script) : script);
    for (const a of args.slice(i + 1)) out.push(a.startsWith('/') && underMount(a) ? real(a) : a);
    return out;
  }

  /** A real Node process in the pod: its network through the preload, confined to the container's files. */
  function runNode(args: string[], extraEnv: Record<string, string>, io: Stdio): Promise<number> {
    return new Promise<number>((resolve) => {
      const processEnv = { ...env, ...extraEnv, ...ctx.net.processEnv() };
      // Started through env(1) so that only the pod's own NODE_OPTIONS reach it: a loader the sim's process hands
      // its children (a test runner's instrumentation) would be refused by the permission model.
      const own = processEnv.NODE_OPTIONS === undefined ? [] : [`NODE_OPTIONS=${processEnv.NODE_OPTIONS}`];
      const p = spawn(
        '/usr/bin/env',
        ['-u', 'NODE_OPTIONS', ...own, process.execPath, ...confinementArgs(ctx.rootfs, ctx.mounts), ...ctx.net.preloadArgs(), ...args],
        {
          cwd: real(cwd),
          env: processEnv,
          stdio: ['pipe', 'pipe', 'pipe'],
          detached: true,
        },
      );
      child = p;
      p.stdin!.on('error', () => {});
      const stopReading = readStdin((chunk) => {
        if (chunk === null) p.stdin!.end();
        else p.stdin!.write(chunk);
      });
      p.stdout!.on('data', (d: Buffer) => io.stdout.write(d));
      p.stderr!.on('data', (d: Buffer) => io.stderr.write(d));
      p.on('error', (e) => {
        write(io.stderr, `exec node: ${e.message}\n`);
        resolve(128);
      });
      p.on('close', (code, signal) => {
        stopReading();
        // Whatever the process started dies with it, as in a container whose process exits.
        if (p.pid) {
          try {
            process.kill(-p.pid, 'SIGKILL');
          } catch {
            // the group is already gone
          }
        }
        child = undefined;
        resolve(exitCodeOf(code, signal));
      });
    });
  }

  async function sleep(ms: number): Promise<number> {
    if (stopping.signal.aborted) return 143;
    await new Promise<void>((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(resolve, ms) : undefined;
      stopping.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
    return stopping.signal.aborted ? 143 : 0;
  }

  async function cat(args: string[], io: Stdio): Promise<number> {
    if (args.length === 0 || (args.length === 1 && args[0] === '-')) {
      let stop = () => {};
      await new Promise<void>((resolve) => {
        stop = readStdin((chunk) => {
          if (chunk === null) resolve();
          else io.stdout.write(chunk);
        });
      });
      stop();
      return 0;
    }
    let status = 0;
    for (const f of args) {
      try {
        const file = await readable(f);
        if (file === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
        io.stdout.write(await readFile(file));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        write(io.stderr, `cat: can't open '${f}': ${code === 'EISDIR' ? 'Is a directory' : 'No such file or directory'}\n`);
        status = 1;
      }
    }
    return status;
  }

  async function ls(args: string[], io: Stdio): Promise<number> {
    const long = args.some((a) => /^-[a-zA-Z]*l/.test(a));
    const all = args.some((a) => /^-[a-zA-Z]*a/.test(a));
    const paths = args.filter((a) => !a.startsWith('-'));
    let status = 0;
    for (const p of paths.length ? paths : ['.']) {
      const target = await readable(p);
      const st = target === undefined ? undefined : await stat(target).catch(() => undefined);
      if (!st || target === undefined) {
        write(io.stderr, `ls: ${p}: No such file or directory\n`);
        status = 1;
        continue;
      }
      if (paths.length > 1) write(io.stdout, `${p}:\n`);
      const names = st.isDirectory() ? (await readdir(target)).filter((n) => all || !n.startsWith('.')).sort() : [p];
      for (const name of names) {
        if (!long) {
          write(io.stdout, `${name}\n`);
          continue;
        }
        const s = await stat(st.isDirectory() ? `${target}/${name}` : target).catch(() => undefined);
        const kind = s?.isDirectory() ? 'd' : '-';
        write(io.stdout, `${kind}rw-r--r--    1 root     root     ${String(s?.size ?? 0).padStart(8)} ${name}\n`);
      }
    }
    return status;
  }

  /** Runs one simple command; `inShell`: named by a script (sh's messages) rather than exec'd (the runtime's). */
  async function run(words: string[], assignments: Record<string, string>, io: Stdio, inShell: boolean): Promise<number> {
    let rest = words;
    const extra = { ...assignments };
    if (base(rest[0] ?? '') === 'env') {
      rest = rest.slice(1);
      while (rest[0] && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[0])) {
        const [k, ...v] = rest[0].split('=');
        extra[k!] = v.join('=');
        rest = rest.slice(1);
      }
      if (rest.length === 0) {
        for (const [k, v] of Object.entries({ ...env, ...extra })) write(io.stdout, `${k}=${v}\n`);
        return 0;
      }
    }
    const cmd = rest[0];
    if (cmd === undefined) {
      Object.assign(env, assignments);
      return 0;
    }
    const args = rest.slice(1);
    const name = base(cmd);
    if (name === 'docker-entrypoint.sh' && ctx.node) {
      // The node image's entrypoint runs its first argument when it is a command, and hands anything else to node.
      const first = args[0];
      if (first === undefined || first.startsWith('-') || !isCommand(first)) return run(['node', ...args], extra, io, inShell);
      return run(args, extra, io, inShell);
    }
    if (shells.has(name)) return shell(name, args, io);
    if (nodeNames.has(name) && ctx.node) return runNode(nodeArgs(args), extra, io);
    if (tools.has(name)) {
      // What the tool needs to know about the container: its resolv.conf and where its files really are.
      const container = JSON.stringify({
        resolv: { server: clusterDnsIP, search: [`${ctx.net.info.namespace}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain], ndots: 5 },
        rootfs: ctx.rootfs,
        mounts: [...ctx.mounts],
        cwd,
      });
      return runNode([`${toolsDir}${name}.mjs`, ...args], { ...extra, [toolEnvVar]: container }, io);
    }
    const imageCommand = ctx.commands?.[name];
    if (imageCommand) return imageCommand(args, { ...io, env: { ...env, ...extra }, signal: stopping.signal });
    switch (name) {
      case 'true':
      case ':':
        return 0;
      case 'false':
        return 1;
      case 'exit':
        return Number(args[0] ?? 0) & 0xff;
      case 'echo': {
        const noNewline = args[0] === '-n';
        write(io.stdout, `${(noNewline ? args.slice(1) : args).join(' ')}${noNewline ? '' : '\n'}`);
        return 0;
      }
      case 'export':
        for (const a of args) {
          const eq = a.indexOf('=');
          if (eq > 0) env[a.slice(0, eq)] = a.slice(eq + 1);
        }
        return 0;
      case 'pwd':
        write(io.stdout, `${cwd}\n`);
        return 0;
      case 'hostname':
        write(io.stdout, `${env.HOSTNAME ?? ctx.net.info.name}\n`);
        return 0;
      case 'printenv': {
        const keys = args.length ? args : Object.keys(env);
        for (const k of keys) if (env[k] !== undefined) write(io.stdout, args.length ? `${env[k]}\n` : `${k}=${env[k]}\n`);
        return args.every((k) => env[k] !== undefined) ? 0 : 1;
      }
      case 'cd': {
        const target = posix.resolve(cwd, args[0] ?? env.HOME ?? '/');
        const dir = real(target);
        if (!existsSync(dir) || !statSync(dir).isDirectory()) {
          write(io.stderr, `sh: cd: can't cd to ${args[0] ?? target}: No such file or directory\n`);
          return 2;
        }
        cwd = target;
        return 0;
      }
      case 'sleep': {
        const ms = parseSleep(args[0]);
        if (Number.isNaN(ms)) {
          write(io.stderr, `sleep: invalid number '${args[0] ?? ''}'\n`);
          return 1;
        }
        return sleep(ms);
      }
      case 'cat':
        return cat(args, io);
      case 'ls':
        return ls(args, io);
      case 'tar': {
        const input = new PassThrough();
        const stop = readStdin((chunk) => (chunk === null ? input.end() : input.write(chunk)));
        try {
          return await tar(args, cwd, { stdin: input, stdout: io.stdout, stderr: io.stderr }, { readable, writable: real });
        } finally {
          stop();
        }
      }
    }
    if (inShell) write(io.stderr, `sh: ${cmd}: not found\n`);
    else if (ctx.exec)
      write(
        io.stderr,
        `OCI runtime exec failed: exec failed: unable to start container process: exec: "${cmd}": executable file not found in $PATH: unknown\n`,
      );
    else write(io.stderr, `exec: "${cmd}": executable file not found in $PATH\n`);
    return 127;
  }

  /** Runs `body` with the command's stdout and stderr sent where its redirections say (files in the container). */
  async function redirected(redirects: Redirect[], io: Stdio, body: (io: Stdio) => Promise<number>): Promise<number> {
    if (redirects.length === 0) return body(io);
    const fds: Record<1 | 2, Writable> = { 1: io.stdout, 2: io.stderr };
    const opened: Writable[] = [];
    try {
      for (const r of redirects) {
        if (r.dup !== undefined) {
          fds[r.fd] = fds[r.dup];
          continue;
        }
        const file = r.file!;
        if (file === '/dev/null') {
          fds[r.fd] = new Writable({ write: (_chunk, _enc, cb) => cb() });
          continue;
        }
        const path = real(file);
        if (
          !(await stat(dirname(path)).then(
            (st) => st.isDirectory(),
            () => false,
          ))
        ) {
          write(io.stderr, `sh: can't create ${file}: nonexistent directory\n`);
          return 1;
        }
        const stream = createWriteStream(path, { flags: r.append ? 'a' : 'w' });
        stream.on('error', () => {});
        opened.push(stream);
        fds[r.fd] = stream;
      }
      return await body({ ...io, stdout: fds[1], stderr: fds[2] });
    } finally {
      await Promise.all(opened.map((s) => new Promise<void>((resolve) => s.end(() => resolve()))));
    }
  }

  async function script(text: string, io: Stdio): Promise<number> {
    let commands;
    try {
      commands = parseScript(text, env);
    } catch (err) {
      if (!(err instanceof UnsupportedCommand)) throw err;
      write(io.stderr, `${err.message}\n`);
      return 2;
    }
    let status = 0;
    for (const c of commands) {
      if (stopping.signal.aborted) break;
      if ((c.after === '&&' && status !== 0) || (c.after === '||' && status === 0)) continue;
      status = await redirected(c.redirects, io, (cio) => run(c.words, c.assignments, cio, true));
      if (base(c.words[0] ?? '') === 'exit') return status;
    }
    return status;
  }

  /** sh -c SCRIPT, sh FILE, or sh reading commands from stdin a line at a time (kubectl exec -it … -- sh). */
  async function shell(name: string, args: string[], io: Stdio): Promise<number> {
    const c = args.indexOf('-c');
    if (c >= 0) return script(args[c + 1] ?? '', io);
    const file = args.find((a) => !a.startsWith('-'));
    if (file !== undefined) {
      try {
        const path = await readable(file);
        if (path === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
        return await script(await readFile(path, 'utf8'), io);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        write(io.stderr, `${name}: can't open '${file}': No such file or directory\n`);
        return 2;
      }
    }
    let status = 0;
    let pending = '';
    const lines: string[] = [];
    let ended = false;
    let wake: (() => void) | undefined;
    // On a terminal (kubectl exec -it) the shell does what the pty would: echo keys, erase, ^C, ^D, \r\n line ends.
    const tty = Boolean(stdio.tty);
    const out = tty
      ? new Writable({
          write(chunk: Buffer, _enc, cb) {
            io.stdout.write(chunk.toString('utf8').replace(/\r?\n/g, '\r\n'));
            cb();
          },
        })
      : io.stdout;
    const shellIo: Stdio = tty ? { ...io, stdout: out, stderr: out } : io;
    const echo = (text: string) => tty && write(io.stdout, text);
    const stop = readStdin((chunk) => {
      if (chunk === null) ended = true;
      else {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            lines.push(pending);
            pending = '';
            echo('\r\n');
          } else if (tty && (ch === '\x7f' || ch === '\b')) {
            if (pending) echo('\b \b');
            pending = pending.slice(0, -1);
          } else if (tty && ch === '\x03') {
            pending = '';
            echo('^C\r\n');
            lines.push('');
          } else if (tty && ch === '\x04') {
            if (!pending) ended = true;
          } else {
            pending += ch;
            echo(ch);
          }
        }
      }
      wake?.();
    });
    try {
      for (;;) {
        if (lines.length === 0 && !ended && !stopping.signal.aborted) {
          echo(`${cwd} # `);
          // Keys arrive one at a time on a terminal: wait for a whole line.
          while (lines.length === 0 && !ended && !stopping.signal.aborted) {
            await new Promise<void>((resolve) => {
              wake = resolve;
              stopping.signal.addEventListener('abort', () => resolve(), { once: true });
            });
            wake = undefined;
          }
          continue;
        }
        const line = lines.shift() ?? (ended && pending ? pending : undefined);
        if (line === undefined || stopping.signal.aborted) return status;
        if (ended && line === pending) pending = '';
        const commands = line.trim();
        if (!commands) continue;
        status = await script(commands, shellIo);
        if (/^\s*exit\b/.test(commands)) return status;
      }
    } finally {
      stop();
    }
  }

  const exited = (async (): Promise<ExitStatus> => {
    // The image's default working directory exists in its filesystem; ours is created on demand.
    if (!underMount(cwd)) {
      try {
        await mkdir(real(cwd), { recursive: true });
      } catch (err) {
        return { exitCode: 128, message: `failed to create working directory ${cwd}: ${(err as Error).message}` };
      }
    }
    // Stopped before it began (the container was deleted as it started): nothing runs.
    if (stopping.signal.aborted) return { exitCode: 143 };
    const status = await run(argv, {}, stdio, false);
    return { exitCode: stopping.signal.aborted && status === 0 ? 143 : status };
  })();

  return {
    exited,
    async stop(graceMs) {
      stopping.abort();
      const p = child;
      if (p?.pid && p.exitCode === null && p.signalCode === null) {
        const group = -p.pid;
        const signal = (sig: NodeJS.Signals) => {
          try {
            process.kill(group, sig);
          } catch {
            // already gone
          }
        };
        signal('SIGTERM');
        const timer = setTimeout(() => signal('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      await exited;
    },
  };
}

const builtins = new Set(['env', 'echo', 'sleep', 'true', ':', 'false', 'exit', 'export', 'cd', 'cat', 'ls', 'pwd', 'hostname', 'printenv', 'tar']);

function isCommand(word: string): boolean {
  const b = base(word);
  return nodeNames.has(b) || shells.has(b) || tools.has(b) || builtins.has(b) || ['npm', 'npx', 'yarn'].includes(b);
}

/** Whether the sim's shell can run `word` in an image that is not emulated (its own binaries are not there). */
export function runsCommand(word: string): boolean {
  const b = base(word);
  return shells.has(b) || tools.has(b) || builtins.has(b);
}
