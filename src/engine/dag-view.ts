/** Renders the stage graph for terminals (layered text), Mermaid and Graphviz. */
import { topologicalOrder, type DependencyMap } from './dag.js';

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
  for (const node of topologicalOrder(deps)) depth.set(node, Math.max(-1, ...(deps.get(node) ?? []).map((d) => depth.get(d)!)) + 1);
  const lines: string[] = [];
  const layers = Math.max(...depth.values()) + 1;
  for (let layer = 0; layer < layers; layer++) {
    for (const [node, d] of depth) {
      if (d !== layer) continue;
      const from = deps.get(node) ?? [];
      lines.push(`${'  '.repeat(layer)}${layer ? '└─ ' : ''}${node} (${uses.get(node)})${from.length ? `  ← ${from.join(', ')}` : ''}`);
    }
  }
  return lines.join('\n');
}
