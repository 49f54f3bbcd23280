// Typed errors: each carries the exit code and a hint that tells the user what to do next.

export const ExitCode = {
  pass: 0,
  failed: 1,
  error: 2,
  incomplete: 3,
} as const;

export class HubbleLabError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(message: string, opts: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode ?? ExitCode.error;
    this.hint = opts.hint;
  }
}

/** Bad flags or arguments. */
export class UsageError extends HubbleLabError {}

/** Bad input data: a file that cannot be read, YAML that does not validate. */
export class InputError extends HubbleLabError {}

/** Something outside us failed: a server is unreachable, an API call was refused. */
export class InfraError extends HubbleLabError {}

/** What we write cannot be written: a report folder, a file in it, standard output. */
export class OutputError extends HubbleLabError {}

/** Why a system call failed, in words (Node's messages repeat the call and the path). */
const SYSTEM_REASONS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  ENOENT: 'no such file or folder',
  EEXIST: 'it already exists',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'too many open files',
  EFBIG: 'the file is too large',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the peer',
  ETIMEDOUT: 'timed out',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this machine',
  ENOTFOUND: 'no such host',
};

/** A failed system call (fs, net, stream write): it has an errno code and the call's name. */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException & { code: string; syscall: string } {
  const e = err as NodeJS.ErrnoException | null;
  return e instanceof Error && typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) && typeof e.syscall === 'string';
}

export function systemReason(err: NodeJS.ErrnoException & { code: string }): string {
  return `${SYSTEM_REASONS[err.code] ?? err.message.replace(/^E[A-Z0-9]+: /, '').replace(/, \w+( '.*')?$/, '')} (${err.code})`;
}

/**
 * A failed system call on `target` as a one-line OutputError saying what could not be done and why, e.g.
 * "cannot create the report folder /x/y: permission denied (EACCES)"; any other error is returned as it is.
 */
export function outputError(err: unknown, action: string, target: string, hint?: string): unknown {
  if (!isSystemError(err)) return err;
  return new OutputError(`cannot ${action} ${target}: ${systemReason(err)}`, { cause: err, ...(hint ? { hint } : {}) });
}

/** One line for the user: message, then the hint if any. */
export function formatError(err: unknown): string {
  if (err instanceof HubbleLabError) {
    return err.hint ? `${err.message}\n  hint: ${err.hint}` : err.message;
  }
  // A system call that failed where no caller named what it was doing: still one line, with what we know.
  if (isSystemError(err)) {
    const net = err as { address?: string; port?: number; hostname?: string };
    const target = err.path ?? (net.address ? `${net.address}${net.port ? `:${net.port}` : ''}` : net.hostname);
    return `${err.syscall}${target ? ` ${target}` : ''} failed: ${systemReason(err)}`;
  }
  if (err instanceof Error) return err.stack ?? err.message;
  return String(err);
}
