/** A line model applied to normalized line images: per-line log-probabilities over blank + charset. */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { readOut, type Tf } from '../ml/tf.js';
import { assembleBatch, inferenceBatches, readingWidth } from './line-batches.js';
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

  /** Log-probabilities for every line, in the order given; each batch holds lines of one reading width. */
  logProbs(images: readonly LineImage[], options: { maxLines?: number; maxColumns?: number } = {}): LineLogProbs[] {
    const out: LineLogProbs[] = new Array(images.length);
    const K = this.classes;
    const stride = this.meta.stride;
    const widths = images.map((im) => readingWidth(im.width, stride));
    for (const indices of inferenceBatches(widths, options.maxLines ?? 32, options.maxColumns ?? 32 * 1024)) {
      const batch = assembleBatch(indices.map((i) => images[i]!), stride, widths[indices[0]!]);
      const values = readOut(this.tf, () => {
        const y = this.model.apply(this.tf.tensor4d(batch.x, batch.shape), { training: false }) as Tensor;
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

  dispose(): void {
    this.model.dispose();
  }
}
