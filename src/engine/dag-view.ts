/** Renders the stage graph for terminals (layered text), Mermaid and Graphviz. */
import { topologicalOrder, type DependencyMap } from './dag.js';

const MAX_INDENT = 30;

export type DagFormat = 'text' | 'mermaid' | 'dot';

export interface Edge {
  from: string;
  to: string;
  label: string;
}

export function renderDag(deps: DependencyMap, uses: Map<string, string>, edges: Edge[], format: DagFormat): string {
  const id = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');
  if (format === 'mermaid') {
    return ['flowchart TD', ...[...deps.keys()].map((n) => `  ${id(n)}["${n}<br/><small>${uses.get(n)}</small>"]`), ...edges.map((e) => `  ${id(e.from)} -->|${e.label}| ${id(e.to)}`)].join('\n');
  }
  if (format === 'dot') {
    return ['digraph pipeline {', '  rankdir=TB;', '  node [shape=box, style=rounded];', ...[...deps.keys()].map((n) => `  "${n}" [label="${n}\\n(${uses.get(n)})"];`), ...edges.map((e) => `  "${e.from}" -> "${e.to}" [label="${e.label}"];`), '}'].join('\n');
  }
  const depth = new Map<string, number>();
  const layers: string[][] = [];
  for (const node of topologicalOrder(deps)) {
    let d = 0;
    for (const dep of deps.get(node) ?? []) d = Math.max(d, depth.get(dep)! + 1);
    depth.set(node, d);
  }
  // Within a layer, stages keep the pipeline's order.
  for (const [node, d] of [...deps.keys()].map((n) => [n, depth.get(n)!] as const)) (layers[d] ??= []).push(node);
  const lines: string[] = [];
  layers.forEach((nodes, layer) => {
    for (const node of nodes) {
      const from = deps.get(node) ?? [];
      // Deep graphs would indent quadratically: past MAX_INDENT the layer number is shown instead.
      const indent = layer > MAX_INDENT ? `${'  '.repeat(MAX_INDENT)}[${layer}] ` : '  '.repeat(layer);
      lines.push(`${indent}${layer ? '└─ ' : ''}${node} (${uses.get(node)})${from.length ? `  ← ${from.join(', ')}` : ''}`);
    }
  });
  return lines.join('\n');
}
