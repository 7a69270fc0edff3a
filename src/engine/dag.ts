/**
 * Graph helpers over "stage → the stages it depends on". All are iterative and
 * linear in stages + edges, so a 100,000-stage chain neither overflows the stack
 * nor takes quadratic time.
 */
export type DependencyMap = Map<string, string[]>;

/** Depth-first post-order (dependencies first) from `roots`, with an explicit stack; reports the first back edge. */
function depthFirst(deps: DependencyMap, roots: Iterable<string>): { order: string[]; cycle?: Cycle } {
  const state = new Map<string, 'visiting' | 'done'>();
  const order: string[] = [];
  for (const root of roots) {
    if (state.has(root)) continue;
    // Each frame is a stage on the current path and the index of its next dependency to visit.
    const path: { node: string; next: number }[] = [{ node: root, next: 0 }];
    state.set(root, 'visiting');
    for (let top = path.at(-1); top; top = path.at(-1)) {
      const dep = (deps.get(top.node) ?? [])[top.next++];
      if (dep === undefined) {
        state.set(top.node, 'done');
        order.push(top.node);
        path.pop();
        continue;
      }
      const seen = state.get(dep);
      if (seen === 'visiting') {
        // The path runs from dependant to dependency; the cycle is reported in the direction data flows.
        const between = path.slice(path.findIndex((f) => f.node === dep) + 1).map((f) => f.node);
        return { order, cycle: [dep, ...between.reverse(), dep] };
      }
      if (seen === undefined) {
        state.set(dep, 'visiting');
        path.push({ node: dep, next: 0 });
      }
    }
  }
  return { order };
}

/** A path that starts and ends at the same stage. */
export type Cycle = [string, ...string[]];

/** A cycle as a path that starts and ends at the same stage, or undefined. */
export function findCycle(deps: DependencyMap): Cycle | undefined {
  return depthFirst(deps, deps.keys()).cycle;
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
