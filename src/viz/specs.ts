/**
 * Vega-Lite specs for every chart inkflow draws. The dashboard renders them in
 * the browser and `visualize` renders the same specs to PNG (src/viz/render.ts),
 * so the CLI and the UI draw alike. Pure data → JSON: no Node or DOM imports.
 */
import type { TopLevelSpec } from 'vega-lite';

/** One epoch of training history (a subset of train's EpochRecord). */
export interface EpochPoint {
  epoch: number;
  loss?: number;
  accuracy?: number;
  val_loss?: number;
  val_accuracy?: number;
  /** Character error rate, for line models (train-lines reports it on the validation lines). */
  cer?: number;
  val_cer?: number;
  learning_rate?: number;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const FONT = 'DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif';
const CONFIG = {
  font: FONT,
  title: { fontSize: 15, anchor: 'middle' as const },
  axis: { labelFontSize: 12, titleFontSize: 13 },
  legend: { labelFontSize: 12, titleFontSize: 12, orient: 'bottom' as const },
  view: { stroke: '#999' },
};

interface CurveRow { run: string; epoch: number; split: string; value: number }

type Metric = 'loss' | 'accuracy' | 'cer';

function curveRows(epochs: EpochPoint[], metric: Metric, run: string): CurveRow[] {
  const rows: CurveRow[] = [];
  for (const e of epochs) {
    const train = e[metric];
    const val = e[`val_${metric}`];
    if (typeof train === 'number') rows.push({ run, epoch: e.epoch, split: 'train', value: train });
    if (typeof val === 'number') rows.push({ run, epoch: e.epoch, split: 'validation', value: val });
  }
  return rows;
}

/** Epochs where the learning rate dropped, labelled with the new rate. */
function learningRateDrops(epochs: EpochPoint[]): { epoch: number; label: string }[] {
  return epochs.flatMap((e, i) => {
    const before = epochs[i - 1]?.learning_rate;
    return e.learning_rate !== undefined && before !== undefined && e.learning_rate < before ? [{ epoch: e.epoch, label: `lr ${e.learning_rate.toExponential(0)}` }] : [];
  });
}

function curvePanel(title: string, yAxis: Axis, rows: CurveRow[], drops: { epoch: number; label: string }[], colorBy: 'split' | 'run', width: number) {
  const line = {
    data: { values: rows },
    mark: { type: 'line' as const, point: true, strokeWidth: 2.5 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative' as const, title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative' as const, title: yAxis.title, scale: { zero: false }, ...(yAxis.format ? { axis: { format: yAxis.format } } : {}) },
      color: colorBy === 'split'
        ? { field: 'split', type: 'nominal' as const, title: null, scale: { domain: ['train', 'validation'], range: ['#1f77b4', '#ff7f0e'] } }
        : { field: 'run', type: 'nominal' as const, title: 'run' },
      strokeDash: { field: 'split', type: 'nominal' as const, title: null, scale: { domain: ['train', 'validation'], range: [[1, 0], [6, 4]] } },
      tooltip: [{ field: 'run', type: 'nominal' as const }, { field: 'split', type: 'nominal' as const }, { field: 'epoch', type: 'quantitative' as const }, { field: 'value', type: 'quantitative' as const, format: '.4f' }],
    },
  };
  const layers: object[] = [line];
  if (drops.length) {
    layers.push({
      data: { values: drops },
      layer: [
        { mark: { type: 'rule', color: '#c0392b', strokeDash: [5, 4] }, encoding: { x: { field: 'epoch', type: 'quantitative' } } },
        { mark: { type: 'text', color: '#c0392b', align: 'left', dx: 4, baseline: 'top', y: 4 }, encoding: { x: { field: 'epoch', type: 'quantitative' }, text: { field: 'label' } } },
      ],
    });
  }
  return { title, width, height: 260, layer: layers };
}

interface Axis { title: string; format?: string }

/**
 * Each metric's panel title and axis. The loss axis names no loss function: a
 * letter model's is categorical cross-entropy, a line model's is CTC.
 */
const PANELS: [Metric, title: string, axis: Axis][] = [
  ['loss', 'Loss per epoch', { title: 'loss' }],
  ['accuracy', 'Accuracy per epoch', { title: 'accuracy' }],
  ['cer', 'Character error rate per epoch', { title: 'character error rate', format: '.1~%' }],
];

/** The panels that have something to draw: a letter model's history has accuracy, a line model's CER, and an empty axis box reads as a broken chart. */
function panels(rowsOf: (metric: Metric) => CurveRow[], panel: (title: string, axis: Axis, rows: CurveRow[]) => object): object[] {
  return PANELS.map(([metric, title, axis]) => [title, axis, rowsOf(metric)] as const)
    .filter(([, , rows]) => rows.length)
    .map(([title, axis, rows]) => panel(title, axis, rows));
}

/** Loss per epoch, and accuracy or CER when the history has them; train solid and validation dashed, learning-rate drops marked. */
export function curvesSpec(epochs: EpochPoint[], options: { width?: number } = {}): TopLevelSpec {
  const drops = learningRateDrops(epochs);
  const width = options.width ?? 420;
  return {
    $schema: SCHEMA,
    config: CONFIG,
    hconcat: panels((metric) => curveRows(epochs, metric, ''), (title, axis, rows) => curvePanel(title, axis, rows, drops, 'split', width)),
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
  } as TopLevelSpec;
}

/** Several runs' curves overlaid: colour is the run, dash is train/validation. */
export function compareCurvesSpec(runs: { run: string; epochs: EpochPoint[] }[], options: { width?: number } = {}): TopLevelSpec {
  const width = options.width ?? 420;
  return {
    $schema: SCHEMA,
    config: CONFIG,
    hconcat: panels((metric) => runs.flatMap((r) => curveRows(r.epochs, metric, r.run)), (title, axis, rows) => curvePanel(title, axis, rows, [], 'run', width)),
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
  } as TopLevelSpec;
}

/**
 * The confusion matrix as a heatmap coloured by share of the true row, counts in
 * the cells. A click selects a cell (param `cell`), which the dashboard turns
 * into the misclassified images of that cell.
 */
export function confusionSpec(matrix: number[][], classes: string[], title: string, options: { cellSize?: number } = {}): TopLevelSpec {
  const values: { true: string; predicted: string; count: number; share: number; fill: string }[] = [];
  matrix.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((count, p) => values.push({ true: classes[t] ?? String(t), predicted: classes[p] ?? String(p), count, share: count / total, fill: cellColor(count / total, t === p) }));
  });
  const side = (options.cellSize ?? 24) * classes.length;
  const axis = (t: string, orient: 'top' | 'left') => ({ field: t, type: 'ordinal' as const, sort: classes, title: t, axis: { orient, labelAngle: 0, labelFontSize: 13, labelFontWeight: 'bold' as const } });
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title,
    width: side,
    height: side,
    data: { values },
    encoding: { x: axis('predicted', 'top'), y: axis('true', 'left') },
    layer: [
      {
        params: [{ name: 'cell', select: { type: 'point', fields: ['true', 'predicted'], on: 'click', clear: 'dblclick' } }],
        mark: { type: 'rect', cursor: 'pointer' },
        encoding: {
          color: { field: 'fill', type: 'nominal', scale: null },
          stroke: { condition: { param: 'cell', empty: false, value: '#111' }, value: null },
          strokeWidth: { value: 2 },
          tooltip: [
            { field: 'true', type: 'nominal' },
            { field: 'predicted', type: 'nominal' },
            { field: 'count', type: 'quantitative' },
            { field: 'share', type: 'quantitative', format: '.1%', title: 'share of row' },
          ],
        },
      },
      {
        transform: [{ filter: 'datum.count > 0' }],
        mark: { type: 'text', fontSize: Math.max(8, Math.round((options.cellSize ?? 24) * 0.38)) },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: '#222' },
        },
      },
    ],
  } as TopLevelSpec;
}

/** White to blue on the diagonal (right), white to red off it (confused); square root so small shares show. */
function cellColor(share: number, diagonal: boolean): string {
  const v = Math.round(255 * (1 - Math.sqrt(share)));
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return diagonal ? `#${hex(v)}${hex(Math.round(255 - (255 - v) * 0.55))}ff` : `#ff${hex(v)}${hex(v)}`;
}

export interface TimelineStage {
  stage: string;
  status: string;
  start: number;
  end: number;
}

/** Stage timeline (Gantt): seconds since the run started, coloured by ran/cached/failed/skipped. */
export function timelineSpec(stages: TimelineStage[], options: { width?: number } = {}): TopLevelSpec {
  return {
    $schema: SCHEMA,
    config: CONFIG,
    width: options.width ?? 640,
    height: { step: 22 },
    data: { values: stages.map((s) => ({ ...s, end: Math.max(s.end, s.start + 0.02), seconds: s.end - s.start })) },
    mark: { type: 'bar', cornerRadius: 2 },
    encoding: {
      y: { field: 'stage', type: 'nominal', sort: null, title: null },
      x: { field: 'start', type: 'quantitative', title: 'seconds since the run started' },
      x2: { field: 'end' },
      color: { field: 'status', type: 'nominal', title: null, scale: { domain: ['ran', 'cached', 'running', 'failed', 'skipped'], range: ['#2e86de', '#95a5a6', '#f39c12', '#c0392b', '#dcdde1'] } },
      tooltip: [{ field: 'stage' }, { field: 'status' }, { field: 'seconds', type: 'quantitative', format: '.2f' }],
    },
  } as TopLevelSpec;
}

/**
 * Parallel coordinates: one line per run across the varying params and the
 * metrics, each axis scaled to its own range (min-max normalised).
 */
export function parallelSpec(rows: Record<string, unknown>[], dimensionNames: string[], colorByName?: string, options: { width?: number } = {}): TopLevelSpec {
  // Vega-Lite reads "a.b" as a nested field; names like "train.epochs" get a look-alike one-dot leader instead.
  const safe = (name: string) => name.replace(/\./g, '\u2024');
  const dimensions = dimensionNames.map(safe);
  const colorBy = colorByName === undefined ? undefined : safe(colorByName);
  rows = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [safe(k), v])));
  const width = options.width ?? Math.max(320, dimensions.length * 150);
  // Axis names are long ("evaluate-lines.cer_letters_lm"): the stage on one line and the metric under it, each cut to its axis' share of the width.
  const axisX = { domain: false, labelAngle: 0, tickColor: '#ccc', title: null, labelFontWeight: 'bold', labelFontSize: 11, labelExpr: "split(datum.label, '\u2024')", labelLimit: Math.max(60, width / dimensions.length - 12) };
  return {
    $schema: SCHEMA,
    config: { ...CONFIG, view: { stroke: null }, axisX },
    width,
    height: 280,
    data: { values: rows },
    transform: [
      { window: [{ op: 'count', as: 'index' }] },
      { fold: dimensions },
      { joinaggregate: [{ op: 'min', field: 'value', as: 'min' }, { op: 'max', field: 'value', as: 'max' }], groupby: ['key'] },
      { calculate: '(datum.max - datum.min) === 0 ? 0.5 : (datum.value - datum.min) / (datum.max - datum.min)', as: 'norm' },
      { calculate: '(datum.max + datum.min) / 2', as: 'mid' },
    ],
    layer: [
      { mark: { type: 'rule', color: '#ccc' }, encoding: { detail: { aggregate: 'count' }, x: { field: 'key', sort: dimensions } } },
      {
        mark: { type: 'line', strokeWidth: 2, opacity: 0.8 },
        encoding: {
          x: { field: 'key', type: 'nominal', sort: dimensions },
          y: { field: 'norm', type: 'quantitative', axis: null },
          detail: { field: 'index', type: 'nominal' },
          color: colorBy ? { field: colorBy, type: 'quantitative', scale: { scheme: 'viridis' } } : { value: '#2e86de' },
          tooltip: [{ field: 'run', type: 'nominal' }, ...dimensions.map((d) => ({ field: d, type: 'quantitative' as const }))],
        },
      },
      { encoding: { x: { field: 'key', type: 'nominal', sort: dimensions }, y: { value: 0 } }, layer: [{ mark: { type: 'text', align: 'left', dx: 4, dy: 9, fontSize: 11, color: '#555' }, encoding: { text: { aggregate: 'max', field: 'max', type: 'quantitative', format: '.3~g' } } }] },
      { encoding: { x: { field: 'key', type: 'nominal', sort: dimensions }, y: { value: 280 } }, layer: [{ mark: { type: 'text', align: 'left', dx: 4, dy: -7, fontSize: 11, color: '#555' }, encoding: { text: { aggregate: 'min', field: 'min', type: 'quantitative', format: '.3~g' } } }] },
    ],
  } as TopLevelSpec;
}
