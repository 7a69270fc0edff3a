import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

function packageVersion(name: string): string | undefined {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** The git commit of the workspace, read from .git directly (no process spawn on the hot path). */
export function gitCommit(workspace: string): string | undefined {
  try {
    const head = readFileSync(join(workspace, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    try {
      return readFileSync(join(workspace, '.git', ref), 'utf8').trim();
    } catch {
      const packed = readFileSync(join(workspace, '.git', 'packed-refs'), 'utf8');
      return packed.split('\n').find((l) => l.endsWith(` ${ref}`))?.split(' ')[0];
    }
  } catch {
    return undefined;
  }
}

export function describeEnvironment(workspace: string, backend: string) {
  const packages: Record<string, string | undefined> = {};
  for (const name of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', 'h5wasm', '@napi-rs/canvas']) {
    packages[name] = packageVersion(name);
  }
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    inkflow: inkflowVersion(),
    backend,
    packages,
    gitCommit: gitCommit(workspace),
  };
}

function inkflowVersion(): string | undefined {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}
