/**
 * The engine's RemoteCache on S3: content blobs at `<prefix>/cas/sha256/<hex>`, signed
 * stage entries at `<prefix>/ac/<stage key>.json` (Bazel's content/action-cache split).
 * A download trusts nothing it has not checked: the entry's signature and key (see
 * entry.ts), then every blob re-hashed as it streams in; a result lands in the local
 * store only through the store's own staging and atomic publish, so nothing half
 * downloaded or unverified is ever a cache hit.
 */
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pLimit, { type LimitFunction } from 'p-limit';
import type { RemoteCache, RemoteTransferOptions } from '../engine/remote-cache.js';
import type { ArtifactStore } from '../engine/store.js';
import { CancelledError, UserInputError } from '../errors.js';
import { describeIoError } from '../util/fs.js';
import { entryFromManifest, manifestFields, trustedEntry } from './entry.js';
import { TransferProgress } from './progress.js';
import type { S3Objects } from './s3-objects.js';
import type { SigningKey } from './signing.js';

export const blobPath = (sha256: string) => `cas/sha256/${sha256}`;
export const entryPath = (key: string) => `ac/${key}.json`;

/** A downloaded blob whose content does not match its digest: never stored. */
export class BlobIntegrityError extends UserInputError {
  override name = 'BlobIntegrityError';
}

export interface S3CacheOptions {
  /** Public keys (`ed25519:...`) whose entries are accepted. */
  trusted: Iterable<string>;
  /** Signs uploaded entries; without one the cache is read-only. */
  signingKey?: SigningKey;
  readOnly?: boolean;
  /** Blob transfers at once. */
  jobs?: number;
}

interface BlobFile {
  output: string;
  file: string;
  size: number;
  sha256: string;
}

export class S3RemoteCache implements RemoteCache {
  readonly writable: boolean;
  readonly description: string;
  private readonly trusted: ReadonlySet<string>;
  private readonly limit: LimitFunction;

  constructor(readonly objects: S3Objects, private readonly options: S3CacheOptions) {
    this.trusted = new Set(options.trusted);
    this.writable = !options.readOnly && options.signingKey !== undefined;
    this.description = objects.description;
    this.limit = pLimit(options.jobs ?? 8);
  }

  async fetch(key: string, store: ArtifactStore, options: RemoteTransferOptions = {}): Promise<boolean> {
    const text = await this.objects.getText(entryPath(key), options.signal);
    if (text === undefined) return false;
    const body = trustedEntry(text, key, this.trusted, this.objects.url(entryPath(key)));
    const files: BlobFile[] = Object.entries(body.outputs).flatMap(([output, record]) =>
      Object.entries(record.files).map(([file, entry]) => ({ output, file, ...entry })));
    const progress = new TransferProgress('downloading', files, options.onProgress);
    const staging = await store.begin(key);
    const destination = (f: BlobFile) => (f.file === '.' ? staging.outputPath(f.output) : join(staging.outputPath(f.output), f.file));
    try {
      for (const [output, record] of Object.entries(body.outputs)) {
        if (!('.' in record.files)) await mkdir(staging.outputPath(output), { recursive: true });
      }
      // A digest several files share is downloaded once and copied.
      const first = new Map<string, BlobFile>();
      for (const f of files) if (!first.has(f.sha256)) first.set(f.sha256, f);
      await eachUntilError([...first.values()], this.limit, options.signal, (f, signal) => this.download(key, f, destination(f), progress, signal));
      for (const f of files) {
        const source = first.get(f.sha256);
        if (source && source !== f) {
          await mkdir(dirname(destination(f)), { recursive: true });
          await copyFile(destination(source), destination(f));
          progress.add(f.size);
        }
      }
      if (options.signal?.aborted) throw new CancelledError();
      await staging.commit(Object.keys(body.outputs), manifestFields(body));
    } catch (err) {
      await staging.abort();
      throw err;
    }
    progress.finish();
    return true;
  }

  async publish(key: string, store: ArtifactStore, options: RemoteTransferOptions = {}): Promise<void> {
    await this.upload(key, store, options);
  }

  /**
   * publish, saying how many bytes went up: 0 when the remote had every blob already
   * (the signed entry is written regardless, so a push also repairs a missing or forged one).
   */
  async upload(key: string, store: ArtifactStore, options: RemoteTransferOptions = {}): Promise<{ bytes: number }> {
    if (!this.writable) {
      throw new UserInputError(this.options.readOnly
        ? `${this.description} is read-only here; nothing is uploaded`
        : `no signing key to sign uploads to ${this.description}: make one with \`inkflow remote keygen\` and trust its public key with \`inkflow remote trust\``);
    }
    const found = await store.check(key);
    if (found.state !== 'hit') throw new UserInputError(`no intact local result for key ${key} to upload${found.state === 'damaged' ? ` (${found.problems.join('; ')})` : ''}`);
    const manifest = found.manifest;
    const files: (BlobFile & { path: string })[] = Object.entries(manifest.outputs).flatMap(([output, record]) =>
      Object.entries(record.files).map(([file, entry]) => ({ output, file, size: entry.size, sha256: entry.sha256, path: file === '.' ? store.outputPath(key, output) : join(store.outputPath(key, output), file) })));
    const unique = new Map(files.map((f) => [f.sha256, f]));
    const progress = new TransferProgress('uploading', [...unique.values()], options.onProgress);
    let bytes = 0;
    await eachUntilError([...unique.values()], this.limit, options.signal, async (f, signal) => {
      const there = await this.objects.head(blobPath(f.sha256), signal);
      // Already uploaded (by anyone: blobs are named by their content), so a rerun resumes where it stopped.
      if (there?.size === f.size) return progress.add(f.size, true);
      await this.uploadBlob(key, f, progress, signal);
      bytes += f.size;
    });
    // The entry goes last: a remote never lists a result whose blobs are not all there.
    await this.objects.putText(entryPath(key), JSON.stringify(entryFromManifest(manifest, this.options.signingKey!)), options.signal);
    progress.finish();
    return { bytes };
  }

  private async download(key: string, f: BlobFile, dest: string, progress: TransferProgress, signal: AbortSignal | undefined): Promise<void> {
    const path = blobPath(f.sha256);
    const got = await this.objects.getStream(path, signal);
    if (!got) throw new UserInputError(`stage entry for key ${key} lists ${f.output}/${f.file}, but its blob ${this.objects.url(path)} is not on ${this.description} (removed by gc or a lifecycle rule?); the stage is computed instead`);
    await mkdir(dirname(dest), { recursive: true });
    const hash = createHash('sha256');
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        progress.add(chunk.length);
        done(null, chunk);
      },
    });
    try {
      await pipeline(got.stream, counter, createWriteStream(dest, { flags: 'wx' }), { signal });
    } catch (err) {
      if (signal?.aborted) throw new CancelledError();
      if (['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS'].includes((err as NodeJS.ErrnoException).code ?? '')) throw describeIoError(err, dest);
      throw this.objects.describe(err, `downloading ${this.objects.url(path)}`);
    }
    const actual = hash.digest('hex');
    if (actual === f.sha256 && bytes === f.size) return;
    // Content that does not hash to its name is of no use to anyone: a client that may write removes it, so the next upload replaces it.
    const removed = this.writable && bytes === got.size ? await this.objects.delete([path]).then(() => true, () => false) : false;
    throw new BlobIntegrityError(`stage key ${key}: blob ${this.objects.url(path)} (${f.output}/${f.file}) is corrupt: ${bytes === f.size ? `its content hashes to ${actual}` : `it has ${bytes} bytes, not ${f.size}`}; it was not stored${removed ? ', and was removed from the remote' : ''}`);
  }

  private async uploadBlob(key: string, f: BlobFile & { path: string }, progress: TransferProgress, signal: AbortSignal | undefined): Promise<void> {
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const body: Readable = createReadStream(f.path).pipe(hashing);
    let reported = 0;
    await this.objects.upload(blobPath(f.sha256), body, f.size, (loaded) => {
      progress.add(loaded - reported);
      reported = loaded;
    }, signal);
    progress.add(f.size - reported);
    // The local file changed under the store's nose: what went up is not the blob its name says.
    if (hash.digest('hex') !== f.sha256) {
      await this.objects.delete([blobPath(f.sha256)]).catch(() => undefined);
      throw new UserInputError(`local result ${key} is damaged (${f.path} no longer matches its manifest); nothing was uploaded for it; \`inkflow verify --repair\` rebuilds it`);
    }
  }
}

/**
 * `work` on each item, `limit` at a time. The first failure stops the others (through the
 * signal they are given) and is what this rejects with, once every started one has
 * stopped: nothing is still writing into a staging directory that is about to be removed.
 */
async function eachUntilError<T>(items: readonly T[], limit: LimitFunction, outer: AbortSignal | undefined, work: (item: T, signal: AbortSignal) => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const signal = outer ? AbortSignal.any([outer, stop.signal]) : stop.signal;
  // Every request of every file listens to this one signal; that is many listeners, not a leak.
  setMaxListeners(0, signal);
  let failure: { error: unknown } | undefined;
  await Promise.all(items.map((item) => limit(async () => {
    if (signal.aborted) return;
    try {
      await work(item, signal);
    } catch (error) {
      failure ??= { error };
      stop.abort();
    }
  })));
  if (failure) throw failure.error;
  if (outer?.aborted) throw new CancelledError();
}
