/**
 * Downloads a data file once into a cache folder, verifying its SHA-256, so
 * users with internet can point a pipeline at EMNIST or any published file.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { sha256File } from '../util/hash.js';
import { uniqueSuffix } from '../util/fs.js';
import { UserInputError } from '../errors.js';

export function defaultCacheDir(): string {
  return process.env.INKFLOW_CACHE_DIR ?? join(homedir(), '.cache', 'inkflow');
}

export function isUrl(path: string): boolean {
  return /^https?:\/\//.test(path);
}

export async function download(url: string, options: { sha256?: string; cacheDir?: string; signal?: AbortSignal; onProgress?: (received: number, total?: number) => void }): Promise<string> {
  const dir = options.cacheDir ?? defaultCacheDir();
  const name = `${options.sha256 ? options.sha256.slice(0, 16) : createHash('sha256').update(url).digest('hex').slice(0, 16)}-${basename(new URL(url).pathname) || 'download'}`;
  const target = join(dir, name);
  if (await stat(target).catch(() => undefined)) {
    if (!options.sha256 || (await sha256File(target)) === options.sha256) return target;
  }
  await mkdir(dir, { recursive: true });
  let response: Response;
  try {
    response = await fetch(url, { signal: options.signal });
  } catch (err) {
    throw new UserInputError(`${url}: download failed: ${(err as Error).cause ?? (err as Error).message}`);
  }
  if (!response.ok || !response.body) throw new UserInputError(`${url}: download failed: HTTP ${response.status} ${response.statusText}`);
  const total = Number(response.headers.get('content-length')) || undefined;
  const tmp = `${target}.${uniqueSuffix()}.part`;
  const hash = createHash('sha256');
  const file = createWriteStream(tmp);
  let received = 0;
  const reader = response.body.getReader();
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      const chunk = next.value;
      hash.update(chunk);
      received += chunk.length;
      if (!file.write(chunk)) await new Promise<void>((r) => file.once('drain', () => r()));
      options.onProgress?.(received, total);
    }
    await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const digest = hash.digest('hex');
    if (options.sha256 && digest !== options.sha256) {
      throw new UserInputError(`${url}: SHA-256 mismatch: expected ${options.sha256}, got ${digest}; the file changed upstream or the download was corrupted`);
    }
    await rename(tmp, target);
    return target;
  } catch (err) {
    // A failed write leaves the body half read: cancel it so the connection closes.
    await reader.cancel().catch(() => undefined);
    file.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
}
