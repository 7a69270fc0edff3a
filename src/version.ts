import { readFileSync } from 'node:fs';

/** inkflow's own version, from its package.json (src/ and dist/src/ both find it). */
export function inkflowVersion(): string | undefined {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'inkflow' && pkg.version) return pkg.version;
    } catch {
      // not at this level; try the next
    }
  }
  return undefined;
}
