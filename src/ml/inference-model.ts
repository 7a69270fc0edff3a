/**
 * An inference copy of a sequential model, with the work that only training
 * needs taken out:
 *  - each Conv2D followed by BatchNormalization (and optionally an Activation)
 *    becomes one Conv2D with bias and that activation. At inference, batch
 *    normalization is a fixed affine map per output channel, so it moves into
 *    the kernel and bias: k' = k·s, b' = (b − mean)·s + beta with
 *    s = gamma / √(variance + ε). The backend then runs one fused kernel where
 *    it ran three passes over the activations.
 *  - Dropout layers, which pass their input through at inference, are left out.
 * Outputs equal the original's up to float rounding.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';

type Topology = Extract<Parameters<Tf['models']['modelFromJSON']>[0], { modelTopology: unknown }>['modelTopology'];

interface LayerJson {
  class_name: string;
  config: Record<string, unknown> & { name: string };
}

interface SequentialJson {
  class_name: string;
  config: { name: string; layers: LayerJson[] };
}

/** Activations tfjs' conv2d fuses into its kernel. */
const FUSABLE = new Set(['linear', 'relu', 'relu6', 'elu', 'sigmoid']);

export async function inferenceModel(tf: Tf, model: LayersModel): Promise<LayersModel> {
  const topology = model.toJSON(null, false) as unknown as SequentialJson;
  if (topology.class_name !== 'Sequential') return model;
  const source = topology.config.layers;
  const layers: LayerJson[] = [];
  const weights = new Map<string, Tensor[]>();
  const computed: Tensor[] = [];
  for (let i = 0; i < source.length; i++) {
    const layer = source[i]!;
    if (layer.class_name === 'Dropout') continue;
    const norm = source[i + 1];
    if (layer.class_name === 'Conv2D' && norm && foldable(layer, norm)) {
      const config: LayerJson['config'] = { ...layer.config, use_bias: true };
      const act = source[i + 2];
      const fuseActivation = config.activation === 'linear' && act?.class_name === 'Activation' && FUSABLE.has(String(act.config.activation));
      if (fuseActivation) config.activation = act.config.activation;
      layers.push({ class_name: 'Conv2D', config });
      const values = folded(tf, model, layer, norm);
      computed.push(...values);
      weights.set(layer.config.name, values);
      i += fuseActivation ? 2 : 1;
      continue;
    }
    layers.push(layer);
    if (layer.class_name !== 'InputLayer') weights.set(layer.config.name, model.getLayer(layer.config.name).getWeights());
  }
  if (layers.length === source.length) return model;
  try {
    const modelTopology = { ...topology, config: { ...topology.config, layers: layers.map(zeroInitialized) } } as unknown as Topology;
    const lean = await tf.models.modelFromJSON({ modelTopology });
    for (const layer of lean.layers) {
      const values = weights.get(layer.name);
      if (values?.length) layer.setWeights(values);
    }
    return lean;
  } finally {
    tf.dispose(computed);
  }
}

/**
 * The layer with every initializer set to zeros: each of its weights is set
 * right after, and tfjs would otherwise draw them all from their random
 * initializers first (a fifth of a second for a line model, most of it in
 * truncated-normal sampling in JavaScript).
 */
function zeroInitialized(layer: LayerJson): LayerJson {
  const config = Object.fromEntries(Object.entries(layer.config).map(([key, value]) => [key, key.endsWith('_initializer') ? { class_name: 'Zeros', config: {} } : value]));
  return { ...layer, config: config as LayerJson['config'] };
}

/** Batch normalization over the channels of a channels-last convolution with no activation of its own. */
function foldable(conv: LayerJson, norm: LayerJson): boolean {
  if ((conv.config.activation ?? 'linear') !== 'linear') return false;
  const axis = norm.config.axis;
  const lastAxis = axis === -1 || axis === 3 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 3));
  return norm.class_name === 'BatchNormalization' && lastAxis && (conv.config.data_format ?? 'channels_last') === 'channels_last';
}

function folded(tf: Tf, model: LayersModel, conv: LayerJson, norm: LayerJson): Tensor[] {
  return tf.tidy(() => {
    const [kernel, convBias] = model.getLayer(conv.config.name).getWeights();
    const stats = model.getLayer(norm.config.name).getWeights();
    // Keras' order: gamma (if scale), beta (if center), moving mean, moving variance.
    let k = 0;
    const gamma = norm.config.scale !== false ? stats[k++]! : undefined;
    const beta = norm.config.center !== false ? stats[k++]! : undefined;
    const mean = stats[k++]!;
    const variance = stats[k++]!;
    let scale = tf.rsqrt(variance.add(Number(norm.config.epsilon ?? 1e-3)));
    if (gamma) scale = scale.mul(gamma);
    let bias = (convBias ? convBias.sub(mean) : mean.neg()).mul(scale);
    if (beta) bias = bias.add(beta);
    return [kernel!.mul(scale), bias];
  });
}
