/**
 * Line models: a CNN over the line image [height, width, 1] that pools the
 * height away, then a sequence part over the columns, ending in per-column
 * logits over the CTC blank plus the charset. The sequence part is a stack of
 * 1-D convolutions (written as 1×k 2-D convolutions, so the whole model stays
 * one tensor layout, exports to Keras as it is and accepts any width):
 * tfjs' recurrent layers step through time op by op, which `npm run bench`
 * measures against them.
 *
 * Output: [batch, 1, width / 4, 1 + charset] logits (softmax is applied by the
 * loss and the decoder).
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { Tf } from '../ml/tf.js';
import { layerFactory } from '../ml/architectures.js';

export interface LineLayerSpec {
  type: 'conv2d' | 'maxPooling2d' | 'batchNormalization' | 'dropout' | 'activation' | 'spatialDropout';
  [option: string]: unknown;
}

/** Convolution with bias and ReLU, fused into one kernel. */
const conv = (filters: number, kernelSize: number | [number, number] = 3): LineLayerSpec[] => [{ type: 'conv2d', filters, kernelSize, padding: 'same', activation: 'relu' }];

/** Convolution, batch normalization, ReLU. */
const convBlock = (filters: number, kernelSize: number | [number, number] = 3, padding = 'same'): LineLayerSpec[] => [
  { type: 'conv2d', filters, kernelSize, padding, useBias: false },
  { type: 'batchNormalization' },
  { type: 'activation', activation: 'relu' },
];

/**
 * `conv-ctc` (height 40, about 0.53 M parameters and 0.2 G multiply-adds per
 * 640 px of line): four conv blocks pool 40×W to 5×W/4, a valid 5×1 convolution
 * folds the height into 192 features per column, and three 1×3 convolutions
 * over the columns widen each frame's context. Channels stay few where the
 * image is large, and batch normalization, whose unfused ops cost a fifth of a
 * step at full resolution, is used only once the height is folded: training
 * speed on two cores is the budget. `tiny` is for tests.
 */
export const LINE_PRESETS: Record<string, { height: number; layers: LineLayerSpec[] }> = {
  'conv-ctc': {
    height: 40,
    layers: [
      ...conv(16),
      { type: 'maxPooling2d', poolSize: 2 },
      ...conv(32),
      { type: 'maxPooling2d', poolSize: 2 },
      ...conv(64),
      { type: 'maxPooling2d', poolSize: [2, 1] },
      ...conv(96),
      ...convBlock(192, [5, 1], 'valid'),
      { type: 'dropout', rate: 0.2 },
      ...convBlock(192, [1, 3]),
      ...convBlock(192, [1, 3]),
      ...convBlock(192, [1, 3]),
      { type: 'dropout', rate: 0.2 },
    ],
  },
  tiny: {
    height: 16,
    layers: [
      ...convBlock(8),
      { type: 'maxPooling2d', poolSize: 2 },
      ...convBlock(16),
      { type: 'maxPooling2d', poolSize: 2 },
      ...convBlock(32, [4, 1], 'valid'),
      ...convBlock(32, [1, 3]),
    ],
  },
};

/** Columns of the input per output frame. */
export function lineModelStride(model: LayersModel, inputWidth = 256): number {
  const out = model.computeOutputShape([1, model.inputs[0]!.shape[1]!, inputWidth, 1]) as number[];
  return inputWidth / out[2]!;
}

export function buildLineModel(tf: Tf, layers: LineLayerSpec[], height: number, classes: number): LayersModel {
  const model = tf.sequential({ name: 'line_model' });
  model.add(tf.layers.inputLayer({ inputShape: [height, null, 1], name: 'line_image' }));
  layers.forEach((spec, i) => {
    const { type, ...options } = spec;
    const name = `${type.replace(/2d$/i, '')}_${i + 1}`.toLowerCase();
    const factory = layerFactory(tf, type);
    if (!factory) throw new Error(`unknown layer type "${type}"`);
    model.add(factory({ ...(type === 'conv2d' ? { kernelInitializer: 'heNormal' } : {}), ...options, name }));
  });
  const height1 = model.outputs[0]!.shape[1];
  if (height1 !== 1) throw new Error(`the layers leave a height of ${height1}, not 1: the last conv blocks must fold the height away (e.g. a valid [${height1}, 1] conv2d)`);
  model.add(tf.layers.dense({ units: classes, kernelInitializer: 'glorotUniform', name: 'logits' }));
  return model;
}
