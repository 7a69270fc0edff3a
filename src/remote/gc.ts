/**
 * `inkflow gc --remote`: stage entries uploaded more than `olderThan` ago are removed
 * (unless a run this workspace still records used them), then blobs no remaining entry
 * lists. A blob younger than the cut-off is always kept: it may belong to an upload
 * still in progress, whose entry is written last.
 */
import type { S3RemoteCache } from './s3-cache.js';
import { entryPath } from './s3-cache.js';

export interface RemoteGcOptions {
  olderThanMs: number;
  /** Stage keys to keep whatever their age. */
  keep: ReadonlySet<string>;
  dryRun?: boolean;
  now?: number;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

export interface RemoteGcResult {
  entries: number;
  blobs: number;
  bytes: number;
  keptEntries: number;
  keptBlobs: number;
}

const ENTRY = /^ac\/([0-9a-f]{64})\.json$/;
const BLOB = /^cas\/sha256\/([0-9a-f]{64})$/;

export async function collectRemoteGarbage(cache: S3RemoteCache, options: RemoteGcOptions): Promise<RemoteGcResult> {
  const { objects } = cache;
  const cutoff = (options.now ?? Date.now()) - options.olderThanMs;
  const doomedEntries: string[] = [];
  const keptEntries: string[] = [];
  for await (const object of objects.list('ac/', options.signal)) {
    const key = ENTRY.exec(object.key)?.[1];
    if (!key) continue;
    (object.lastModified.getTime() < cutoff && !options.keep.has(key) ? doomedEntries : keptEntries).push(key);
  }
  options.onProgress?.(`reading ${keptEntries.length} kept stage entries`);
  const referenced = new Set<string>();
  for (const key of keptEntries) {
    // Only which blobs an entry lists matters here, trusted or not: keeping a blob is always safe.
    const text = await objects.getText(entryPath(key), options.signal);
    for (const digest of listedBlobs(text)) referenced.add(digest);
  }
  const doomedBlobs: { path: string; size: number }[] = [];
  let keptBlobs = 0;
  for await (const object of objects.list('cas/sha256/', options.signal)) {
    const digest = BLOB.exec(object.key)?.[1];
    if (!digest) continue;
    if (!referenced.has(digest) && object.lastModified.getTime() < cutoff) doomedBlobs.push({ path: object.key, size: object.size });
    else keptBlobs++;
  }
  if (!options.dryRun) {
    // Entries first: a remote never lists a result whose blobs are gone.
    await objects.delete(doomedEntries.map(entryPath), options.signal);
    await objects.delete(doomedBlobs.map((b) => b.path), options.signal);
  }
  return {
    entries: doomedEntries.length,
    blobs: doomedBlobs.length,
    bytes: doomedBlobs.reduce((n, b) => n + b.size, 0),
    keptEntries: keptEntries.length,
    keptBlobs,
  };
}

function listedBlobs(text: string | undefined): string[] {
  if (text === undefined) return [];
  try {
    const entry = JSON.parse(text) as { body?: { outputs?: Record<string, { files?: Record<string, { sha256?: unknown }> }> } };
    return Object.values(entry.body?.outputs ?? {}).flatMap((o) => Object.values(o.files ?? {})).map((f) => f.sha256).filter((d): d is string => typeof d === 'string');
  } catch {
    return [];
  }
}
