/**
 * Content digests of data files named by params, remembered by (size, mtime, inode)
 * so an unchanged 40 MB dataset costs a stat, not a re-read, on every run.
 */
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { DamagedFileError, readJsonIfExists, writeJsonAtomic } from '../util/fs.js';
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
    if (!info.isDirectory() && !info.isFile()) throw new Error(`data path ${path} is not a regular file or folder (a device, pipe or socket cannot be hashed or loaded)`);
    this.cache ??= await this.readCache();
    if (!info.isDirectory()) return this.fileDigest(abs, info);
    // Image folders hold thousands of files: stat them concurrently, not one await at a time.
    const files = await listFiles(abs);
    const digests = new Array<string>(files.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++, file = files[i]; file !== undefined; i = next++, file = files[i]) {
        digests[i] = await this.fileDigest(join(abs, file));
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    return sha256(files.map((f, i) => `${f}\0${digests[i]}`).join('\n'));
  }

  /** The remembered digests; a damaged cache file only costs re-hashing, so it is treated as empty and rewritten. */
  private async readCache(): Promise<Record<string, CachedDigest>> {
    try {
      const cache = await readJsonIfExists<Record<string, CachedDigest>>(this.cacheFile);
      return cache && typeof cache === 'object' && !Array.isArray(cache) ? cache : {};
    } catch (err) {
      if (err instanceof DamagedFileError) {
        this.dirty = true;
        return {};
      }
      throw err;
    }
  }

  private async fileDigest(abs: string, known?: Stats): Promise<string> {
    const info = known ?? (await stat(abs));
    if (!info.isFile()) throw new Error(`data path ${abs} is not a regular file (a device, pipe or socket cannot be hashed or loaded)`);
    const hit = this.cache![abs];
    if (hit && hit.size === info.size && hit.mtimeMs === info.mtimeMs && hit.ino === info.ino) return hit.sha256;
    const digest = await sha256File(abs);
    this.cache![abs] = { size: info.size, mtimeMs: info.mtimeMs, ino: info.ino, sha256: digest };
    this.dirty = true;
    return digest;
  }

  async save(): Promise<void> {
    if (!this.dirty || !this.cache) return;
    // Merge with what a concurrent run may have saved meanwhile.
    const onDisk = await this.readCache();
    await writeJsonAtomic(this.cacheFile, { ...onDisk, ...this.cache });
    this.dirty = false;
  }
}
