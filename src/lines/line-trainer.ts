/**
 * The CTC training loop for line models: width-bucketed batches, seeded
 * augmentation, Adam with a warm-up, learning-rate reduction and early
 * stopping on validation CER (best weights restored), TensorBoard scalars and
 * per-batch progress.
 */
import type { LayersModel, Tensor, Tensor3D } from '@tensorflow/tfjs';
import type { Tf } from '../ml/tf.js';
import { throwIfCancelled } from '../errors.js';
import { EarlyStopping, earlyStoppingParams, ReduceLrOnPlateau, reduceLrParams } from '../ml/callbacks.js';
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

export interface LineEpochRecord {
  epoch: number;
  loss: number;
  val_loss?: number;
  val_cer?: number;
  learning_rate: number;
  seconds: number;
  lines_per_second: number;
}

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

export async function trainLineModel(tf: Tf, model: LayersModel, meta: LineModelMeta, train: LineDataset, validation: LineDataset | undefined, o: LineTrainOptions, tensorboardDir: string, hooks: LineTrainHooks): Promise<{ history: LineEpochRecord[]; bestEpoch: number }> {
  const encoder = new CharsetEncoder(meta.charset);
  const skip = new Set(tooNarrow(train, encoder, meta.stride));
  if (skip.size) hooks.log(`skipping ${skip.size} training lines too narrow for their text at stride ${meta.stride}`);
  const usable = train.lines.map((_, i) => i).filter((i) => !skip.has(i));
  const labels = train.lines.map((l) => encoder.encode(l.text).labels);
  const optimizer = tf.train.adam(o.learning_rate);
  const setLr = (lr: number) => ((optimizer as unknown as { learningRate: number }).learningRate = lr);
  const writer = await SummaryWriter.create(tensorboardDir);
  const reduceLr = new ReduceLrOnPlateau({ monitor: 'val_cer', factor: o.reduce_lr.factor, patience: o.reduce_lr.patience, minLr: o.reduce_lr.min_lr, minDelta: o.reduce_lr.min_delta, cooldown: o.reduce_lr.cooldown });
  const early = new EarlyStopping({ monitor: 'val_cer', patience: o.early_stopping.patience, minDelta: o.early_stopping.min_delta });
  const random = rng(o.seed);
  const runner = new LineModelRunner(tf, model, meta);
  const history: LineEpochRecord[] = [];
  let bestWeights: Tensor[] | undefined;
  let lr = o.learning_rate;
  let step = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const started = performance.now();
    const batches = widthBuckets(usable.map((i) => train.lines[i]!.width), o.batch_size, random)
      .map((b) => b.map((j) => usable[j]!))
      .slice(0, o.steps_per_epoch ?? Infinity);
    let lossSum = 0;
    let seen = 0;
    for (const [bi, indices] of batches.entries()) {
      throwIfCancelled(hooks.signal);
      step++;
      if (step <= o.warmup_steps) setLr((lr * step) / o.warmup_steps);
      else if (step === o.warmup_steps + 1) setLr(lr);
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
      if (!Number.isFinite(value)) throw new Error(`train-lines: the loss became ${value} at epoch ${epoch} batch ${bi + 1}; lower learning_rate`);
      lossSum += value * indices.length;
      seen += indices.length;
      if (bi % 5 === 0 || bi === batches.length - 1) {
        const rate = seen / ((performance.now() - started) / 1000);
        hooks.progress(`epoch ${epoch}/${o.epochs} batch ${bi + 1}/${batches.length} ctc ${(lossSum / seen).toFixed(3)} ${rate.toFixed(1)} lines/s`);
        await new Promise((r) => setImmediate(r));
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const record: LineEpochRecord = { epoch, loss: lossSum / seen, learning_rate: lr, seconds, lines_per_second: seen / seconds };
    if (validation && validation.lines.length) Object.assign(record, validate(runner, validation, encoder));
    history.push(record);
    const { epoch: _, seconds: _s, lines_per_second: _r, ...curvePoint } = record;
    hooks.epoch?.(epoch, curvePoint as Record<string, number>);
    await writer.scalars(epoch, { loss: record.loss, learning_rate: lr, ...(record.val_cer !== undefined ? { val_cer: record.val_cer, val_loss: record.val_loss! } : {}) });
    hooks.log(`epoch ${epoch}: ctc ${record.loss.toFixed(3)}${record.val_cer !== undefined ? ` val_ctc ${record.val_loss!.toFixed(3)} val_cer ${(100 * record.val_cer).toFixed(2)} %` : ''} lr ${lr.toExponential(2)} (${seconds.toFixed(0)} s, ${record.lines_per_second.toFixed(1)} lines/s)`);
    const metrics = record as unknown as Record<string, number>;
    if (o.early_stopping.enabled && record.val_cer !== undefined) {
      const { improved, stop } = early.step(epoch, metrics);
      if (improved && o.early_stopping.restore_best_weights) {
        bestWeights?.forEach((t) => t.dispose());
        bestWeights = model.getWeights().map((t) => t.clone());
      }
      if (stop) {
        hooks.log(`early stopping after epoch ${epoch}: val_cer has not improved since epoch ${early.bestEpoch}`);
        break;
      }
    }
    if (o.reduce_lr.enabled && record.val_cer !== undefined) {
      const next = reduceLr.step(metrics, lr);
      if (next !== lr) {
        hooks.log(`reducing learning rate ${lr.toExponential(2)} -> ${next.toExponential(2)}`);
        lr = next;
        setLr(lr);
      }
    }
  }
  if (bestWeights && early.bestEpoch !== history[history.length - 1]!.epoch) {
    hooks.log(`restoring weights from epoch ${early.bestEpoch}`);
    model.setWeights(bestWeights);
  }
  bestWeights?.forEach((t) => t.dispose());
  optimizer.dispose();
  return { history, bestEpoch: early.bestEpoch };
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
