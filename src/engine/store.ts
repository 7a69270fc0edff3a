/**
 * The content-addressed artifact store. An object directory appears only by an
 * atomic rename of a fully written staging directory, with its manifest written
 * last, so a crashed or killed stage can never leave an object a later run trusts.
 */
import { lstat, mkdir, readdir, rename, rm, stat, symlink, readlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { readJsonIfExists, uniqueSuffix, writeJsonAtomic } from '../util/fs.js';
import { sha256, sha256File } from '../util/hash.js';

export interface FileEntry {
  size: number;
  sha256: string;
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

  outputPath(key: string, output: string): string {
    return join(this.objectDir(key), 'out', output);
  }

  async lookup(key: string): Promise<Manifest | undefined> {
    return readJsonIfExists<Manifest>(join(this.objectDir(key), 'manifest.json'));
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

  async *manifests(): AsyncGenerator<Manifest> {
    for (const prefix of await readdir(this.objects).catch(() => [] as string[])) {
      for (const key of await readdir(join(this.objects, prefix)).catch(() => [] as string[])) {
        const manifest = await this.lookup(key);
        if (manifest) yield manifest;
      }
    }
  }

  /** Re-hashes every object; returns one line per problem found. */
  async verify(onProgress?: (key: string) => void): Promise<string[]> {
    const problems: string[] = [];
    for await (const manifest of this.manifests()) {
      onProgress?.(manifest.key);
      for (const [output, record] of Object.entries(manifest.outputs)) {
        const base = this.outputPath(manifest.key, output);
        const actual = await hashOutput(base).catch((err: Error) => err);
        if (actual instanceof Error) {
          problems.push(`${manifest.key.slice(0, 12)} ${manifest.pipeline}/${manifest.stage} ${output}: ${actual.message}`);
          continue;
        }
        for (const [file, entry] of Object.entries(record.files)) {
          const found = actual.files[file];
          if (!found) problems.push(`${manifest.key.slice(0, 12)} ${manifest.pipeline}/${manifest.stage}: ${output}/${file} is missing`);
          else if (found.sha256 !== entry.sha256) problems.push(`${manifest.key.slice(0, 12)} ${manifest.pipeline}/${manifest.stage}: ${output}/${file} is corrupt (content changed since it was written)`);
        }
        for (const file of Object.keys(actual.files)) {
          if (!(file in record.files)) problems.push(`${manifest.key.slice(0, 12)} ${manifest.pipeline}/${manifest.stage}: ${output}/${file} was added after the artifact was written`);
        }
      }
    }
    return problems;
  }

  async remove(key: string): Promise<void> {
    // Rename first so a concurrent reader never sees a half-deleted object.
    const doomed = join(this.staging, `deleting-${key}.${uniqueSuffix()}`);
    await mkdir(this.staging, { recursive: true });
    await rename(this.objectDir(key), doomed).catch(() => undefined);
    await rm(doomed, { recursive: true, force: true });
  }

  /** Staging directories left by killed runs, older than `minAgeMs`. */
  async cleanStaging(minAgeMs: number): Promise<number> {
    let removed = 0;
    for (const entry of await readdir(this.staging).catch(() => [] as string[])) {
      const path = join(this.staging, entry);
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs >= minAgeMs) {
        await rm(path, { recursive: true, force: true });
        removed++;
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

  /** Hashes the outputs, writes the manifest, and publishes the object. */
  async commit(outputs: readonly string[], fields: Omit<Manifest, 'key' | 'outputs'>): Promise<Manifest> {
    const records: Record<string, OutputRecord> = {};
    for (const output of outputs) {
      const path = this.outputPath(output);
      if (!(await lstat(path).catch(() => undefined))) {
        throw new Error(`stage did not write its declared output "${output}"`);
      }
      records[output] = await hashOutput(path);
    }
    const manifest: Manifest = { key: this.key, ...fields, outputs: records };
    await writeJsonAtomic(join(this.dir, 'manifest.json'), manifest);
    const final = this.store.objectDir(this.key);
    await mkdir(dirname(final), { recursive: true });
    try {
      await rename(this.dir, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another run published the same key first; its content is equivalent by construction.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      await this.abort();
      return (await this.store.lookup(this.key)) ?? manifest;
    }
    return manifest;
  }

  async abort(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Hashes a file, or every file under a directory, into one output record. */
export async function hashOutput(path: string): Promise<OutputRecord> {
  const files: Record<string, FileEntry> = {};
  const info = await stat(path);
  if (info.isDirectory()) {
    for (const file of await listFiles(path)) {
      const full = join(path, file);
      files[file] = { size: (await stat(full)).size, sha256: await sha256File(full) };
    }
  } else {
    files['.'] = { size: info.size, sha256: await sha256File(path) };
  }
  const digest = sha256(Object.keys(files).sort().map((f) => `${f}\0${files[f].sha256}`).join('\n'));
  return { digest, files };
}

export async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}
