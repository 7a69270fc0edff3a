import { isAbsolute, relative, resolve } from 'node:path';

/** Whether `path` is `dir` or lies below it (both absolute, or both relative to one folder). */
export function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** A path as the user would type it from the current directory: relative inside it, absolute outside it. */
export function displayPath(path: string): string {
  const absolute = resolve(path);
  const rel = relative(process.cwd(), absolute);
  return rel && !rel.startsWith('..') ? rel : absolute;
}
