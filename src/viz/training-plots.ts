/** The PNGs of a letter model's training and evaluation: curves and confusion matrix (Vega-Lite specs shared with the dashboard), misclassified samples. */
import type { EpochRecord } from '../artifacts/training-history.js';
import { sampleSize, type Dataset } from '../data/dataset.js';
import { FONT } from './chart.js';
import { renderSpecToPng } from './render.js';
import { confusionSpec, curvesSpec } from './specs.js';

/** Loss and accuracy per epoch, train solid and validation dashed, with learning-rate drops marked (the dashboard's spec). */
export async function trainingCurvesPng(epochs: readonly EpochRecord[]): Promise<Uint8Array> {
  return renderSpecToPng(curvesSpec([...epochs]));
}

export async function confusionPng(confusion: number[][], classes: string[], title: string): Promise<Uint8Array> {
  return renderSpecToPng(confusionSpec(confusion, classes, title, { cellSize: 26 }));
}

/** A grid of the samples at `indices`, each labelled "true → predicted", shown as dark ink on paper. */
export async function misclassifiedPng(test: Dataset, predicted: Int32Array, indices: readonly number[]): Promise<Buffer> {
  const { createCanvas } = await import('@napi-rs/canvas');
  const classes = test.meta.classes;
  const cols = 10;
  const rows = Math.max(1, Math.ceil(indices.length / cols));
  const cellW = 96;
  const cellH = 118;
  const grid = createCanvas(cols * cellW, rows * cellH + 40);
  const g = grid.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, grid.width, grid.height);
  g.fillStyle = '#111';
  g.font = `bold 16px ${FONT}`;
  g.textAlign = 'left';
  g.fillText(`Misclassified test images (first ${indices.length}): true → predicted`, 8, 24);
  const [ih = 1, iw = 1] = test.meta.sampleShape;
  const size = sampleSize(test.meta);
  const zoom = 3;
  indices.forEach((index, k) => {
    const x0 = (k % cols) * cellW + (cellW - iw * zoom) / 2;
    const y0 = Math.floor(k / cols) * cellH + 40;
    const pixels = g.createImageData(iw * zoom, ih * zoom);
    for (let y = 0; y < ih * zoom; y++) {
      for (let x = 0; x < iw * zoom; x++) {
        // Shown as dark ink on paper, the way people see handwriting.
        const stored = test.images[index * size + Math.floor(y / zoom) * iw + Math.floor(x / zoom)] ?? 0;
        const v = 255 - Math.round(Math.min(1, stored * test.meta.scale) * 255);
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
    g.fillText(classes[test.labels[index] ?? -1] ?? '?', x0 + (iw * zoom) / 2 - 14, y0 + ih * zoom + 17);
    g.fillStyle = '#999';
    g.fillText('→', x0 + (iw * zoom) / 2, y0 + ih * zoom + 17);
    g.fillStyle = '#c0392b';
    g.fillText(classes[predicted[index] ?? -1] ?? '?', x0 + (iw * zoom) / 2 + 14, y0 + ih * zoom + 17);
  });
  return grid.encode('png');
}
