/**
 * Content digests of data files named by params, remembered by (size, mtime, inode)
 * so an unchanged 40 MB dataset costs a stat, not a re-read, on every run.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../util/fs.js';
import { sha256, sha256File } from '../util/hash.js';
import { listFiles } from './store.js';

interface CachedDigest {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

export class FileDigests {
  private cache: Record<string, CachedDigest> | undefined;
  private dirty = false;

  constructor(private readonly cacheFile: string) {}

  /** Digest of a file or of a whole folder; throws a clear error when the path is missing. */
  async digest(path: string): Promise<string> {
    const abs = resolve(path);
    const info = await stat(abs).catch(() => undefined);
    if (!info) throw new Error(`data path not found: ${path}`);
    if (!info.isDirectory()) return this.fileDigest(abs);
    const parts: string[] = [];
    for (const file of await listFiles(abs)) parts.push(`${file}\0${await this.fileDigest(join(abs, file))}`);
    return sha256(parts.join('\n'));
  }

  private async fileDigest(abs: string): Promise<string> {
    this.cache ??= (await readJsonIfExists<Record<string, CachedDigest>>(this.cacheFile)) ?? {};
    const info = await stat(abs);
    const hit = this.cache[abs];
    if (hit && hit.size === info.size && hit.mtimeMs === info.mtimeMs && hit.ino === info.ino) return hit.sha256;
    const digest = await sha256File(abs);
    this.cache[abs] = { size: info.size, mtimeMs: info.mtimeMs, ino: info.ino, sha256: digest };
    this.dirty = true;
    return digest;
  }

  async save(): Promise<void> {
    if (!this.dirty || !this.cache) return;
    // Merge with what a concurrent run may have saved meanwhile.
    const onDisk = (await readJsonIfExists<Record<string, CachedDigest>>(this.cacheFile)) ?? {};
    await writeJsonAtomic(this.cacheFile, { ...onDisk, ...this.cache });
    this.dirty = false;
  }
}
