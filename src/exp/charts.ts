/**
 * The one place experiment plots are drawn: panels of line charts side by side in
 * one PNG, as a Vega-Lite spec rendered like every other inkflow chart
 * (src/viz/render.ts). Callers describe data only.
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderSpecToPng } from '../viz/render.js';

export interface ChartPanel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: { name: string; points: [number, number][] }[];
  integerX?: boolean;
}

const FONT = 'DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif';

/** Two panels a row; every series a colour, named in the legend below its panel. */
export function chartsSpec(panels: ChartPanel[]): TopLevelSpec {
  const charts = panels.map((panel) => ({
    title: panel.title,
    width: 420,
    height: 280,
    data: { values: panel.series.flatMap((s) => s.points.map(([x, y]) => ({ series: s.name, x, y }))) },
    mark: { type: 'line', point: true, strokeWidth: 2.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: panel.xLabel, scale: { zero: false }, axis: panel.integerX ? { tickMinStep: 1, format: 'd' } : {} },
      y: { field: 'y', type: 'quantitative', title: panel.yLabel, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, sort: panel.series.map((s) => s.name) },
      tooltip: [{ field: 'series', type: 'nominal' }, { field: 'x', type: 'quantitative' }, { field: 'y', type: 'quantitative', format: '.4f' }],
    },
  }));
  const rows = Array.from({ length: Math.ceil(charts.length / 2) }, (_, i) => ({ hconcat: charts.slice(i * 2, i * 2 + 2) }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: {
      font: FONT,
      title: { fontSize: 15, anchor: 'middle' },
      axis: { labelFontSize: 12, titleFontSize: 13 },
      legend: { labelFontSize: 12, orient: 'bottom', columns: 2, labelLimit: 400 },
      view: { stroke: '#999' },
    },
    vconcat: rows,
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
}

export async function renderChartsPng(panels: ChartPanel[]): Promise<Uint8Array> {
  return renderSpecToPng(chartsSpec(panels));
}
