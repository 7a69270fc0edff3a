/** Graph helpers over "stage → the stages it depends on". */
export type DependencyMap = Map<string, string[]>;

/** A cycle as a path that starts and ends at the same stage, or undefined. */
export function findCycle(deps: DependencyMap): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const dep of deps.get(node) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of deps.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle.reverse();
  }
  return undefined;
}

export function topologicalOrder(deps: DependencyMap): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (node: string) => {
    if (done.has(node)) return;
    done.add(node);
    for (const dep of deps.get(node) ?? []) visit(dep);
    order.push(node);
  };
  for (const node of deps.keys()) visit(node);
  return order;
}

/** `start` and every stage that depends on it, directly or not. */
export function downstreamOf(deps: DependencyMap, start: string): Set<string> {
  const result = new Set([start]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [node, nodeDeps] of deps) {
      if (!result.has(node) && nodeDeps.some((d) => result.has(d))) {
        result.add(node);
        grew = true;
      }
    }
  }
  return result;
}

/** `start` and everything it depends on. */
export function upstreamOf(deps: DependencyMap, start: string): Set<string> {
  const result = new Set<string>();
  const visit = (node: string) => {
    if (result.has(node)) return;
    result.add(node);
    for (const dep of deps.get(node) ?? []) visit(dep);
  };
  visit(start);
  return result;
}

/** Stage → the stages whose outputs it takes as inputs. */
export function dependencyMap(pipeline: { stages: ReadonlyMap<string, { inputs: Record<string, { stage: string }> }> }): DependencyMap {
  return new Map([...pipeline.stages].map(([name, s]) => [name, [...new Set(Object.values(s.inputs).map((i) => i.stage))]]));
}
