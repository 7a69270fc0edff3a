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
    const { height, layers } = LINE_PRESETS['tiny']!;
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
  it('reads a line the same alone, beside a much wider line, and as the unfolded model does', async () => {
    const { height, layers } = LINE_PRESETS['tiny']!;
    const charset = charsetFromCounts(countCharacters(['abcdefghijk']));
    const model = buildLineModel(tf, layers, height, charset.characters.length + 1);
    perturbNormalization(model);
    const dir = await mkdtemp(join(tmpdir(), 'inkflow-runner-'));
    await saveLineModel(tf, model, { format: LINE_MODEL_FORMAT, kind: 'ctc-line', height, stride: 4, charset }, dir);
    const runner = await LineModelRunner.open(tf, dir);
    expect(runner.model.layers.map((l) => l.getClassName())).not.toContain('BatchNormalization');

    const short = line(64, height, 1); // a whole number of frames: alone, nothing of it is padding
    const [alone] = runner.logProbs([short]);
    const [beside] = runner.logProbs([short, line(400, height, 2)]);
    expect(alone!.frames).toBe(16);
    expect(beside!.frames).toBe(16);
    const largest = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    expect(largest(alone!.logProbs, beside!.logProbs)).toBeLessThan(1e-4);

    const x = tf.tensor4d(Float32Array.from(short.data, (v) => v / 255), [1, height, 64, 1]);
    const reference = tf.logSoftmax((model.predict(x) as Tensor).reshape([16, -1])).dataSync() as Float32Array;
    expect(largest(alone!.logProbs, reference)).toBeLessThan(1e-4);
    // Unmasked, the wide neighbour's padding would have changed the short line's last frames.
    const unmasked = tf.logSoftmax((model.predict(tf.concat([x, tf.zeros([1, height, 336, 1])], 2)) as Tensor).reshape([100, -1]).slice([0, 0], [16, -1])).dataSync() as Float32Array;
    expect(largest(unmasked, reference)).toBeGreaterThan(1e-3);
  });
});
