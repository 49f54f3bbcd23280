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

/** One line for the user: message, then the hint if any. */
export function formatError(err: unknown): string {
  if (err instanceof HubbleLabError) {
    return err.hint ? `${err.message}\n  hint: ${err.hint}` : err.message;
  }
  if (err instanceof Error) return err.stack ?? err.message;
  return String(err);
}
