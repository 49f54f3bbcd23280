// Runs a node:* container's steps: `node …` as a real Node child process with the network preload (its own process
// group, so nothing it starts outlives it), shell builtins in process; stdout and stderr go to the container log.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { constants } from 'node:os';
import { posix } from 'node:path';
import type { PodNetwork } from '../net/datapath.ts';
import type { ProgramStep, Step } from './command.ts';
import { lineSplitter } from './container-log.ts';
import { hostPath } from './volumes.ts';

export interface ExitStatus {
  exitCode: number;
  /** Set when the container could not start at all (the kubelet's StartError). */
  message?: string;
}

/** One run of a container; the runtime restarts by starting a new one. */
export interface Instance {
  readonly exited: Promise<ExitStatus>;
  /** SIGTERM, then SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs: number): Promise<void>;
}

export interface ProgramContext {
  steps: ProgramStep[];
  env: Record<string, string>;
  net: PodNetwork;
  rootfs: string;
  mounts: Map<string, string>;
  /** The container's workingDir (a path inside the container); the image's default is /. */
  workingDir?: string;
  log(line: string): void;
}

/** Node options whose value is a file: mapped like the script itself. */
const fileOptions = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '--env-file']);

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

export function runProgram(ctx: ProgramContext): Instance {
  const stopping = new AbortController();
  let child: ChildProcess | undefined;
  let cwd = posix.normalize(ctx.workingDir || '/');
  const env = { ...ctx.env };
  const real = (p: string) => hostPath(ctx.rootfs, ctx.mounts, p);
  const underMount = (p: string) => [...ctx.mounts.keys()].some((m) => p === m || p.startsWith(`${m}/`));

  /** Script and file options map into the container's files; other arguments only when they name a mounted path. */
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

  function runNode(step: Extract<Step, { kind: 'node' }>): Promise<number> {
    return new Promise<number>((resolve) => {
      const p = spawn(process.execPath, [...ctx.net.preloadArgs(), ...nodeArgs(step.args)], {
        cwd: real(cwd),
        env: { ...env, ...step.env, ...ctx.net.processEnv() },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      child = p;
      const out = lineSplitter((l) => ctx.log(l));
      const err = lineSplitter((l) => ctx.log(l));
      p.stdout!.on('data', (d: Buffer) => out.write(d));
      p.stderr!.on('data', (d: Buffer) => err.write(d));
      p.on('error', (e) => {
        ctx.log(`exec node: ${e.message}`);
        resolve(128);
      });
      p.on('close', (code, signal) => {
        out.end();
        err.end();
        // Whatever the script started dies with it, as in a container whose main process exits.
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

  async function runBuiltin(step: Extract<Step, { kind: 'builtin' }>): Promise<number> {
    switch (step.name) {
      case 'true':
        return 0;
      case 'false':
        return 1;
      case 'exit':
        return Number(step.args[0] ?? 0) & 0xff;
      case 'echo': {
        const noNewline = step.args[0] === '-n';
        ctx.log((noNewline ? step.args.slice(1) : step.args).join(' '));
        return 0;
      }
      case 'export':
        for (const a of step.args) {
          const eq = a.indexOf('=');
          if (eq > 0) env[a.slice(0, eq)] = a.slice(eq + 1);
        }
        return 0;
      case 'cd': {
        const target = posix.resolve(cwd, step.args[0] ?? env.HOME ?? '/');
        const dir = real(target);
        if (!existsSync(dir) || !statSync(dir).isDirectory()) {
          ctx.log(`sh: cd: can't cd to ${step.args[0] ?? target}: No such file or directory`);
          return 2;
        }
        cwd = target;
        return 0;
      }
      case 'sleep': {
        const ms = parseSleep(step.args[0]);
        if (Number.isNaN(ms)) {
          ctx.log(`sleep: invalid number '${step.args[0] ?? ''}'`);
          return 1;
        }
        await new Promise<void>((resolve) => {
          const timer = Number.isFinite(ms) ? setTimeout(resolve, ms) : undefined;
          stopping.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
        return stopping.signal.aborted ? 143 : 0;
      }
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
    let status = 0;
    for (const { step, after } of ctx.steps) {
      if (stopping.signal.aborted) break;
      if ((after === '&&' && status !== 0) || (after === '||' && status === 0)) continue;
      if (step.kind === 'node') status = await runNode(step);
      else if (step.kind === 'builtin') status = await runBuiltin(step);
      else {
        ctx.log(step.message);
        status = 127;
      }
      if (step.kind === 'builtin' && step.name === 'exit') break;
    }
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
