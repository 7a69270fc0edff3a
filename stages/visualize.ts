/**
 * PNG plots: loss/accuracy curves with learning-rate drops and the confusion matrix
 * (the dashboard's Vega-Lite specs, rendered in Node), and misclassified test images.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage, strictObject } from '../src/engine/stage-api.js';
import { readDataset, sampleSize } from '../src/data/dataset.js';
import { parseNpy } from '../src/data/npy.js';
import { FONT } from '../src/viz/chart.js';
import { confusionSpec, curvesSpec } from '../src/viz/specs.js';
import { renderSpecToPng } from '../src/viz/render.js';
import type { EpochRecord } from './train.js';

interface VisualizeParams {
  misclassified: number;
}

export default defineStage<VisualizeParams>({
  description: 'plot training curves, the confusion matrix and misclassified test images',
  version: 1,
  paramsSchema: strictObject({
    properties: { misclassified: { type: 'integer', minimum: 0, maximum: 400, default: 60 } },
  }),
  inputs: {
    history: { description: 'train.history', required: true },
    report: { description: 'evaluate.report', required: true },
    dataset: { description: 'the evaluated test data, for the misclassified grid', required: true },
  },
  outputs: ['plots'],
  async run(ctx) {
    const { createCanvas } = await import('@napi-rs/canvas');
    const out = ctx.output('plots');
    await mkdir(out, { recursive: true });
    const history = JSON.parse(await readFile(ctx.inputs.history, 'utf8')) as { epochs: EpochRecord[] };
    await writeFile(join(out, 'curves.png'), await renderSpecToPng(curvesSpec(history.epochs)));

    const test = await readDataset(ctx.inputs.dataset);
    const classes = test.meta.classes;
    const confusion = (await readFile(join(ctx.inputs.report, 'confusion.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split(',').slice(1).map(Number));
    const metrics = JSON.parse(await readFile(join(ctx.inputs.report, 'metrics.json'), 'utf8')) as { accuracy: number; count: number };
    const title = `Confusion matrix: ${(metrics.accuracy * 100).toFixed(2)}% of ${metrics.count} test images (colour: share of row)`;
    await writeFile(join(out, 'confusion.png'), await renderSpecToPng(confusionSpec(confusion, classes, title, { cellSize: 26 })));

    const predicted = parseNpy(new Uint8Array(await readFile(join(ctx.inputs.report, 'predictions.npy')))).data as Int32Array;
    const wrong: number[] = [];
    for (let i = 0; i < predicted.length && wrong.length < ctx.params.misclassified; i++) if (predicted[i] !== test.labels[i]) wrong.push(i);
    const cols = 10;
    const rows = Math.max(1, Math.ceil(wrong.length / cols));
    const cellW = 96;
    const cellH = 118;
    const grid = createCanvas(cols * cellW, rows * cellH + 40);
    const g = grid.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, grid.width, grid.height);
    g.fillStyle = '#111';
    g.font = `bold 16px ${FONT}`;
    g.textAlign = 'left';
    g.fillText(`Misclassified test images (first ${wrong.length}): true → predicted`, 8, 24);
    const [ih, iw] = test.meta.sampleShape;
    const size = sampleSize(test.meta);
    const zoom = 3;
    wrong.forEach((index, k) => {
      const x0 = (k % cols) * cellW + (cellW - iw * zoom) / 2;
      const y0 = Math.floor(k / cols) * cellH + 40;
      const pixels = g.createImageData(iw * zoom, ih * zoom);
      for (let y = 0; y < ih * zoom; y++) {
        for (let x = 0; x < iw * zoom; x++) {
          // Shown as dark ink on paper, the way people see handwriting.
          const v = 255 - Math.round(Math.min(1, test.images[index * size + Math.floor(y / zoom) * iw + Math.floor(x / zoom)] * test.meta.scale) * 255);
          const o = (y * iw * zoom + x) * 4;
          pixels.data[o] = pixels.data[o + 1] = pixels.data[o + 2] = v;
          pixels.data[o + 3] = 255;
        }
      }
      g.putImageData(pixels, x0, y0);
      g.strokeStyle = '#bbb';
      g.strokeRect(x0, y0, iw * zoom, ih * zoom);
      g.font = `bold 15px ${FONT}`;
      g.textAlign = 'center';
      g.fillStyle = '#111';
      g.fillText(classes[test.labels[index]], x0 + (iw * zoom) / 2 - 14, y0 + ih * zoom + 17);
      g.fillStyle = '#999';
      g.fillText('→', x0 + (iw * zoom) / 2, y0 + ih * zoom + 17);
      g.fillStyle = '#c0392b';
      g.fillText(classes[predicted[index]], x0 + (iw * zoom) / 2 + 14, y0 + ih * zoom + 17);
    });
    await writeFile(join(out, 'misclassified.png'), await grid.encode('png'));
    ctx.log.info(`wrote curves.png, confusion.png, misclassified.png (${wrong.length} shown)`);
  },
});
