/**
 * Model definitions from YAML: a list of layer specs, or a named preset.
 * `seed-cnn` is the reference network (conv32-pool-conv64-pool-dense128);
 * `default` adds batch normalization, a third conv block and dropout.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';

export const LAYER_TYPES = ['conv2d', 'maxPooling2d', 'batchNormalization', 'dropout', 'flatten', 'dense', 'activation', 'averagePooling2d', 'globalAveragePooling2d'] as const;

export interface LayerSpec {
  type: (typeof LAYER_TYPES)[number];
  [option: string]: unknown;
}

export const PRESETS: Record<string, LayerSpec[]> = {
  'seed-cnn': [
    { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu', padding: 'same' },
    { type: 'maxPooling2d', poolSize: 2 },
    { type: 'conv2d', filters: 64, kernelSize: 3, activation: 'relu', padding: 'same' },
    { type: 'maxPooling2d', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 128, activation: 'relu' },
  ],
  default: [
    { type: 'conv2d', filters: 32, kernelSize: 3, padding: 'same', useBias: false },
    { type: 'batchNormalization' },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPooling2d', poolSize: 2 },
    { type: 'conv2d', filters: 64, kernelSize: 3, padding: 'same', useBias: false },
    { type: 'batchNormalization' },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPooling2d', poolSize: 2 },
    { type: 'conv2d', filters: 128, kernelSize: 3, padding: 'same', useBias: false },
    { type: 'batchNormalization' },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPooling2d', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dropout', rate: 0.3 },
    { type: 'dense', units: 256, activation: 'relu' },
    { type: 'dropout', rate: 0.3 },
  ],
};

/** Builds a sequential model ending in a softmax over `classes`. */
export function buildModel(tf: Tf, layers: LayerSpec[], inputShape: number[], classes: number): LayersModel {
  const model = tf.sequential();
  layers.forEach((spec, i) => {
    const { type, ...options } = spec;
    const config = { ...kerasDefaults(type), ...options, ...(i === 0 ? { inputShape } : {}), name: `${type.replace(/2d$/i, '')}_${i + 1}`.toLowerCase() };
    const factory = layerFactory(tf, type);
    if (!factory) throw new Error(`unknown layer type "${type}"`);
    model.add(factory(config));
  });
  model.add(tf.layers.dense({ ...kerasDefaults('dense'), units: classes, activation: 'softmax', name: 'predictions' }));
  return model;
}

/** tfjs initialises kernels with glorotNormal, Keras with glorotUniform: use Keras' so the same recipe trains alike. */
function kerasDefaults(type: string): Record<string, unknown> {
  return type === 'conv2d' || type === 'dense' ? { kernelInitializer: 'glorotUniform' } : {};
}

type LayerFactory = (config: object) => ReturnType<Tf['layers']['dense']>;

/**
 * The `tf.layers` factory named `type`, or undefined. tfjs types each factory by its own
 * args; a spec's options are checked by the stage's params schema and by tfjs when the
 * layer is built, so the factories are taken here under one signature.
 */
export function layerFactory(tf: Tf, type: string): LayerFactory | undefined {
  const factory: unknown = Object.hasOwn(tf.layers, type) ? Reflect.get(tf.layers, type) : undefined;
  return typeof factory === 'function' ? (factory as LayerFactory) : undefined;
}
