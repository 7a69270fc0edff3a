/**
 * Graph helpers over "stage → the stages it depends on". All are iterative and
 * linear in stages + edges, so a 100,000-stage chain neither overflows the stack
 * nor takes quadratic time.
 */
export type DependencyMap = Map<string, string[]>;

/** Depth-first post-order (dependencies first) from `roots`, with an explicit stack; reports the first back edge. */
function depthFirst(deps: DependencyMap, roots: Iterable<string>): { order: string[]; cycle?: string[] } {
  const state = new Map<string, 'visiting' | 'done'>();
  const order: string[] = [];
  for (const root of roots) {
    if (state.has(root)) continue;
    const path: string[] = [root];
    const next: number[] = [0];
    state.set(root, 'visiting');
    while (path.length) {
      const node = path[path.length - 1];
      const nodeDeps = deps.get(node) ?? [];
      const i = next[next.length - 1]++;
      if (i < nodeDeps.length) {
        const dep = nodeDeps[i];
        const seen = state.get(dep);
        if (seen === 'visiting') return { order, cycle: [...path.slice(path.indexOf(dep)), dep] };
        if (seen === undefined) {
          state.set(dep, 'visiting');
          path.push(dep);
          next.push(0);
        }
      } else {
        state.set(node, 'done');
        order.push(node);
        path.pop();
        next.pop();
      }
    }
  }
  return { order };
}

/** A cycle as a path that starts and ends at the same stage, or undefined. */
export function findCycle(deps: DependencyMap): string[] | undefined {
  return depthFirst(deps, deps.keys()).cycle?.reverse();
}

/** Every stage after the stages it depends on. */
export function topologicalOrder(deps: DependencyMap): string[] {
  return depthFirst(deps, deps.keys()).order;
}

/** `start` and every stage that depends on it, directly or not. */
export function downstreamOf(deps: DependencyMap, start: string): Set<string> {
  const dependants = new Map<string, string[]>();
  for (const [node, nodeDeps] of deps) {
    for (const dep of nodeDeps) {
      const list = dependants.get(dep);
      if (list) list.push(node);
      else dependants.set(dep, [node]);
    }
  }
  return reachable(start, (node) => dependants.get(node) ?? []);
}

/** `start` and everything it depends on. */
export function upstreamOf(deps: DependencyMap, start: string): Set<string> {
  return reachable(start, (node) => deps.get(node) ?? []);
}

function reachable(start: string, next: (node: string) => readonly string[]): Set<string> {
  const result = new Set([start]);
  const queue = [start];
  while (queue.length) {
    for (const n of next(queue.pop()!)) {
      if (!result.has(n)) {
        result.add(n);
        queue.push(n);
      }
    }
  }
  return result;
}

/** Stage → the stages whose outputs it takes as inputs. */
export function dependencyMap(pipeline: { stages: ReadonlyMap<string, { inputs: Record<string, { stage: string }> }> }): DependencyMap {
  return new Map([...pipeline.stages].map(([name, s]) => [name, [...new Set(Object.values(s.inputs).map((i) => i.stage))]]));
}
