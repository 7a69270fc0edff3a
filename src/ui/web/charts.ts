/** Vega-Lite specs (src/viz/specs.ts, the same ones the CLI renders to PNG) embedded with vega-embed. */
import type { TopLevelSpec } from 'vega-lite';

interface EmbedResult {
  view: { addSignalListener(name: string, handler: (name: string, value: unknown) => void): void; finalize(): void };
}
declare const vegaEmbed: (el: HTMLElement, spec: TopLevelSpec, options?: object) => Promise<EmbedResult>;

export async function chart(el: HTMLElement, spec: TopLevelSpec): Promise<EmbedResult> {
  return vegaEmbed(el, spec, { actions: { export: true, source: false, compiled: false, editor: false }, renderer: 'svg', tooltip: true });
}

/** Width for a chart panel that fits the screen (phones included). */
export function panelWidth(el: HTMLElement, panels = 1): number {
  const width = el.clientWidth || document.body.clientWidth || 800;
  return Math.max(220, Math.min(520, Math.floor(width / panels) - 110));
}
