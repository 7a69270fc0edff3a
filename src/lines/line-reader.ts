/** A line model applied to normalized line images: per-line log-probabilities over blank + charset. */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { readOut, type Tf } from '../ml/tf.js';
import { assembleBatch, inferenceBatches } from './line-batches.js';
import type { LineImage } from './line-image.js';
import { classCount } from './charset.js';
import { loadLineModel, type LineModelMeta } from './line-model-artifact.js';
import { inferenceModel } from '../ml/inference-model.js';

export interface LineLogProbs {
  /** [frames, K] row-major, natural log. */
  logProbs: Float32Array;
  frames: number;
  K: number;
}

/** Layers whose output is 0 wherever their whole input window is 0. */
const KEEP_ZEROS = new Set(['MaxPooling2D', 'Dropout', 'SpatialDropout2D']);

export class LineModelRunner {
  constructor(readonly tf: Tf, readonly model: LayersModel, readonly meta: LineModelMeta) {}

  /** For reading only: batch normalization is folded into the convolutions (see inference-model.ts). */
  static async open(tf: Tf, dir: string): Promise<LineModelRunner> {
    const { model, meta } = await loadLineModel(tf, dir);
    const lean = await inferenceModel(tf, model);
    if (lean !== model) model.dispose();
    return new LineModelRunner(tf, lean, meta);
  }

  get classes(): number {
    return classCount(this.meta.charset);
  }

  /** Log-probabilities for every line, in the order given; batches are formed by width. */
  logProbs(images: readonly LineImage[], options: { maxLines?: number; maxColumns?: number } = {}): LineLogProbs[] {
    const out: LineLogProbs[] = new Array(images.length);
    const K = this.classes;
    const batches = inferenceBatches(images.map((im) => im.width), options.maxLines ?? 32, options.maxColumns ?? 32 * 1024);
    for (const indices of batches) {
      const batch = assembleBatch(indices.map((i) => images[i]!), this.meta.stride);
      const values = readOut(this.tf, () => {
        const y = this.forward(this.tf.tensor4d(batch.x, batch.shape), indices.map((i) => images[i]!.width));
        return this.tf.logSoftmax(y.reshape([batch.shape[0], -1, K]));
      });
      const T = values.length / (indices.length * K);
      indices.forEach((i, b) => {
        const frames = Math.min(batch.frames[b]!, T);
        out[i] = { logProbs: values.slice(b * T * K, (b * T + frames) * K), frames, K };
      });
    }
    return out;
  }

  /**
   * The model layer by layer, with each line's columns past its own width set
   * to 0 after every layer. Without this, a 'same' convolution at a line's end
   * reads the padding's activations (bias, then whatever the layers before made
   * of it), so a line's reading would depend on how wide the other lines of its
   * batch are: the same image read alone and in a folder could differ.
   */
  private forward(x: Tensor, widths: readonly number[]): Tensor {
    const tf = this.tf;
    const W = x.shape[2]!;
    const masks = new Map<number, Tensor>();
    const mask = (columns: number): Tensor => {
      let m = masks.get(columns);
      if (!m) {
        const values = new Float32Array(widths.length * columns);
        widths.forEach((w, b) => values.fill(1, b * columns, b * columns + Math.min(columns, Math.ceil((w * columns) / W))));
        m = tf.tensor4d(values, [widths.length, 1, columns, 1]);
        masks.set(columns, m);
      }
      return m;
    };
    const layers = this.model.layers.filter((l) => l.getClassName() !== 'InputLayer');
    let y = x;
    layers.forEach((layer, i) => {
      y = layer.apply(y) as Tensor;
      // The last layer's padding columns are cut off with the frames; pooling and dropout keep zeros zero.
      if (y.rank === 4 && i < layers.length - 1 && !KEEP_ZEROS.has(layer.getClassName())) y = y.mul(mask(y.shape[2]!));
    });
    return y;
  }

  dispose(): void {
    this.model.dispose();
  }
}
