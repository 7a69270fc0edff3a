/**
 * A convolution along the columns with gaps between its taps (a dilated
 * [1, k] convolution), so a line model's frames see far along the line for
 * little compute: four of them at gaps 2, 4, 8, 16 widen each frame's view by
 * 240 frames.
 *
 * tfjs runs dilated convolutions forward but cannot differentiate them
 * ("dilation rates greater than 1 are not yet supported in gradients"), so
 * this layer computes what Keras' Conv2D(kernel_size [1, k], dilation_rate
 * [1, d], padding 'same') computes, from ops tfjs can differentiate on every
 * backend: space-to-batch, a dense convolution, batch-to-space (TensorFlow's
 * own way to run atrous convolution), about 1.4× faster to train than one
 * product of each frame with all taps' weights shifted and summed, which this
 * layer did before. Outside training, where nothing is differentiated, it runs
 * the backend's dilated convolution, which is faster still. It holds Conv2D's
 * weights (kernel [1, k, in, out], bias), so Keras files carry it as that
 * Conv2D and come back as this layer.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';

export const COLUMN_CONV = 'ColumnConv';

type Json = Record<string, unknown>;

/** Whether a conv2d's dilationRate asks for gaps (then it is built as a ColumnConv). */
export function isDilated(dilationRate: unknown): boolean {
  return (Array.isArray(dilationRate) ? dilationRate : [dilationRate]).some((d) => typeof d === 'number' && d > 1);
}

/** Registers the layer class with this tfjs' serialization, so saved models that hold it load. */
export function registerColumnConv(tf: Tf): void {
  columnConvClass(tf);
}

/**
 * A ColumnConv layer from a conv2d's options (filters, kernelSize [1, k],
 * dilationRate [1, d], activation relu or linear, useBias, name).
 */
export function columnConv(tf: Tf, config: Json) {
  const Layer = columnConvClass(tf);
  return new Layer(config);
}

/** The class for this tfjs, defined and registered with its serialization the first time. */
const classes = new WeakMap<object, ReturnType<typeof defineClass>>();

function columnConvClass(tf: Tf) {
  let cls = classes.get(tf.serialization);
  if (!cls) {
    cls = defineClass(tf);
    tf.serialization.registerClass(cls);
    classes.set(tf.serialization, cls);
  }
  return cls;
}

function defineClass(tf: Tf) {
  return class ColumnConv extends tf.layers.Layer {
    static className = COLUMN_CONV;
    readonly filters: number;
    readonly kernelWidth: number;
    readonly dilation: number;
    readonly activation: 'relu' | 'linear';
    readonly useBias: boolean;
    private kernel?: ReturnType<ColumnConv['addWeight']>;
    private bias?: ReturnType<ColumnConv['addWeight']>;

    /** Takes the config as tfjs deserializes it (Keras' kernelSize and dilationRate). */
    constructor(config: Json) {
      super(config);
      const kernelSize = pair(config.kernelSize, 'kernelSize');
      const dilationRate = pair(config.dilationRate ?? 1, 'dilationRate');
      if (kernelSize[0] !== 1 || dilationRate[0] !== 1) throw new Error(`layer "${String(config.name)}": a dilated conv2d convolves along the columns only (it is built as a ${COLUMN_CONV}, which tfjs can train): set kernelSize to [1, k] and dilationRate to [1, d], got [${kernelSize}] and [${dilationRate}]`);
      if (kernelSize[1] % 2 !== 1) throw new Error(`${COLUMN_CONV} needs an odd kernel width (its taps sit evenly around the column), got ${kernelSize[1]}`);
      const activation = config.activation ?? 'linear';
      if (activation !== 'relu' && activation !== 'linear') throw new Error(`${COLUMN_CONV} supports the activations relu and linear, got ${String(activation)}`);
      if (config.padding !== undefined && config.padding !== 'same') throw new Error(`${COLUMN_CONV} pads "same", got ${String(config.padding)}`);
      this.filters = Number(config.filters);
      this.kernelWidth = kernelSize[1];
      this.dilation = dilationRate[1];
      this.activation = activation;
      this.useBias = config.useBias !== false;
    }

    override build(inputShape: (number | null)[] | (number | null)[][]): void {
      const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
      const channels = shape[shape.length - 1];
      if (typeof channels !== 'number') throw new Error(`${COLUMN_CONV} needs a known channel count, got input shape [${shape}]`);
      this.kernel = this.addWeight('kernel', [1, this.kernelWidth, channels, this.filters], 'float32', tf.initializers.heNormal({}));
      if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
      this.built = true;
    }

    override computeOutputShape(inputShape: (number | null)[] | (number | null)[][]): (number | null)[] {
      const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
      return [...shape.slice(0, -1), this.filters];
    }

    override call(inputs: Tensor | Tensor[], kwargs: { training?: boolean } = {}): Tensor {
      return tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as Tensor4D;
        // Nothing is differentiated outside training: the backend's own dilated convolution is faster.
        if (!kwargs.training) return this.dilatedConv(x);
        // Space-to-batch, as TensorFlow runs atrous convolution: pad the columns, deal them
        // round-robin into `d` sub-lines (column t goes to sub-line t mod d), convolve each
        // densely (its neighbours are d columns apart in the line), deal the results back.
        const d = this.dilation;
        const reach = ((this.kernelWidth - 1) / 2) * d;
        const width = x.shape[2];
        const extra = (d - ((width + 2 * reach) % d)) % d;
        const padded = x.pad([[0, 0], [0, 0], [reach, reach + extra], [0, 0]]);
        const dealt = tf.spaceToBatchND(padded, [1, d], [[0, 0], [0, 0]]);
        // Bias and activation act per value, so they may come before the results are dealt back.
        const convolved = tf.fused.conv2d({ x: dealt as Tensor4D, filter: this.kernel!.read() as Tensor4D, strides: 1, pad: 'valid', bias: this.bias?.read(), activation: this.activation });
        return tf.batchToSpaceND(convolved, [1, d], [[0, 0], [0, extra]]);
      });
    }

    private dilatedConv(x: Tensor4D): Tensor {
      return tf.fused.conv2d({
        x,
        filter: this.kernel!.read() as Tensor4D,
        strides: 1,
        pad: 'same',
        dilations: [1, this.dilation],
        bias: this.bias?.read(),
        activation: this.activation,
      });
    }

    override getConfig() {
      return {
        ...super.getConfig(),
        filters: this.filters,
        kernelSize: [1, this.kernelWidth],
        dilationRate: [1, this.dilation],
        padding: 'same',
        activation: this.activation,
        useBias: this.useBias,
      };
    }
  };
}

function pair(value: unknown, what: string): [number, number] {
  const v = Array.isArray(value) ? value : [value, value];
  if (v.length !== 2 || !v.every((n) => Number.isInteger(n) && n > 0)) throw new Error(`${COLUMN_CONV}: ${what} must be a positive integer or a pair of them, got ${JSON.stringify(value)}`);
  return v as [number, number];
}

type KerasLayer = { class_name?: unknown; config?: unknown };

/** The Keras Conv2D a ColumnConv is (for writing .h5 files); other layers unchanged. */
export function columnConvAsKeras(layer: KerasLayer): KerasLayer {
  if (layer.class_name !== COLUMN_CONV) return layer;
  return { class_name: 'Conv2D', config: { ...(layer.config as Json), strides: [1, 1], data_format: 'channels_last' } };
}

/**
 * A Keras Conv2D that dilates along the columns only, read back as a
 * ColumnConv so the loaded model can be trained (tfjs' own Conv2D cannot be,
 * dilated); other layers unchanged.
 */
export function kerasAsColumnConv(layer: KerasLayer): KerasLayer {
  if (layer.class_name !== 'Conv2D') return layer;
  const c = layer.config as Json;
  const dilation = c.dilation_rate;
  const kernel = c.kernel_size;
  const strides = c.strides ?? [1, 1];
  const isColumnConv = Array.isArray(dilation) && dilation[0] === 1 && (dilation[1] as number) > 1
    && Array.isArray(kernel) && kernel[0] === 1 && c.padding === 'same'
    && Array.isArray(strides) && strides.every((s) => s === 1)
    && (c.activation === 'relu' || c.activation === 'linear');
  if (!isColumnConv) return layer;
  const kept = ['name', 'trainable', 'dtype', 'filters', 'kernel_size', 'dilation_rate', 'padding', 'activation', 'use_bias'];
  return { class_name: COLUMN_CONV, config: Object.fromEntries(kept.filter((k) => c[k] !== undefined && c[k] !== null).map((k) => [k, c[k]])) };
}
