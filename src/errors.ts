/**
 * The errors inkflow raises on purpose. Anything else that escapes is a bug and is
 * shown with its stack. The CLI turns these into messages and exit codes in one
 * place (src/cli/report-error.ts); the engine records their messages in run records.
 */

/** Something the user can fix: their data, params, paths or pipeline file. Shown without a stack trace. */
export class UserInputError extends Error {
  override name = 'UserInputError';
}

/** One problem in a pipeline file, at `file:line:col` (or a flag such as `--set`). */
export interface Diagnostic {
  where: string;
  message: string;
}

/** A pipeline file that cannot be run, with every problem found in it. */
export class ConfigError extends UserInputError {
  override name = 'ConfigError';
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => `${d.where}: ${d.message}`).join('\n'));
  }
}

/** A command line that does not parse: the message includes what to type instead. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The user (Ctrl-C, SIGTERM) or a caller's AbortSignal stopped the work. */
export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor(message = 'cancelled') {
    super(message);
  }
}

/** A broken invariant inside inkflow: a bug to report, shown with its stack. */
export class InternalError extends Error {
  override name = 'InternalError';
  constructor(message: string) {
    super(`internal: ${message}`);
  }
}

/** Throws CancelledError when `signal` has fired. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/** The text a user sees for `err`: the message for errors they can act on, the stack for bugs. */
export function describeError(err: unknown): string {
  if (err instanceof UserInputError || err instanceof UsageError || err instanceof CancelledError) return err.message;
  if (err instanceof Error) return err.stack ?? err.message;
  return String(err);
}
