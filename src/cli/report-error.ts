/** The one place errors become what a user sees on stderr and the process's exit code. */
import { CancelledError, ConfigError, UsageError, UserInputError } from '../errors.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

/** Writes the message for `err` and returns the exit code; bugs (anything else) are rethrown to show their stack. */
export function reportError(err: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (err instanceof ConfigError) {
    stderr.write(`${err.message}\n${err.diagnostics.length} problem(s) found; nothing was run.\n`);
    return EXIT.failed;
  }
  if (err instanceof UsageError) {
    stderr.write(`inkflow: ${err.message}\n`);
    return EXIT.usage;
  }
  if (err instanceof UserInputError) {
    stderr.write(`inkflow: ${err.message}\n`);
    return EXIT.failed;
  }
  if (err instanceof CancelledError) {
    stderr.write(`inkflow: ${err.message}\n`);
    return EXIT.cancelled;
  }
  throw err;
}
