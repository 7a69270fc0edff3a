/**
 * The content-addressed artifact store. An object directory appears only by an
 * atomic rename of a fully written staging directory, with its manifest written
 * last, so a crashed or killed stage can never leave an object a later run trusts.
 * Published outputs are made read-only, and every cache hit checks each file's
 * size and modification stamp (re-hashing a file whose stamp moved), so a
 * changed or damaged object is a cache miss that the rerun replaces, never trusted.
 */
import { chmod, lstat, mkdir, readdir, rename, rm, stat, symlink, readlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { DamagedFileError, describeIoError, readJson, uniqueSuffix, writeJsonAtomic } from '../util/fs.js';
import { sha256, sha256File } from '../util/hash.js';
import { pushAll } from '../util/arrays.js';

export interface FileEntry {
  size: number;
  sha256: string;
  /** Modification time when published: the cheap stamp a cache hit compares. */
  mtimeMs?: number;
}

export interface OutputRecord {
  /** Digest over the output's file list and contents: what downstream keys use. */
  digest: string;
  files: Record<string, FileEntry>;
}

export interface Manifest {
  key: string;
  pipeline: string;
  stage: string;
  uses: string;
  createdAt: string;
  seconds: number;
  ingredients: KeyIngredients;
  outputs: Record<string, OutputRecord>;
  metrics: Record<string, number>;
}

export interface KeyIngredients {
  format: number;
  uses: string;
  version: number;
  code: string;
  params: Record<string, unknown>;
  inputs: Record<string, string>;
  files: Record<string, string>;
  /**
   * Key entries of the stage's environment (e.g. `backend`), spread at the top level
   * so keys are the same as when the backend was a field of its own.
   */
  [environmentEntry: string]: unknown;
}

/** What a lookup found: a trustworthy object, nothing, or an object that must not be used (and why). */
export type Lookup =
  | { state: 'hit'; manifest: Manifest }
  | { state: 'missing' }
  | { state: 'damaged'; problems: string[]; manifest?: Manifest };

export interface ObjectProblem {
  key: string;
  pipeline?: string;
  stage?: string;
  message: string;
}

/** The ingredient fields every key has; anything else came from a stage environment. */
export const STANDARD_INGREDIENTS: readonly string[] = ['format', 'uses', 'version', 'code', 'params', 'inputs', 'files'];

export class ArtifactStore {
  readonly objects: string;
  readonly staging: string;

  constructor(readonly root: string) {
    this.objects = join(root, 'objects');
    this.staging = join(root, 'tmp');
  }

  objectDir(key: string): string {
    return join(this.objects, key.slice(0, 2), key);
  }

  manifestPath(key: string): string {
    return join(this.objectDir(key), 'manifest.json');
  }

  outputPath(key: string, output: string): string {
    return join(this.objectDir(key), 'out', output);
  }

  /** The manifest of a trustworthy object, or undefined (missing or damaged). */
  async lookup(key: string): Promise<Manifest | undefined> {
    const found = await this.check(key);
    return found.state === 'hit' ? found.manifest : undefined;
  }

  /**
   * Reads an object's manifest and checks each output file's size and stamp;
   * a file whose stamp moved is re-hashed. With `rehash`, every file is re-hashed.
   */
  async check(key: string, options: { rehash?: boolean } = {}): Promise<Lookup> {
    let manifest: Manifest;
    try {
      manifest = await readJson<Manifest>(this.manifestPath(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        const dirExists = await stat(this.objectDir(key)).then(() => true, () => false);
        return dirExists ? { state: 'damaged', problems: [`${this.manifestPath(key)} is missing`] } : { state: 'missing' };
      }
      if (err instanceof DamagedFileError) return { state: 'damaged', problems: [err.message] };
      throw err;
    }
    if (!isManifest(manifest, key)) return { state: 'damaged', problems: [`${this.manifestPath(key)} is damaged (not an inkflow manifest for this key)`] };
    const problems: string[] = [];
    for (const [output, record] of Object.entries(manifest.outputs)) {
      const base = this.outputPath(key, output);
      for (const [file, entry] of Object.entries(record.files)) {
        const path = file === '.' ? base : join(base, file);
        const problem = await checkFile(path, entry, options.rehash ?? false);
        if (problem) problems.push(`${output}/${file} ${problem} (${path})`);
      }
    }
    return problems.length ? { state: 'damaged', problems, manifest } : { state: 'hit', manifest };
  }

  async begin(key: string): Promise<Staging> {
    const dir = join(this.staging, `${key}.${uniqueSuffix()}`);
    await mkdir(join(dir, 'out'), { recursive: true });
    return new Staging(this, key, dir);
  }

  /** Points `artifacts/<pipeline>/<stage>` at the object's outputs, replacing the old link atomically. */
  async link(pipeline: string, stage: string, key: string): Promise<string> {
    const linkPath = join(this.root, pipeline, stage);
    await mkdir(dirname(linkPath), { recursive: true });
    const target = relative(dirname(linkPath), join(this.objectDir(key), 'out'));
    const current = await readlink(linkPath).catch(() => undefined);
    if (current === target) return linkPath;
    const tmp = `${linkPath}.${uniqueSuffix()}.link`;
    await symlink(target, tmp, 'dir');
    await rename(tmp, linkPath);
    return linkPath;
  }

  /** Every object key in the store, including objects whose manifest is damaged. */
  async keys(): Promise<string[]> {
    const keys: string[] = [];
    for (const prefix of (await readdir(this.objects).catch(() => [] as string[])).sort()) {
      for (const key of (await readdir(join(this.objects, prefix)).catch(() => [] as string[])).sort()) keys.push(key);
    }
    return keys;
  }

  async *manifests(): AsyncGenerator<Manifest> {
    for (const key of await this.keys()) {
      const manifest = await readJson<Manifest>(this.manifestPath(key)).catch(() => undefined);
      if (manifest && isManifest(manifest, key)) yield manifest;
    }
  }

  /** Re-hashes every object; returns one entry per damaged object. */
  async verify(onProgress?: (key: string, bytes: number) => void): Promise<ObjectProblem[]> {
    const problems: ObjectProblem[] = [];
    for (const key of await this.keys()) {
      const found = await this.check(key, { rehash: true });
      const manifest = found.state === 'missing' ? undefined : found.manifest;
      const messages = found.state === 'damaged' ? [...found.problems] : [];
      if (manifest) messages.push(...(await this.addedFiles(manifest)));
      for (const message of messages) problems.push({ key, pipeline: manifest?.pipeline, stage: manifest?.stage, message });
      onProgress?.(key, manifest ? objectBytes(manifest) : 0);
    }
    return problems;
  }

  private async addedFiles(manifest: Manifest): Promise<string[]> {
    const added: string[] = [];
    for (const [output, record] of Object.entries(manifest.outputs)) {
      const base = this.outputPath(manifest.key, output);
      if (!(await stat(base).catch(() => undefined))?.isDirectory()) continue;
      for (const file of await listFiles(base).catch(() => [] as string[])) {
        if (!(file in record.files)) added.push(`${output}/${file} was added after the artifact was written (${join(base, file)})`);
      }
    }
    return added;
  }

  async remove(key: string): Promise<void> {
    // Rename first so a concurrent reader never sees a half-deleted object.
    const doomed = join(this.staging, `deleting-${key}.${uniqueSuffix()}`);
    await mkdir(this.staging, { recursive: true });
    await rename(this.objectDir(key), doomed).catch(() => undefined);
    await removeTree(doomed);
  }

  /** Staging directories left by killed runs, older than `minAgeMs`, except those of keys a live run holds. */
  async cleanStaging(minAgeMs: number, inUse: ReadonlySet<string> = new Set()): Promise<number> {
    let removed = 0;
    for (const entry of await readdir(this.staging).catch(() => [] as string[])) {
      if (inUse.has(entry.split('.', 1)[0] ?? entry)) continue;
      const path = join(this.staging, entry);
      const info = await stat(path).catch(() => undefined);
      if (info && (entry.startsWith('deleting-') || Date.now() - info.mtimeMs >= minAgeMs)) {
        await removeTree(path);
        removed++;
      }
    }
    return removed;
  }

  /** Human links under `artifacts/<pipeline>/` whose object is gone. */
  async removeDanglingLinks(): Promise<number> {
    let removed = 0;
    for (const pipeline of await readdir(this.root, { withFileTypes: true }).catch(() => [])) {
      if (!pipeline.isDirectory() || ['objects', 'tmp', 'leases'].includes(pipeline.name)) continue;
      const dir = join(this.root, pipeline.name);
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (entry.isSymbolicLink() && !(await stat(join(dir, entry.name)).catch(() => undefined))) {
          await rm(join(dir, entry.name), { force: true });
          removed++;
        }
      }
    }
    return removed;
  }
}

export class Staging {
  constructor(private readonly store: ArtifactStore, readonly key: string, readonly dir: string) {}

  outputPath(output: string): string {
    return join(this.dir, 'out', output);
  }

  /**
   * Hashes the outputs, makes them read-only, writes the manifest, and publishes
   * the object. If the key is already published, an intact object is kept (its
   * content is equivalent by construction) and a damaged one is replaced by this result.
   */
  async commit(outputs: readonly string[], fields: Omit<Manifest, 'key' | 'outputs'>): Promise<Manifest> {
    const records: Record<string, OutputRecord> = {};
    for (const output of outputs) {
      const path = this.outputPath(output);
      if (!(await lstat(path).catch(() => undefined))) {
        throw new Error(`stage did not write its declared output "${output}"`);
      }
      records[output] = await hashOutput(path);
    }
    await makeReadOnly(join(this.dir, 'out'));
    const manifest: Manifest = { key: this.key, ...fields, outputs: records };
    await writeJsonAtomic(join(this.dir, 'manifest.json'), manifest);
    await chmod(join(this.dir, 'manifest.json'), 0o444);
    const final = this.store.objectDir(this.key);
    await mkdir(dirname(final), { recursive: true });
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(this.dir, final);
        return manifest;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= 3) throw describeIoError(err, final);
      }
      // Another run published the same key first, or a damaged object sits there. Collisions are
      // rare and this stage's work cost far more than a re-hash, so the existing object is re-hashed:
      // damage its stamp does not show is replaced too.
      const existing = await this.store.check(this.key, { rehash: true });
      if (existing.state === 'hit') {
        await this.abort();
        return existing.manifest;
      }
      if (existing.state === 'damaged') await this.store.remove(this.key);
    }
  }

  async abort(): Promise<void> {
    await removeTree(this.dir);
  }
}

function isManifest(value: unknown, key: string): value is Manifest {
  const m = value as Manifest;
  return !!m && typeof m === 'object' && m.key === key && !!m.outputs && typeof m.outputs === 'object' &&
    Object.values(m.outputs).every((o) => o && typeof o.digest === 'string' && o.files && typeof o.files === 'object');
}

async function checkFile(path: string, entry: FileEntry, rehash: boolean): Promise<string | undefined> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return 'is missing';
  if (!info.isFile()) return 'is not a regular file any more';
  if (info.size !== entry.size) return `is corrupt (changed size: ${entry.size} -> ${info.size} bytes)`;
  if (!rehash && entry.mtimeMs !== undefined && info.mtimeMs === entry.mtimeMs) return undefined;
  if (!rehash && entry.mtimeMs === undefined) return undefined;
  return (await sha256File(path)) === entry.sha256 ? undefined : 'is corrupt (content changed since it was written)';
}

function objectBytes(manifest: Manifest): number {
  return Object.values(manifest.outputs).flatMap((o) => Object.values(o.files)).reduce((n, f) => n + f.size, 0);
}

/** Published outputs are read-only: a stray write through a human link or a stage input fails instead of changing the store. */
async function makeReadOnly(path: string): Promise<void> {
  const info = await lstat(path);
  if (info.isDirectory()) {
    for (const entry of await readdir(path)) await makeReadOnly(join(path, entry));
    await chmod(path, 0o555);
  } else if (info.isFile()) {
    await chmod(path, 0o444);
  }
}

/** rm -rf that also works on read-only directories (as a non-root user). */
export async function removeTree(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return;
  if (info.isDirectory()) {
    await chmod(path, 0o755).catch(() => undefined);
    for (const entry of await readdir(path).catch(() => [] as string[])) {
      const child = join(path, entry);
      if ((await lstat(child).catch(() => undefined))?.isDirectory()) await removeTree(child);
    }
  }
  await rm(path, { recursive: true, force: true });
}

/** Hashes a file, or every file under a directory, into one output record. */
export async function hashOutput(path: string): Promise<OutputRecord> {
  const files: Record<string, FileEntry> = {};
  const info = await stat(path);
  if (info.isDirectory()) {
    for (const file of await listFiles(path)) {
      const full = join(path, file);
      const fileInfo = await stat(full);
      files[file] = { size: fileInfo.size, sha256: await sha256File(full), mtimeMs: fileInfo.mtimeMs };
    }
  } else {
    files['.'] = { size: info.size, sha256: await sha256File(path), mtimeMs: info.mtimeMs };
  }
  return { digest: outputDigest(files), files };
}

/** The digest downstream keys use: over an output's file list and each file's content digest. */
export function outputDigest(files: Readonly<Record<string, { sha256: string }>>): string {
  return sha256(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([f, entry]) => `${f}\0${entry.sha256}`).join('\n'));
}

export async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) pushAll(out, await listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** Checks that the files of upstream outputs a stage read still match their manifests (size and stamp). */
export async function changedInputs(store: ArtifactStore, inputs: { name: string; manifest: Manifest; output: string }[]): Promise<string[]> {
  const changed: string[] = [];
  for (const { name, manifest, output } of inputs) {
    const base = store.outputPath(manifest.key, output);
    for (const [file, entry] of Object.entries(manifest.outputs[output]?.files ?? {})) {
      const path = file === '.' ? base : join(base, file);
      const problem = await checkFile(path, entry, false);
      if (problem) changed.push(`input "${name}" ${path} ${problem}`);
    }
  }
  return changed;
}
