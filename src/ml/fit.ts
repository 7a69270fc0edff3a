/**
 * The training loop every trainer shares: epochs of caller-supplied batch steps,
 * validation, a learning-rate schedule (step decay and reduce-on-plateau), early
 * stopping with best-weight restore, TensorBoard scalars, progress and cancellation.
 * What a batch is (letters with one-hot labels, text lines with CTC) is the
 * caller's `trainBatch`; this file knows only losses and metrics.
 */
import type { LayersModel, Optimizer, Tensor } from '@tensorflow/tfjs';
import { EarlyStopping, ReduceLrOnPlateau, type Monitor } from './callbacks.js';
import type { SummaryWriter } from './tensorboard.js';
import type { EpochRecord } from '../artifacts/training-history.js';
import { throwIfCancelled, UserInputError } from '../errors.js';

/** What one training batch reports: its size, its mean loss, and mean metrics such as accuracy. */
export interface BatchResult {
  size: number;
  loss: number;
  metrics?: Record<string, number>;
}

export interface ReduceLrSettings {
  monitor: Monitor;
  factor: number;
  patience: number;
  minLr: number;
  minDelta: number;
  cooldown: number;
}

export interface EarlyStoppingSettings {
  monitor: Monitor;
  patience: number;
  minDelta: number;
  restoreBestWeights: boolean;
}

export interface FitOptions {
  model: LayersModel;
  /** The optimizer `trainBatch` steps; its learning rate follows the schedule. */
  optimizer: Optimizer;
  epochs: number;
  /** Batches in an epoch; a function when it varies (asked after `beginEpoch`). */
  batchesPerEpoch: number | ((epoch: number) => number);
  learningRate: number;
  /** Raise the learning rate linearly from 0 over this many first batches. */
  warmupSteps?: number;
  /** Multiply the learning rate by this after every epoch (1 = no step decay). */
  lrDecay?: number;
  reduceLr?: ReduceLrSettings;
  earlyStopping?: EarlyStoppingSettings;
  /** Called before an epoch's first batch, e.g. to reshuffle. */
  beginEpoch?(epoch: number): void;
  /** Trains on batch `batch` (0-based) of `epoch` (1-based). */
  trainBatch(batch: number, epoch: number): Promise<BatchResult>;
  /** Metrics on held-out data after each epoch, named `val_*` (e.g. val_loss, val_accuracy). */
  validate?(): Promise<Record<string, number>>;
  tensorboard?: SummaryWriter;
  signal: AbortSignal;
  /** Short live status, e.g. "epoch 3/10 batch 120/400 loss 0.41". */
  progress(message: string): void;
  /** A line for the log, one per epoch and per schedule change. */
  log(message: string): void;
  /** Each finished epoch's metrics, for live curves and early termination. */
  epoch?(epoch: number, metrics: Record<string, number>): void;
  /** What `size` counts, for progress and throughput ("img" for images, "lines"). */
  unit?: string;
}

export interface FitResult {
  history: EpochRecord[];
  /** Epoch with the best monitored value (-1 without early stopping or validation). */
  bestEpoch: number;
}

export async function fit(options: FitOptions): Promise<FitResult> {
  const { model, epochs } = options;
  const unit = options.unit ?? 'img';
  const reduceLr = options.reduceLr && new ReduceLrOnPlateau(options.reduceLr);
  const early = options.earlyStopping && new EarlyStopping(options.earlyStopping);
  const history: EpochRecord[] = [];
  let bestWeights: Tensor[] | undefined;
  let lr = options.learningRate;
  const warmup = options.warmupSteps ?? 0;
  let step = 0;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = performance.now();
    options.beginEpoch?.(epoch);
    const batchesPerEpoch = typeof options.batchesPerEpoch === 'function' ? options.batchesPerEpoch(epoch) : options.batchesPerEpoch;
    let lossSum = 0;
    let seen = 0;
    const metricSums: Record<string, number> = {};
    for (let b = 0; b < batchesPerEpoch; b++) {
      throwIfCancelled(options.signal);
      step++;
      if (step <= warmup) setLearningRate(options.optimizer, (lr * step) / warmup);
      else if (step === warmup + 1 && warmup > 0) setLearningRate(options.optimizer, lr);
      const result = await options.trainBatch(b, epoch);
      if (!Number.isFinite(result.loss)) throw new UserInputError(`loss became ${result.loss} at epoch ${epoch} batch ${b + 1}; lower learning_rate`);
      lossSum += result.loss * result.size;
      for (const [name, value] of Object.entries(result.metrics ?? {})) metricSums[name] = (metricSums[name] ?? 0) + value * result.size;
      seen += result.size;
      if (b % 10 === 0 || b === batchesPerEpoch - 1) {
        const rate = seen / ((performance.now() - started) / 1000);
        const shown = Object.entries(metricSums).map(([name, sum]) => ` ${shortName(name)} ${(sum / seen).toFixed(4)}`).join('');
        options.progress(`epoch ${epoch}/${epochs} batch ${b + 1}/${batchesPerEpoch} loss ${(lossSum / seen).toFixed(4)}${shown} ${rate.toFixed(0)} ${unit}/s`);
      }
      // Let signals and progress output through between batches.
      if (b % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    const seconds = (performance.now() - started) / 1000;
    const trainMetrics = Object.fromEntries(Object.entries(metricSums).map(([name, sum]) => [name, sum / seen]));
    const record: EpochRecord = {
      epoch,
      loss: lossSum / seen,
      ...trainMetrics,
      learning_rate: lr,
      seconds,
      images_per_second: seen / seconds,
      ...(options.validate ? await options.validate() : {}),
    };
    history.push(record);
    const { epoch: _, seconds: _s, images_per_second: _r, ...metrics } = record;
    const curvePoint = Object.fromEntries(Object.entries(metrics).filter((e): e is [string, number] => e[1] !== undefined));
    options.epoch?.(epoch, curvePoint);
    await options.tensorboard?.scalars(epoch, scalarsOf(record));
    options.log(epochLine(record, unit));

    if (early && options.earlyStopping) {
      const { improved, stop } = early.step(epoch, record);
      if (improved && options.earlyStopping.restoreBestWeights) {
        bestWeights?.forEach((t) => t.dispose());
        bestWeights = model.getWeights().map((t) => t.clone());
      }
      if (stop) {
        options.log(`early stopping after epoch ${epoch}: ${options.earlyStopping.monitor} has not improved since epoch ${early.bestEpoch}`);
        break;
      }
    }
    let next = lr * (options.lrDecay ?? 1);
    if (reduceLr) next = Math.min(next, reduceLr.step(record, lr));
    if (next !== lr) {
      options.log(`reducing learning rate ${lr.toExponential(2)} -> ${next.toExponential(2)}`);
      lr = next;
      setLearningRate(options.optimizer, lr);
    }
  }
  const bestEpoch = early?.bestEpoch ?? -1;
  if (bestWeights && bestEpoch !== history[history.length - 1]?.epoch) {
    options.log(`restoring weights from epoch ${bestEpoch}`);
    model.setWeights(bestWeights);
  }
  bestWeights?.forEach((t) => t.dispose());
  return { history, bestEpoch };
}

/**
 * tfjs optimizers read `learningRate` on every step but expose no setter; the
 * field is protected in the typings, so it is assigned, not cast.
 */
export function setLearningRate(optimizer: Optimizer, lr: number): void {
  Object.assign(optimizer, { learningRate: lr });
}

/** Run-record metrics summarizing a history: the last epoch's training metrics, the best validation ones, mean throughput. */
export function historyMetrics(history: readonly EpochRecord[]): Record<string, number> {
  const last = history[history.length - 1];
  if (!last) return { epochs: 0 };
  const metrics: Record<string, number> = { epochs: history.length };
  for (const [name, value] of Object.entries(last)) {
    if (value !== undefined && !NOT_METRICS.has(name) && !name.startsWith('val_')) metrics[name] = value;
  }
  if (last.val_accuracy !== undefined) metrics.val_accuracy = Math.max(...history.map((e) => e.val_accuracy ?? -Infinity));
  if (last.val_loss !== undefined) metrics.val_loss = Math.min(...history.map((e) => e.val_loss ?? Infinity));
  metrics.images_per_second = history.reduce((s, e) => s + e.images_per_second, 0) / history.length;
  return metrics;
}

const NOT_METRICS = new Set(['epoch', 'learning_rate', 'seconds', 'images_per_second']);

function scalarsOf(record: EpochRecord): Record<string, number> {
  const { epoch: _epoch, seconds: _seconds, images_per_second: _rate, learning_rate, ...metrics } = record;
  const defined = Object.fromEntries(Object.entries(metrics).filter((e): e is [string, number] => e[1] !== undefined));
  return { ...defined, learning_rate };
}

function epochLine(record: EpochRecord, unit: string): string {
  const { epoch, seconds, images_per_second, learning_rate, ...metrics } = record;
  const shown = Object.entries(metrics)
    .filter((e): e is [string, number] => e[1] !== undefined)
    .map(([name, value]) => `${shortName(name)} ${value.toFixed(4)}`)
    .join(' ');
  return `epoch ${epoch}: ${shown} lr ${learning_rate.toExponential(2)} (${seconds.toFixed(1)}s, ${images_per_second.toFixed(0)} ${unit}/s)`;
}

/** "accuracy" → "acc", as the logs always said. */
function shortName(metric: string): string {
  return metric.replace(/accuracy$/, 'acc');
}
