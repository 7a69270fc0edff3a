/** Vega-Lite spec → PNG in Node: vega renders SVG without a DOM, resvg rasterises it. */
import type { TopLevelSpec } from 'vega-lite';

export async function renderSpecToSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** `scale` 2 gives crisp text on high-density screens and in documents. */
export async function renderSpecToPng(spec: TopLevelSpec, scale = 2): Promise<Uint8Array> {
  const svg = await renderSpecToSvg(spec);
  const { Resvg } = await import('@resvg/resvg-js');
  const png = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  }).render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
