/** Serving files from the workspace without ever leaving it: paths are resolved, symlinks followed, and checked. */
import { realpath, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';

/** The real path of `relativePath` under `root`, or undefined when it is outside, missing, or not a file. */
export async function fileInside(root: string, relativePath: string): Promise<string | undefined> {
  if (relativePath.includes('\0')) return undefined;
  const base = await realpath(root).catch(() => undefined);
  if (!base) return undefined;
  const target = await realpath(resolve(base, relativePath)).catch(() => undefined);
  if (!target || (target !== base && !target.startsWith(base + sep))) return undefined;
  const info = await stat(target).catch(() => undefined);
  return info?.isFile() ? target : undefined;
}

const TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.json': 'application/json',
  '.csv': 'text/csv; charset=utf-8',
  '.tsv': 'text/tab-separated-values; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
};

export function contentType(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}
