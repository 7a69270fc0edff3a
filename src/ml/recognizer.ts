/** A trained letter model plus its class names, applied to real image crops preprocessed like training data. */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { frameGlyph, inkImage, type GrayImage } from '../data/framing.js';
import { findModel, loadModelFrom, outputClasses } from './model-source.js';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readLabels } from '../artifacts/labels.js';
import { loadTf, readOut, type Tf } from './tf.js';
import { resolveBackendName, type BackendName } from './backend-name.js';
import { InternalError, UserInputError } from '../errors.js';

export interface Prediction {
  letter: string;
  confidence: number;
  top: { letter: string; probability: number }[];
}

export class Recognizer {
  private constructor(readonly tf: Tf, readonly model: LayersModel, readonly classes: string[]) {}

  /** `backend` defaults to what INKFLOW_BACKEND or the machine offers; stages pass the one their run resolved. */
  static async open(modelPath: string, options: { labelsPath?: string; backend?: BackendName } = {}): Promise<Recognizer> {
    const tf = await loadTf(options.backend ?? resolveBackendName('auto'));
    const model = await loadModelFrom(tf, modelPath);
    // A promoted model (models/<name>/vN) keeps its labels beside the model folder.
    const labelsPath = options.labelsPath ?? (await promotedLabels(modelPath));
    const k = outputClasses(model);
    const classes = labelsPath
      ? await readLabels(labelsPath)
      : k === 26 ? [...'abcdefghijklmnopqrstuvwxyz'] : Array.from({ length: k }, (_, i) => String(i));
    if (classes.length !== k) throw new UserInputError(`${labelsPath}: ${classes.length} labels for a model with ${k} outputs`);
    return new Recognizer(tf, model, classes);
  }

  /** Grayscale glyph (any polarity, any size) → 28x28 input exactly as the training data was framed. */
  static prepare(img: GrayImage, size = 28): Float32Array {
    return Recognizer.prepareInk(inkImage(img, 'auto'), size);
  }

  /**
   * Ink that is already light on dark with the paper at 0 (a crop of a segmented
   * phrase) → 28x28 input. Normalizing such a tight crop again would take its
   * median pixel, often ink, for paper and erase strokes (85.9 % vs 92.5 % letter
   * accuracy on phrase crops).
   */
  static prepareInk(ink: GrayImage, size = 28): Float32Array {
    return Float32Array.from(frameGlyph(ink, size), (v) => v / 255);
  }

  predictPrepared(inputs: Float32Array[], topK = 3): Prediction[] {
    const [first] = inputs;
    if (!first) return [];
    const side = Math.round(Math.sqrt(first.length));
    const batch = new Float32Array(inputs.length * first.length);
    inputs.forEach((x, i) => batch.set(x, i * x.length));
    const probs = readOut(this.tf, () => this.model.predict(this.tf.tensor4d(batch, [inputs.length, side, side, 1])) as Tensor);
    const k = this.classes.length;
    return inputs.map((_, i) => {
      const row = Array.from(probs.subarray(i * k, (i + 1) * k)).map((p, c) => ({ letter: this.classes[c] ?? String(c), probability: p }));
      row.sort((a, b) => b.probability - a.probability);
      const best = row[0];
      if (!best) throw new InternalError('the letter model has no classes to predict');
      return { letter: best.letter, confidence: best.probability, top: row.slice(0, topK) };
    });
  }
}

async function promotedLabels(modelPath: string): Promise<string | undefined> {
  const location = await findModel(modelPath);
  const candidate = join(dirname(location.format === 'tfjs' ? location.dir : location.file), 'labels.json');
  return (await stat(candidate).catch(() => undefined))?.isFile() ? candidate : undefined;
}
