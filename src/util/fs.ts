import { mkdir, rename, rm, readFile, open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, basename } from 'node:path';
import { UserInputError } from '../errors.js';

export function uniqueSuffix(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * A metadata file that exists but cannot be parsed: callers that can recover treat it
 * as missing and say which file it was; anywhere else the user sees this one line.
 */
export class DamagedFileError extends UserInputError {
  override name = 'DamagedFileError';
  constructor(readonly path: string, reason: string) {
    super(`${path} is damaged (${reason})`);
  }
}

/** An I/O failure with the path it happened on, in words a user can act on (a full disk is not a bug: no stack). */
export function describeIoError(err: unknown, path: string): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC') return Object.assign(new UserInputError(`no space left on the device holding ${path}; free some space (\`inkflow gc\` removes unused artifacts) and run again`), { code });
  if (code === 'EDQUOT') return Object.assign(new UserInputError(`disk quota exceeded writing ${path}; free some space and run again`), { code });
  if (code === 'EACCES' || code === 'EPERM') return Object.assign(new UserInputError(`permission denied writing ${path}`), { code });
  if (code === 'EROFS') return Object.assign(new UserInputError(`${path} is on a read-only file system`), { code });
  if (code === 'ENOTDIR') return Object.assign(new UserInputError(`cannot write ${path}: a part of its path is a file, not a folder; choose another place`), { code });
  return err instanceof Error && (err.message.includes(path) || !code) ? err : Object.assign(new Error(`${path}: ${(err as Error).message}`), { code });
}

/** Write a file so readers see either the old content or the new, never a torn one; a failed write leaves nothing behind. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${uniqueSuffix()}.tmp`);
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw describeIoError(err, path);
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** Parses a JSON file; unparsable content is a DamagedFileError naming the file. */
export async function readJson<T>(path: string): Promise<T> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new DamagedFileError(path, text.trim() ? `not valid JSON: ${(err as Error).message}` : 'empty');
  }
}

export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  try {
    return await readJson<T>(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
