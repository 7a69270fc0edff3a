/**
 * ColumnConv (a dilated [1, k] convolution tfjs can differentiate) checked
 * numerically: its training path and its inference path against tfjs' own
 * dilated conv2d forward, on the cpu and wasm backends, and its gradients
 * against finite differences; then through a model save and load.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadTf, type Tf } from '../src/ml/tf.js';
import { columnConv } from '../src/ml/column-conv.js';
import { loadModel, saveModel } from '../src/ml/model-io.js';
import { buildLineModel, growFrom, LINE_PRESETS } from '../src/lines/line-model.js';
import type { Scalar, Tensor, Tensor4D } from '@tensorflow/tfjs';

let tf: Tf;
beforeAll(async () => {
  tf = await loadTf('wasm');
});

function seeded(shape: number[], seed: number): Tensor4D {
  return tf.randomUniform(shape, -1, 1, 'float32', seed) as Tensor4D;
}

/** The layer's output and tfjs' dilated conv2d (forward only) on the same weights. */
function both(inputShape: number[], kernelWidth: number, dilation: number, activation: 'relu' | 'linear') {
  return tf.tidy(() => {
    const layer = columnConv(tf, { filters: 5, kernelSize: [1, kernelWidth], dilationRate: [1, dilation], activation, name: `cc_${kernelWidth}_${dilation}` });
    const x = seeded(inputShape, 7);
    const ours = layer.apply(x, { training: true }) as Tensor4D;
    const [kernel, bias] = layer.getWeights();
    bias!.assign(seeded([5], 11).reshape([5]));
    const again = layer.apply(x, { training: true }) as Tensor4D;
    const inference = layer.apply(x) as Tensor4D;
    let reference = tf.conv2d(x, kernel as Tensor4D, 1, 'same', 'NHWC', [1, dilation]).add(bias!) as Tensor4D;
    if (activation === 'relu') reference = reference.relu();
    return { ours: ours.shape, again: again.arraySync(), inference: inference.arraySync(), reference: reference.arraySync(), shape: again.shape };
  });
}

describe('ColumnConv', () => {
  const cases: [number[], number, number, 'relu' | 'linear'][] = [
    [[2, 1, 37, 4], 3, 4, 'linear'],
    [[2, 1, 37, 4], 3, 16, 'relu'],
    [[1, 3, 9, 2], 5, 2, 'linear'],
    [[3, 1, 5, 3], 3, 8, 'linear'], // every gap wider than the line: only the centre tap reads
  ];
  for (const backend of ['cpu', 'wasm']) {
    for (const [shape, k, d, activation] of cases) {
      it(`computes Conv2D([1, ${k}], dilation [1, ${d}], same, ${activation}) on ${backend}, input [${shape}]`, async () => {
        await tf.setBackend(backend);
        const { ours, again, inference, reference, shape: outShape } = both(shape, k, d, activation);
        expect(ours).toEqual([...shape.slice(0, 3), 5]);
        expect(outShape).toEqual(ours);
        const flat = (a: unknown) => (a as number[]).flat(3) as number[];
        const [a, b] = [flat(again), flat(reference)];
        expect(a.length).toBe(b.length);
        expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThan(1e-5);
        // Outside training the layer runs the backend's dilated convolution: the same numbers.
        const c = flat(inference);
        expect(Math.max(...c.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThan(1e-5);
        await tf.setBackend('wasm');
      });
    }
  }

  for (const backend of ['cpu', 'wasm']) {
    it(`has the gradient of finite differences, for its input, kernel and bias, on ${backend}`, async () => {
      await tf.setBackend(backend);
      // A gap of 3 on a line of 8 columns: the padded line is not a multiple of the gap.
      const layer = columnConv(tf, { filters: 3, kernelSize: [1, 3], dilationRate: [1, 3], activation: 'linear', name: `cc_grad_${backend}` });
      const x = seeded([2, 1, 8, 2], 3);
      const probe = seeded([2, 1, 8, 3], 5);
      const loss = (input: Tensor4D) => (layer.apply(input, { training: true }) as Tensor4D).mul(probe).sum() as Scalar;
      loss(x);
      // getWeights returns the variables themselves: keep copies to restore.
      const [kernel, bias] = (layer.getWeights() as [Tensor4D, Tensor]).map((w) => w.clone()) as [Tensor4D, Tensor];
      layer.setWeights([kernel, seeded([3], 9).reshape([3])]);
      const biasValue = layer.getWeights()[1]!.clone();
      const { grads } = tf.variableGrads(() => loss(x));
      const kernelGrad = grads[layer.trainableWeights[0]!.read().name]!.dataSync();
      const biasGrad = grads[layer.trainableWeights[1]!.read().name]!.dataSync();
      const dx = tf.grad((input: Tensor4D) => loss(input))(x).dataSync();
      /** Central difference of the loss at one element of `base`, evaluated by `at`. */
      const eps = 1e-2;
      const central = (base: Tensor, i: number, at: (t: Tensor) => number) => {
        const shifted = (delta: number) => {
          const data = Float32Array.from(base.dataSync());
          data[i]! += delta;
          return at(tf.tensor(data, base.shape));
        };
        return (shifted(eps) - shifted(-eps)) / (2 * eps);
      };
      const withWeights = (k: Tensor, b: Tensor) => {
        layer.setWeights([k, b]);
        const value = loss(x).dataSync()[0]!;
        layer.setWeights([kernel, biasValue]);
        return value;
      };
      for (const i of [0, 5, 11, 17]) expect(central(kernel, i, (k) => withWeights(k, biasValue))).toBeCloseTo(kernelGrad[i]!, 2);
      for (const i of [0, 1, 2]) expect(central(biasValue, i, (b) => withWeights(kernel, b))).toBeCloseTo(biasGrad[i]!, 2);
      for (const i of [0, 3, 8, 13, 31]) expect(central(x, i, (input) => loss(input as Tensor4D).dataSync()[0]!)).toBeCloseTo(dx[i]!, 2);
      await tf.setBackend('wasm');
    });
  }

  it('refuses a dilation along the height, or an even kernel, saying what to set', () => {
    expect(() => columnConv(tf, { filters: 2, kernelSize: [1, 3], dilationRate: [2, 2], name: 'conv_3' })).toThrow(/layer "conv_3": a dilated conv2d convolves along the columns only .*set kernelSize to \[1, k\] and dilationRate to \[1, d\]/);
    expect(() => columnConv(tf, { filters: 2, kernelSize: [1, 4], dilationRate: [1, 2], name: 'conv_4' })).toThrow(/odd kernel width/);
  });

  it('survives a tfjs model save and load with its weights and config', async () => {
    const model = tf.sequential();
    model.add(tf.layers.inputLayer({ inputShape: [1, null, 4] }));
    model.add(columnConv(tf, { filters: 6, kernelSize: [1, 3], dilationRate: [1, 4], activation: 'relu', name: 'context_1' }));
    const dir = await mkdtemp(join(tmpdir(), 'column-conv-'));
    await saveModel(tf, model, dir);
    const loaded = await loadModel(tf, dir);
    expect(loaded.getLayer('context_1').getClassName()).toBe('ColumnConv');
    expect(loaded.getLayer('context_1').getConfig()).toMatchObject({ filters: 6, kernelSize: [1, 3], dilationRate: [1, 4], activation: 'relu' });
    const x = seeded([2, 1, 30, 4], 9);
    const [a, b] = [model.predict(x) as Tensor4D, loaded.predict(x) as Tensor4D];
    expect(tf.max(tf.abs(a.sub(b))).dataSync()[0]).toBeLessThan(1e-6);
  });
});

describe('line presets at another height', () => {
  it('conv-ctc and conv-ctc-context read 48 px lines: the fold takes the 6 rows three poolings leave, and they stay the same layers, so one grows from the other', () => {
    for (const name of ['conv-ctc', 'conv-ctc-context']) {
      const preset = LINE_PRESETS[name]!;
      const model = buildLineModel(tf, preset.layers(48), 48, 7);
      expect(model.inputs[0]!.shape).toEqual([null, 48, null, 1]);
      expect((model.predict(tf.zeros([1, 48, 64, 1])) as Tensor4D).shape).toEqual([1, 1, 16, 7]);
      expect(model.getLayer('conv_8').getConfig().kernelSize).toEqual([6, 1]);
      expect(buildLineModel(tf, preset.layers(40), 40, 7).countParams()).toBeLessThan(model.countParams());
    }
    const source = buildLineModel(tf, LINE_PRESETS['conv-ctc']!.layers(48), 48, 7);
    const grown = growFrom(tf, buildLineModel(tf, LINE_PRESETS['conv-ctc-context']!.layers(48), 48, 7), source);
    expect(grown.fresh).toEqual([]);
  });
});

describe('growing a line model', () => {
  const tiny = LINE_PRESETS.tiny!;
  const layers = tiny.layers(tiny.height);

  it('appended context layers start as the identity: the grown model reads exactly as its source', () => {
    const source = buildLineModel(tf, layers, tiny.height, 9);
    // Train-like weights: nothing zero, so a copy that missed a layer would show.
    for (const layer of source.layers) layer.setWeights(layer.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.5, 1.5, 'float32', i + 1)));
    const wider = [...layers, { type: 'conv2d' as const, filters: 32, kernelSize: [1, 3], dilationRate: [1, 4], padding: 'same', activation: 'relu' }, { type: 'dropout' as const, rate: 0.2 }];
    const grown = buildLineModel(tf, wider, tiny.height, 9);
    const report = growFrom(tf, grown, source);
    expect(report.identity).toEqual([`conv_${layers.length + 1}`]);
    expect(report.fresh).toEqual([]);
    expect(report.copied).toContain('logits');
    const x = tf.randomUniform([2, tiny.height, 64, 1], 0, 1, 'float32', 4);
    const [a, b] = [source.predict(x) as Tensor4D, grown.predict(x) as Tensor4D];
    expect(b.shape).toEqual(a.shape);
    expect(tf.max(tf.abs(a.sub(b))).dataSync()[0]).toBeLessThan(1e-4);
  });

  it('a layer whose shape changed starts fresh, and is named', () => {
    const source = buildLineModel(tf, layers, tiny.height, 9);
    const grown = buildLineModel(tf, layers, tiny.height, 12);
    const report = growFrom(tf, grown, source);
    expect(report.fresh).toEqual(['logits']);
  });
});
