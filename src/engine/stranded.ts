/**
 * A stage whose run() awaits a promise that nothing can ever settle (a forgotten
 * resolve, an event that never fires) leaves Node's event loop empty, and Node then
 * exits quietly with code 0 in the middle of the run. This turns that moment into
 * the stage's failure, so the run is recorded as failed and exits non-zero.
 */
import { UserInputError } from '../errors.js';

export class StrandedStageError extends UserInputError {}

export function failIfStranded<T>(work: Promise<T>, describe: () => string): Promise<T> {
  let onBeforeExit: () => void = () => undefined;
  const stranded = new Promise<never>((_, reject) => {
    onBeforeExit = () => reject(new StrandedStageError(describe()));
    process.once('beforeExit', onBeforeExit);
  });
  return Promise.race([work, stranded]).finally(() => process.off('beforeExit', onBeforeExit));
}
