/** Vega-Lite specs (src/viz/specs.ts, the same ones the CLI renders to PNG) embedded with vega-embed. */
import type { TopLevelSpec } from 'vega-lite';

interface EmbedResult {
  view: { addSignalListener(name: string, handler: (name: string, value: unknown) => void): void; finalize(): void };
}
declare const vegaEmbed: (el: HTMLElement, spec: TopLevelSpec, options?: object) => Promise<EmbedResult>;

let vegaLoading: Promise<void> | undefined;

/** vega, vega-lite and vega-embed (about 1.3 MB) load with the first chart, not with the runs table. */
function loadVega(): Promise<void> {
  vegaLoading ??= ['/vendor/vega.js', '/vendor/vega-lite.js', '/vendor/vega-embed.js'].reduce((prev, src) => prev.then(() => new Promise<void>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  })), Promise.resolve());
  return vegaLoading;
}

export async function chart(el: HTMLElement, spec: TopLevelSpec): Promise<EmbedResult> {
  await loadVega();
  return vegaEmbed(el, spec, { actions: { export: true, source: false, compiled: false, editor: false }, renderer: 'svg', tooltip: true });
}

/** Width for a chart panel that fits the screen (phones included). */
export function panelWidth(el: HTMLElement, panels = 1): number {
  const width = el.clientWidth || document.body.clientWidth || 800;
  return Math.max(220, Math.min(520, Math.floor(width / panels) - 110));
}
