/** Command-line parsing shared by every command: node:util parseArgs, with errors and numbers checked up front. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';

/** parseArgs with errors turned into usage errors that name the command; undefined after printing --help. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: T, help: string) {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(help + '\n');
    return undefined;
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}\n\n${help}`);
  }
}

export interface IntegerLimits {
  /** Smallest accepted value (inclusive); default 0. */
  min?: number;
  max?: number;
}

/**
 * A whole-number option value, or undefined when the option was not given.
 * `--keep abc`, `--keep 1.5` and values below `min` are usage errors naming the flag.
 */
export function integerOption(command: string, flag: string, text: string | undefined, limits: IntegerLimits = {}): number | undefined {
  if (text === undefined) return undefined;
  const min = limits.min ?? 0;
  const value = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  const range = limits.max === undefined ? `${min} or more` : `from ${min} to ${limits.max}`;
  if (!Number.isSafeInteger(value) || value < min || (limits.max !== undefined && value > limits.max)) {
    throw new UsageError(`${command}: --${flag} must be a whole number ${range}, got "${text}"`);
  }
  return value;
}
