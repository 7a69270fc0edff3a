import { relative, resolve } from 'node:path';

/** A path as the user would type it from the current directory: relative inside it, absolute outside it. */
export function displayPath(path: string): string {
  const absolute = resolve(path);
  const rel = relative(process.cwd(), absolute);
  return rel && !rel.startsWith('..') ? rel : absolute;
}
