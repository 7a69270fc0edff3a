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
import { columnConv, isDilated } from '../ml/column-conv.js';

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

/** Convolution along the columns with gaps of `dilation` columns between its three taps, and ReLU. */
const context = (filters: number, dilation: number): LineLayerSpec[] => [{ type: 'conv2d', filters, kernelSize: [1, 3], dilationRate: [1, dilation], padding: 'same', activation: 'relu' }];

/** conv-ctc's three poolings halve the height three times. */
const CONV_CTC_STEP = 8;
/** tiny's two poolings halve it twice. */
const TINY_STEP = 4;

/** conv-ctc for lines `height` px high: a valid convolution folds what the poolings leave. */
const convCtc = (height: number): LineLayerSpec[] => [
  ...conv(16),
  { type: 'maxPooling2d', poolSize: 2 },
  ...conv(32),
  { type: 'maxPooling2d', poolSize: 2 },
  ...conv(64),
  { type: 'maxPooling2d', poolSize: [2, 1] },
  ...conv(96),
  ...convBlock(192, [height / CONV_CTC_STEP, 1], 'valid'),
  { type: 'dropout', rate: 0.2 },
  ...convBlock(192, [1, 3]),
  ...convBlock(192, [1, 3]),
  ...convBlock(192, [1, 3]),
  { type: 'dropout', rate: 0.2 },
];

export interface LinePreset {
  /** The height it reads unless build-line-model's `height` says otherwise. */
  height: number;
  /** It reads heights that are multiples of this (its poolings divide the height by it). */
  heightStep: number;
  layers(height: number): LineLayerSpec[];
}

/**
 * `conv-ctc` (height 40, about 0.53 M parameters and 0.2 G multiply-adds per
 * 640 px of line): four conv blocks pool 40×W to 5×W/4, a valid 5×1 convolution
 * folds the height into 192 features per column, and three 1×3 convolutions
 * over the columns widen each frame's context. Channels stay few where the
 * image is large, and batch normalization, whose unfused ops cost a fifth of a
 * step at full resolution, is used only once the height is folded: training
 * speed on two cores is the budget. Any multiple of 8 can be read instead of
 * 40 (the fold is then height/8 rows tall); the cost grows about as the height.
 *
 * `conv-ctc-context` (about 0.97 M parameters, 0.27 G multiply-adds per
 * 640 px) appends four convolutions along the columns with gaps of 2, 4, 8 and
 * 16 frames: each frame then sees about 290 px, some 15 letters, where
 * conv-ctc's see 50 px, about three. Its first 21 layers are conv-ctc's, so it
 * can be grown from a trained conv-ctc model of the same height (build-line-model's `init`).
 *
 * `tiny` is for tests.
 */
export const LINE_PRESETS: Record<string, LinePreset> = {
  'conv-ctc': { height: 40, heightStep: CONV_CTC_STEP, layers: convCtc },
  'conv-ctc-context': {
    height: 40,
    heightStep: CONV_CTC_STEP,
    layers: (height) => [...convCtc(height), ...context(192, 2), ...context(192, 4), ...context(192, 8), ...context(192, 16), { type: 'dropout', rate: 0.2 }],
  },
  tiny: {
    height: 16,
    heightStep: TINY_STEP,
    layers: (height) => [
      ...convBlock(8),
      { type: 'maxPooling2d', poolSize: 2 },
      ...convBlock(16),
      { type: 'maxPooling2d', poolSize: 2 },
      ...convBlock(32, [height / TINY_STEP, 1], 'valid'),
      ...convBlock(32, [1, 3]),
      ...context(32, 2),
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
    if (type === 'conv2d' && isDilated(options.dilationRate)) {
      model.add(columnConv(tf, { ...options, name }));
      return;
    }
    const factory = layerFactory(tf, type);
    if (!factory) throw new Error(`unknown layer type "${type}"`);
    model.add(factory({ ...(type === 'conv2d' ? { kernelInitializer: 'heNormal' } : {}), ...options, name }));
  });
  const height1 = model.outputs[0]!.shape[1];
  if (height1 !== 1) throw new Error(`the layers leave a height of ${height1}, not 1: the last conv blocks must fold the height away (e.g. a valid [${height1}, 1] conv2d)`);
  model.add(tf.layers.dense({ units: classes, kernelInitializer: 'glorotUniform', name: 'logits' }));
  return model;
}

export interface GrownLayers {
  /** Layers whose weights came from the source model. */
  copied: string[];
  /** New layers started as the identity. */
  identity: string[];
  /** New layers left as initialised. */
  fresh: string[];
}

/**
 * Starts `model` from `source`: each layer with the same name and weight
 * shapes takes the source's weights. A new convolution that maps C channels
 * to C with an odd kernel starts as the identity (centre tap 1, others and
 * bias 0): on the non-negative features the ReLU blocks produce, a ReLU of
 * the identity is the identity, so a model grown by appending such layers
 * reads exactly as its source did, and training only has to learn what the
 * new layers add (Net2Net's "deeper").
 */
export function growFrom(tf: Tf, model: LayersModel, source: LayersModel): GrownLayers {
  const grown: GrownLayers = { copied: [], identity: [], fresh: [] };
  const sourceLayers = new Map(source.layers.map((l) => [l.name, l]));
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (!weights.length) continue;
    const from = sourceLayers.get(layer.name)?.getWeights();
    if (from && from.length === weights.length && from.every((w, i) => tf.util.arraysEqual(w.shape, weights[i]!.shape))) {
      layer.setWeights(from);
      grown.copied.push(layer.name);
    } else if (startAsIdentity(tf, layer, weights)) {
      grown.identity.push(layer.name);
    } else {
      grown.fresh.push(layer.name);
    }
  }
  return grown;
}

function startAsIdentity(tf: Tf, layer: LayersModel['layers'][number], weights: ReturnType<LayersModel['getWeights']>): boolean {
  const [kernel, ...rest] = weights;
  const [kh, kw, cin, cout] = kernel!.shape;
  const activation = String(layer.getConfig().activation ?? 'linear');
  if (kernel!.rank !== 4 || cin !== cout || kh! % 2 !== 1 || kw! % 2 !== 1 || !['relu', 'linear'].includes(activation) || rest.length > 1) return false;
  const values = new Float32Array(kh! * kw! * cin! * cout!);
  const centre = Math.floor(kh! / 2) * kw! + Math.floor(kw! / 2);
  // Layout [kh, kw, in, out]: the centre tap maps channel c to channel c.
  for (let c = 0; c < cin!; c++) values[(centre * cin! + c) * cout! + c] = 1;
  const identity = tf.tensor4d(values, [kh!, kw!, cin!, cout!]);
  const zeros = rest.map((b) => tf.zerosLike(b));
  layer.setWeights([identity, ...zeros]);
  tf.dispose([identity, ...zeros]);
  return true;
}
