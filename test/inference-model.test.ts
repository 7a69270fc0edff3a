/**
 * The inference copy of a model (batch normalization folded into the
 * convolutions, dropout left out) predicts what the model predicts, on real
 * tfjs, for a line model built from a preset whose normalization statistics
 * are far from their initial values; and the line reader built on it reads a
 * line the same whatever else is in its batch.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTf, type Tf } from '../src/ml/tf.js';
import { inferenceModel } from '../src/ml/inference-model.js';
import { buildLineModel, LINE_PRESETS } from '../src/lines/line-model.js';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { charsetFromCounts, countCharacters } from '../src/lines/charset.js';
import { LINE_MODEL_FORMAT, saveLineModel } from '../src/lines/line-model-artifact.js';
import { LineModelRunner } from '../src/lines/line-reader.js';
import { inferenceBatches, readingWidth } from '../src/lines/line-batches.js';
import type { LineImage } from '../src/lines/line-image.js';

let tf: Tf;
beforeAll(async () => {
  tf = await loadTf('wasm');
});

/** Moving means, variances, gammas and betas as training would leave them: not 0 and 1. */
function perturbNormalization(model: LayersModel): void {
  model.layers.forEach((layer, i) => {
    if (layer.getClassName() !== 'BatchNormalization') return;
    const values = layer.getWeights().map((w, j) => {
      const wild = tf.randomUniform(w.shape, 0.2, 2, 'float32', 100 + 10 * i + j);
      return j === 1 || j === 2 ? wild.sub(1) : wild; // beta and mean may be negative; gamma and variance positive
    });
    layer.setWeights(values);
  });
}

const classNames = (model: LayersModel) => model.layers.map((l) => l.getClassName());

describe('inferenceModel', () => {
  it('folds conv → batch norm → relu into one conv and predicts the same', async () => {
    const { height, layers: layersFor } = LINE_PRESETS['tiny']!;
    const layers = layersFor(height);
    const model = buildLineModel(tf, layers, height, 12);
    perturbNormalization(model);
    const lean = await inferenceModel(tf, model);
    expect(classNames(model)).toContain('BatchNormalization');
    expect(classNames(lean)).not.toContain('BatchNormalization');
    expect(classNames(lean)).not.toContain('Activation');
    expect(lean.layers.length).toBeLessThan(model.layers.length);
    expect(classNames(lean)).toContain('ColumnConv');

    const x = tf.randomUniform([3, height, 57, 1], 0, 1, 'float32', 5);
    const expected = model.predict(x) as Tensor;
    const actual = lean.predict(x) as Tensor;
    expect(actual.shape).toEqual(expected.shape);
    const scale = expected.abs().max().dataSync()[0]!;
    const diff = expected.sub(actual).abs().max().dataSync()[0]!;
    expect(scale).toBeGreaterThan(0.1);
    expect(diff / scale).toBeLessThan(1e-5);
    // The original keeps working: the copy holds its own weights.
    lean.dispose();
    expect((model.predict(x) as Tensor).sub(expected).abs().max().dataSync()[0]).toBe(0);
  });

  it('leaves batch normalization after an activated conv in place, and returns a model with nothing to fold as it is', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu', name: 'activated' }),
        tf.layers.batchNormalization({ name: 'after_relu' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3 }),
      ],
    });
    perturbNormalization(model);
    expect(await inferenceModel(tf, model)).toBe(model);

    model.add(tf.layers.dropout({ rate: 0.5 }));
    const lean = await inferenceModel(tf, model);
    expect(classNames(lean)).toEqual(['Conv2D', 'BatchNormalization', 'Flatten', 'Dense']);
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 9);
    expect((lean.predict(x) as Tensor).sub(model.predict(x) as Tensor).abs().max().dataSync()[0]).toBeLessThan(1e-5);
  });
});

/** A line image of seeded noise strokes, ink 255 on 0. */
function line(width: number, height: number, seed: number): LineImage {
  const data = new Uint8Array(width * height);
  let state = seed;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = state >>> 24 > 200 ? 255 : 0;
  }
  return { width, height, data };
}

describe('LineModelRunner', () => {
  it('reads a line the same alone and in any batch: as the model reads it padded with paper to its reading width', async () => {
    const { height, layers: layersFor } = LINE_PRESETS['tiny']!;
    const layers = layersFor(height);
    const charset = charsetFromCounts(countCharacters(['abcdefghijk']));
    const model = buildLineModel(tf, layers, height, charset.characters.length + 1);
    perturbNormalization(model);
    const dir = await mkdtemp(join(tmpdir(), 'inkflow-runner-'));
    await saveLineModel(tf, model, { format: LINE_MODEL_FORMAT, kind: 'ctc-line', height, stride: 4, charset }, dir);
    const runner = await LineModelRunner.open(tf, dir);
    expect(runner.model.layers.map((l) => l.getClassName())).not.toContain('BatchNormalization');

    const short = line(50, height, 1); // read at 64 columns: 13 frames of its own, 3 of paper
    expect(readingWidth(short.width, 4)).toBe(64);
    const [alone] = runner.logProbs([short]);
    expect(alone!.frames).toBe(13);
    const largest = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    // Beside a line of the same reading width, and among much wider ones, in every order.
    for (const batch of [[short, line(61, height, 2)], [line(400, height, 3), short, line(1000, height, 4)]]) {
      const outputs = runner.logProbs(batch);
      const read = outputs[batch.indexOf(short)]!;
      expect(read.frames).toBe(13);
      expect(largest(alone!.logProbs, read.logProbs)).toBeLessThan(1e-4);
    }

    // The unfolded model on the line padded with paper (zeros) to 64 columns, its first 13 frames.
    const padded = new Float32Array(height * 64);
    for (let y = 0; y < height; y++) for (let x = 0; x < short.width; x++) padded[y * 64 + x] = short.data[y * short.width + x]! / 255;
    const reference = tf.logSoftmax((model.predict(tf.tensor4d(padded, [1, height, 64, 1])) as Tensor).reshape([16, -1]).slice([0, 0], [13, -1])).dataSync() as Float32Array;
    expect(largest(alone!.logProbs, reference)).toBeLessThan(1e-4);
    // Padded only to whole frames instead, its last frames would read differently: the reading width is what fixes them.
    const narrow = tf.logSoftmax((model.predict(tf.tensor4d(padded.filter((_, i) => i % 64 < 52), [1, height, 52, 1])) as Tensor).reshape([13, -1])).dataSync() as Float32Array;
    expect(largest(narrow, reference)).toBeGreaterThan(1e-3);
  });
});

describe('inference batches', () => {
  it('hold lines of one reading width, within the line and column caps, every line once', () => {
    const widths = [40, 100, 33, 64, 1000, 60, 64, 96, 1010].map((w) => readingWidth(w, 4));
    expect(widths).toEqual([64, 128, 64, 64, 1024, 64, 64, 96, 1024]);
    const batches = inferenceBatches(widths, 3, 1500);
    for (const b of batches) {
      expect(new Set(b.map((i) => widths[i])).size).toBe(1);
      expect(b.length).toBeLessThanOrEqual(3);
      expect(b.length * widths[b[0]!]!).toBeLessThanOrEqual(1500);
    }
    expect(batches.flat().sort((a, b) => a - b)).toEqual(widths.map((_, i) => i));
    expect(batches.map((b) => b.map((i) => widths[i]))).toEqual([[64, 64, 64], [64, 64], [96], [128], [1024], [1024]]);
  });
});
