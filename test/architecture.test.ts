/**
 * The import graph of src/ and stages/, read from the sources with TypeScript's own
 * pre-processor: the engine must not depend on the layers built on it, and no
 * module may reach itself through its imports.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

type ImportGraph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative imports (static, type-only and dynamic `import()`) of each file, as repo-relative paths. */
function importGraph(roots: string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of roots.flatMap((r) => sourceFiles(join(ROOT, r)))) {
    const text = ts.sys.readFile(file) ?? '';
    const info = ts.preProcessFile(text, true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => relative(ROOT, resolve(dirname(file), spec.replace(/\.js$/, '.ts'))));
    graph.set(relative(ROOT, file), [...new Set(targets)]);
  }
  return graph;
}

/** Strongly connected components with more than one member, or a self-import (Tarjan). */
function importCircles(graph: ImportGraph): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.includes(node)) circles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return circles;
}

const ENGINE_MUST_NOT_IMPORT = ['src/ml/', 'src/data/', 'src/phrases/', 'src/viz/', 'src/lines/', 'src/cli/', 'src/remote/', 'stages/'];

function engineViolations(graph: ImportGraph): string[] {
  return [...graph]
    .filter(([file]) => file.startsWith('src/engine/'))
    .flatMap(([file, targets]) => targets.filter((t) => ENGINE_MUST_NOT_IMPORT.some((l) => t.startsWith(l))).map((t) => `${file} -> ${t}`));
}

describe('architecture', () => {
  const graph = importGraph(['src', 'stages']);

  it('reads a real graph', () => {
    expect(graph.get('src/engine/executor.ts')).toContain('src/engine/store.ts');
    expect(graph.get('stages/train.ts')).toContain('src/engine/stage-api.ts');
  });

  it('keeps the engine free of ML, data, phrase, drawing and remote storage code', () => {
    expect(engineViolations(graph)).toEqual([]);
  });

  it('has no import circles', () => {
    expect(importCircles(graph)).toEqual([]);
  });

  it('finds a circle and an engine -> ML import when there is one', () => {
    const bad: ImportGraph = new Map([
      ['src/cli/main.ts', ['src/cli/commands/run.ts']],
      ['src/cli/commands/run.ts', ['src/cli/main.ts']],
      ['src/engine/executor.ts', ['src/ml/backend-name.ts', 'src/remote/s3-cache.ts']],
    ]);
    expect(importCircles(bad)).toEqual([['src/cli/commands/run.ts', 'src/cli/main.ts']]);
    expect(engineViolations(bad)).toEqual(['src/engine/executor.ts -> src/ml/backend-name.ts', 'src/engine/executor.ts -> src/remote/s3-cache.ts']);
  });
});
