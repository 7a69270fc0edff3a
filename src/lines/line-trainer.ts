/**
 * CTC training for line models on the shared loop (src/ml/fit.ts):
 * width-bucketed batches, seeded augmentation, Adam with a warm-up,
 * learning-rate reduction and early stopping on validation CER (best weights
 * restored), TensorBoard scalars and per-batch progress.
 */
import type { LayersModel, Tensor, Tensor3D } from '@tensorflow/tfjs';
import type { Tf } from '../ml/tf.js';
import { earlyStoppingParams, reduceLrParams } from '../ml/callbacks.js';
import { fit, type FitResult } from '../ml/fit.js';
import { SummaryWriter } from '../ml/tensorboard.js';
import { rng } from '../util/random.js';
import { ctcLoss, minimumFrames } from './ctc-loss.js';
import { ctcLogLikelihood } from './ctc-align.js';
import { CharsetEncoder } from './charset.js';
import { lineImage, type LineDataset } from './line-dataset.js';
import { assembleBatch, widthBuckets } from './line-batches.js';
import { augmentLine, DEFAULT_LINE_AUGMENT } from './augment-lines.js';
import { StrictObject, Type, type Static } from '../engine/schema.js';
import { LineModelRunner } from './line-reader.js';
import type { LineModelMeta } from './line-model-artifact.js';
import { greedyDecode } from './ctc-decode.js';
import { cer, errorRate, type ErrorCount } from './text-metrics.js';

const fraction = (max: number, dflt: number) => Type.Number({ minimum: 0, maximum: max, default: dflt });

/** train-lines' params: the one description of the trainer's options. */
export const lineTrainParams = StrictObject({
  epochs: Type.Integer({ minimum: 1, default: 20 }),
  batch_size: Type.Integer({ minimum: 1, default: 16 }),
  learning_rate: Type.Number({ exclusiveMinimum: 0, default: 0.001 }),
  warmup_steps: Type.Integer({ minimum: 0, default: 100, description: 'raise the learning rate linearly over this many first batches' }),
  steps_per_epoch: Type.Optional(Type.Integer({ minimum: 1, description: 'cap on batches per epoch (quick runs)' })),
  seed: Type.Integer({ default: 0 }),
  augment: StrictObject({
    enabled: Type.Boolean({ default: true }),
    slant: fraction(1, DEFAULT_LINE_AUGMENT.slant),
    baseline: fraction(0.5, DEFAULT_LINE_AUGMENT.baseline),
    elastic: fraction(0.5, DEFAULT_LINE_AUGMENT.elastic),
    stretch: fraction(0.5, DEFAULT_LINE_AUGMENT.stretch),
    stroke: fraction(1, DEFAULT_LINE_AUGMENT.stroke),
  }, { default: {} }),
  reduce_lr: reduceLrParams({ patience: 2, min_delta: 0.001 }),
  early_stopping: earlyStoppingParams({ patience: 4, min_delta: 0.001 }),
});

export type LineTrainOptions = Static<typeof lineTrainParams>;

export interface LineTrainHooks {
  progress(message: string): void;
  log(message: string): void;
  /** Each finished epoch's metrics, for live curves and early termination. */
  epoch?(epoch: number, metrics: Record<string, number>): void;
  signal: AbortSignal;
}

/** Lines whose transcription needs more output frames than the image gives: CTC cannot learn them. */
export function tooNarrow(ds: LineDataset, encoder: CharsetEncoder, stride: number): number[] {
  return ds.lines.flatMap((l, i) => (minimumFrames(encoder.encode(l.text).labels) > Math.ceil(l.width / stride) ? [i] : []));
}

/** Trains `model` in place with CTC through the shared loop (src/ml/fit.ts); what is line-specific is the batch. */
export async function trainLineModel(tf: Tf, model: LayersModel, meta: LineModelMeta, train: LineDataset, validation: LineDataset | undefined, o: LineTrainOptions, tensorboardDir: string, hooks: LineTrainHooks): Promise<FitResult> {
  const encoder = new CharsetEncoder(meta.charset);
  const skip = new Set(tooNarrow(train, encoder, meta.stride));
  if (skip.size) hooks.log(`skipping ${skip.size} training lines too narrow for their text at stride ${meta.stride}`);
  const usable = train.lines.map((_, i) => i).filter((i) => !skip.has(i));
  const labels = train.lines.map((l) => encoder.encode(l.text).labels);
  const optimizer = tf.train.adam(o.learning_rate);
  const random = rng(o.seed);
  const runner = new LineModelRunner(tf, model, meta);
  const validating = validation !== undefined && validation.lines.length > 0;
  let batches: number[][] = [];
  try {
    return await fit({
      model,
      optimizer,
      epochs: o.epochs,
      learningRate: o.learning_rate,
      warmupSteps: o.warmup_steps,
      reduceLr: o.reduce_lr.enabled && validating ? { monitor: 'val_cer', factor: o.reduce_lr.factor, patience: o.reduce_lr.patience, minLr: o.reduce_lr.min_lr, minDelta: o.reduce_lr.min_delta, cooldown: o.reduce_lr.cooldown } : undefined,
      earlyStopping: o.early_stopping.enabled && validating ? { monitor: 'val_cer', patience: o.early_stopping.patience, minDelta: o.early_stopping.min_delta, restoreBestWeights: o.early_stopping.restore_best_weights } : undefined,
      beginEpoch: () => {
        batches = widthBuckets(usable.map((i) => train.lines[i]!.width), o.batch_size, random)
          .map((b) => b.map((j) => usable[j]!))
          .slice(0, o.steps_per_epoch ?? Infinity);
      },
      batchesPerEpoch: () => batches.length,
      trainBatch: async (b) => {
        const indices = batches[b]!;
        const images = indices.map((i) => (o.augment.enabled ? augmentLine(lineImage(train, i), o.augment, random) : lineImage(train, i)));
        const batch = assembleBatch(images, meta.stride);
        const batchLabels = indices.map((i) => labels[i]!);
        const x = tf.tensor4d(batch.x, batch.shape);
        const loss = optimizer.minimize(() => {
          const y = model.apply(x, { training: true }) as Tensor;
          const logits = y.reshape([indices.length, -1, y.shape[3]!]) as Tensor3D;
          return ctcLoss(tf, logits, { labels: batchLabels, frames: batch.frames }).loss;
        }, true)!;
        const value = (await loss.data())[0]!;
        tf.dispose([x, loss]);
        return { size: indices.length, loss: value };
      },
      validate: validating ? async () => validate(runner, validation, encoder) : undefined,
      tensorboard: await SummaryWriter.create(tensorboardDir),
      signal: hooks.signal,
      progress: hooks.progress,
      log: hooks.log,
      epoch: hooks.epoch,
      unit: 'lines',
    });
  } finally {
    optimizer.dispose();
  }
}

/** Validation CTC loss and greedy CER (every character counted). */
function validate(runner: LineModelRunner, ds: LineDataset, encoder: CharsetEncoder): { val_loss: number; val_cer: number } {
  const images = ds.lines.map((_, i) => lineImage(ds, i));
  const outputs = runner.logProbs(images);
  const counts: ErrorCount[] = [];
  let lossSum = 0;
  let counted = 0;
  outputs.forEach((out, i) => {
    const text = ds.lines[i]!.text;
    counts.push(cer(text, greedyDecode(out.logProbs, out.frames, out.K, encoder.charset.characters).text));
    const { labels, unknown } = encoder.encode(text);
    if (unknown.length) return;
    // The validation loss needs only the forward probability, not the loss's gradient.
    const logP = ctcLogLikelihood(out.logProbs, out.frames, out.K, labels);
    if (Number.isFinite(logP)) {
      lossSum -= logP;
      counted++;
    }
  });
  return { val_loss: counted ? lossSum / counted : NaN, val_cer: errorRate(counts) };
}
